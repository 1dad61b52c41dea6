import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { randomUUID } from "node:crypto";

/** The shared sample data (../shared beside the checkout, as in CI). Never copied into the repo. */
export const SAMPLES_DIR = resolve(import.meta.dirname, "../../../../shared/data/cloudtrail-samples");

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

/**
 * Real records moved into the given account, region and recent time window (Event history keeps 90
 * days), with fresh eventIDs, so that a test owns exactly the events it ingests.
 */
export function recentRecords(
  count: number,
  options: { accountId: string; region?: string; nowMs?: number; spreadMs?: number },
): RawRecord[] {
  const base = invictusRecords().filter((r) => r["managementEvent"] !== false && r["eventCategory"] !== "Data");
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
