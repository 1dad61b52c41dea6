import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { randomUUID } from "node:crypto";
import { syntheticRecords } from "./synthetic-records.js";

/**
 * The shared sample data: `$CAIRN_SAMPLES_DIR`, else ../shared beside the checkout (as in CI). Never
 * copied into the repo; a fresh clone without it skips the tests that need the real archives.
 */
export const SAMPLES_DIR =
  process.env["CAIRN_SAMPLES_DIR"] ?? resolve(import.meta.dirname, "../../../../shared/data/cloudtrail-samples");

let warned = false;

/** `false` when the shared samples are present, else the loud reason a test gives for skipping. */
export function samplesMissingReason(): string | false {
  if (existsSync(join(SAMPLES_DIR, "invictus-sigma-aws"))) return false;
  const reason = `SKIPPED: shared CloudTrail samples not found at ${SAMPLES_DIR} (set CAIRN_SAMPLES_DIR or put ../shared beside the checkout)`;
  if (!warned) {
    warned = true;
    console.warn(`\n*** ${reason} ***\n`);
  }
  return reason;
}

export type RawRecord = Record<string, unknown>;

export function readRecordsFile(path: string): RawRecord[] {
  const bytes = readFileSync(path);
  const text = path.endsWith(".gz") ? gunzipSync(bytes).toString("utf8") : bytes.toString("utf8");
  return (JSON.parse(text) as { Records: RawRecord[] }).Records;
}

/** The 2,900 real, unmodified records of one account (invictus-sigma-aws). */
export function invictusRecords(): RawRecord[] {
  const dir = join(SAMPLES_DIR, "invictus-sigma-aws");
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json.gz"))
    .sort()
    .flatMap((name) => readRecordsFile(join(dir, name)));
}

let managementBase: RawRecord[] | undefined;

/** Real management records when the samples are present; records built in code otherwise. */
function managementRecords(): RawRecord[] {
  managementBase ??=
    samplesMissingReason() === false
      ? invictusRecords().filter((r) => r["managementEvent"] !== false && r["eventCategory"] !== "Data")
      : syntheticRecords();
  return managementBase;
}

/**
 * Real records moved into the given account, region and recent time window (Event history keeps 90
 * days), with fresh eventIDs, so that a test owns exactly the events it ingests.
 */
export function recentRecords(
  count: number,
  options: { accountId: string; region?: string; nowMs?: number; spreadMs?: number },
): RawRecord[] {
  const base = managementRecords();
  const nowMs = options.nowMs ?? Date.now();
  const spreadMs = options.spreadMs ?? 3_600_000;
  const out: RawRecord[] = [];
  for (let i = 0; i < count; i++) {
    const source = base[i % base.length]!;
    const identity = { ...(source["userIdentity"] as RawRecord | undefined), accountId: options.accountId };
    out.push({
      ...source,
      userIdentity: identity,
      recipientAccountId: options.accountId,
      awsRegion: options.region ?? "us-east-1",
      eventID: randomUUID(),
      eventTime: new Date(nowMs - Math.floor((i * spreadMs) / Math.max(1, count)) - 1000)
        .toISOString()
        .replace(/\.\d{3}Z$/, "Z"),
    });
  }
  return out;
}

/** The example records of the AWS pages Cairn was specified from (../shared/data/seed-examples). */
const SEED_EXAMPLES_DIR = resolve(SAMPLES_DIR, "../seed-examples");

let seedsWarned = false;

/** `false` when the seed examples are present, else the loud reason a test gives for skipping. */
export function seedExamplesMissingReason(): string | false {
  if (existsSync(join(SEED_EXAMPLES_DIR, "README.md"))) return false;
  const reason = `SKIPPED: seed examples not found at ${SEED_EXAMPLES_DIR} (set CAIRN_SAMPLES_DIR or put ../shared beside the checkout)`;
  if (!seedsWarned) {
    seedsWarned = true;
    console.warn(`\n*** ${reason} ***\n`);
  }
  return reason;
}

/** One seed example, parsed, by file name (`aurora-CreateDBInstance.json`). */
export function seedExample(file: string): RawRecord {
  return JSON.parse(readFileSync(join(SEED_EXAMPLES_DIR, file), "utf8")) as RawRecord;
}

/** Every seed example's file name, sorted. */
export function seedExampleFiles(): string[] {
  return readdirSync(SEED_EXAMPLES_DIR)
    .filter((name) => name.endsWith(".json"))
    .sort();
}
