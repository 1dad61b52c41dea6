import { createHash } from "node:crypto";
import { digestTime } from "../../model/digest-format.js";
import {
  DigestError,
  DigestNotFoundError,
  digestKeyStamp,
  listDigestKeys,
  loadAndValidateDigest,
  stampMs,
  type BucketReader,
  type ChainTarget,
  type DigestData,
  type PublicKeyMap,
} from "./digest-chain.js";
import { gunzipFirstMember } from "./gzip-member.js";

export interface ValidateLogsRun {
  readonly trailArn: string;
  readonly target: ChainTarget;
  readonly bucket: string;
  readonly prefix?: string | undefined;
  readonly startMs: number;
  readonly endMs: number;
  readonly verbose: boolean;
  readonly reader: BucketReader;
  /** Keys whose validity overlaps [startMs, endMs] (ListPublicKeys), by fingerprint. */
  publicKeys(startMs: number, endMs: number): Promise<PublicKeyMap>;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Called once per digest or log file checked (progress bar). */
  readonly onChecked?: (kind: "digest" | "log") => void;
}

export interface ValidateLogsCounts {
  validDigests: number;
  invalidDigests: number;
  validBackfillDigests: number;
  invalidBackfillDigests: number;
  validLogs: number;
  invalidLogs: number;
}

/** "No public keys found…": the AWS CLI aborts the whole run (exit 255); so do we. */
class NoPublicKeysError extends Error {
  override readonly name = "NoPublicKeysError";
}

const HOUR_MS = 3_600_000;

type LogFileEntry = { s3Bucket: string; s3Object: string; hashValue: string };

/**
 * `validate-logs`, step for step as the AWS CLI does it (spec §3.5; aws-cli
 * `awscli/customizations/cloudtrail/validation.py`): same traversal, same lines, same summary, so
 * scripts written against `aws cloudtrail validate-logs` read our output unchanged. Returns the exit
 * code: 1 when any digest or log file is invalid.
 */
export async function validateLogs(run: ValidateLogsRun): Promise<{ exitCode: number; counts: ValidateLogsCounts }> {
  const validation = new Validation(run);
  run.stdout.write(
    `Validating log files for trail ${run.trailArn} between ${digestTime(run.startMs)} and ${digestTime(run.endMs)}\n\n`,
  );
  for (const backfill of [false, true]) await validation.walkChains(backfill);
  const { counts } = validation;
  writeSummary(run, counts, validation.foundStartMs, validation.foundEndMs, validation.lastWasDoubleSpace);
  const invalid = counts.invalidDigests + counts.invalidBackfillDigests + counts.invalidLogs;
  return { exitCode: invalid > 0 ? 1 : 0, counts };
}

/** One run's progress: the counts, the time range the valid digests cover, the output's spacing. */
class Validation {
  readonly counts: ValidateLogsCounts = {
    validDigests: 0,
    invalidDigests: 0,
    validBackfillDigests: 0,
    invalidBackfillDigests: 0,
    validLogs: 0,
    invalidLogs: 0,
  };
  lastWasDoubleSpace = true;
  foundStartMs: number | undefined;
  foundEndMs: number | undefined;
  /** Digest listings by bucket and end time: a chain that crosses buckets lists each once. */
  private readonly listings = new Map<string, { standard: string[]; backfill: string[] }>();

  constructor(private readonly run: ValidateLogsRun) {}

  /**
   * Follows the standard or the backfill digest chains from the newest digest back to the start
   * time, checking each digest and the log files it lists.
   */
  async walkChains(backfill: boolean): Promise<void> {
    const run = this.run;
    let bucket = run.bucket;
    let digests = await this.digestsIn(bucket, run.endMs, backfill);
    const publicKeys: PublicKeyMap = backfill
      ? new Map()
      : await requirePublicKeys(run, run.startMs, run.endMs + 2 * HOUR_MS);
    const loadBackfillKeys = async (generatedAt: string): Promise<void> => {
      const atMs = Date.parse(generatedAt);
      for (const [fp, value] of await requirePublicKeys(run, atMs - HOUR_MS, atMs + HOUR_MS)) publicKeys.set(fp, value);
    };
    let [key, endMs] = lastDigest(digests);
    let lastStartMs = endMs ?? 0;
    while (key !== undefined && run.startMs <= lastStartMs) {
      run.onChecked?.("digest");
      try {
        const digest = await loadAndValidateDigest(
          run.reader,
          bucket,
          key,
          publicKeys,
          run.target.homeRegion,
          backfill ? loadBackfillKeys : undefined,
        );
        endMs = Date.parse(digest.digestEndTime);
        lastStartMs = Date.parse(digest.digestStartTime);
        await this.acceptDigest(digest, backfill);
        const previousBucket = digest.previousDigestS3Bucket ?? null;
        const previousKey = digest.previousDigestS3Object ?? null;
        if (previousBucket === null || previousKey === null) {
          [key, endMs] = lastDigest(digests, key);
          // A chain start with older digests listed: logging was off in between (not an error).
          if (key !== undefined) this.reportGap(backfill, endMs!, lastStartMs);
        } else {
          key = previousKey;
          if (previousBucket !== bucket) {
            bucket = previousBucket;
            digests = await this.digestsIn(bucket, endMs, backfill);
          }
        }
      } catch (error) {
        if (error instanceof NoPublicKeysError) throw error;
        this.rejectDigest(error, `s3://${bucket}/${key}`, backfill);
        [key, endMs] = lastDigest(digests, key);
      }
    }
  }

  private async digestsIn(bucket: string, endMs: number, backfill: boolean): Promise<string[]> {
    const cacheKey = `${bucket}\n${endMs}`;
    let listing = this.listings.get(cacheKey);
    if (listing === undefined) {
      listing = await listDigestKeys(
        this.run.reader,
        bucket,
        this.run.prefix,
        this.run.target,
        this.run.startMs,
        endMs,
      );
      this.listings.set(cacheKey, listing);
    }
    return backfill ? listing.backfill : listing.standard;
  }

  private async acceptDigest(digest: DigestData, backfill: boolean): Promise<void> {
    const digestStart = Math.max(Date.parse(digest.digestStartTime), this.run.startMs);
    if (this.foundStartMs === undefined || digestStart < this.foundStartMs) this.foundStartMs = digestStart;
    const digestEnd = Math.min(Date.parse(digest.digestEndTime), this.run.endMs);
    if (this.foundEndMs === undefined || digestEnd > this.foundEndMs) this.foundEndMs = digestEnd;
    if (backfill) this.counts.validBackfillDigests++;
    else this.counts.validDigests++;
    this.status(
      `${backfill ? "(backfill) " : ""}Digest file\ts3://${digest.digestS3Bucket}/${digest.digestS3Object}\tvalid`,
    );
    for (const log of digest.logFiles ?? []) await this.checkLog(log);
  }

  private rejectDigest(error: unknown, location: string, backfill: boolean): void {
    const where = `Digest file\t${location}\tINVALID: `;
    const message =
      error instanceof DigestNotFoundError
        ? `${where}not found`
        : error instanceof DigestError
          ? error.message
          : `${where}${error instanceof Error ? error.message : String(error)}`;
    if (backfill) this.counts.invalidBackfillDigests++;
    else this.counts.invalidDigests++;
    this.status(`${backfill ? "(backfill) " : ""}${message}`, true);
  }

  private reportGap(backfill: boolean, fromMs: number, toMs: number): void {
    const gap = `between ${digestTime(fromMs)} and ${digestTime(toMs)}`;
    this.status(`${backfill ? "(backfill) " : ""}No log files were delivered by CloudTrail ${gap}`, true);
  }

  private async checkLog(log: LogFileEntry): Promise<void> {
    const where = `Log file\ts3://${log.s3Bucket}/${log.s3Object}\t`;
    this.run.onChecked?.("log");
    const problem = await logFileProblem(this.run.reader, log);
    if (problem === undefined) {
      this.counts.validLogs++;
      this.status(`${where}valid`);
    } else {
      this.counts.invalidLogs++;
      this.status(`${where}INVALID: ${problem}`, true);
    }
  }

  /** The AWS CLI's spacing: an error stands between blank lines, verbose lines follow one another. */
  private status(message: string, isError = false): void {
    if (isError) {
      this.run.stderr.write(this.lastWasDoubleSpace ? `${message}\n\n` : `\n${message}\n\n`);
      this.lastWasDoubleSpace = true;
    } else if (this.run.verbose) {
      this.lastWasDoubleSpace = false;
      this.run.stdout.write(`${message}\n`);
    }
  }
}

/**
 * aws-cli `_get_last_digest`: pops the newest listed key, or the newest one strictly older than
 * `beforeKey`. Mutates `digests`, as the CLI does, so each key is visited once.
 */
function lastDigest(digests: string[], beforeKey?: string): [string | undefined, number | undefined] {
  if (beforeKey === undefined) {
    const key = digests.pop();
    return key === undefined ? [undefined, undefined] : [key, stampMs(digestKeyStamp(key))];
  }
  const beforeMs = stampMs(digestKeyStamp(beforeKey));
  while (digests.length > 0) {
    const key = digests.pop()!;
    const keyMs = stampMs(digestKeyStamp(key));
    if (keyMs < beforeMs) return [key, keyMs];
  }
  return [undefined, undefined];
}

function writeSummary(
  run: ValidateLogsRun,
  counts: ValidateLogsCounts,
  foundStartMs: number | undefined,
  foundEndMs: number | undefined,
  lastWasDoubleSpace: boolean,
): void {
  const out = run.stdout;
  if (!lastWasDoubleSpace) out.write("\n");
  out.write(`Results requested for ${digestTime(run.startMs)} to ${digestTime(run.endMs)}\n`);
  const valid = counts.validDigests + counts.validBackfillDigests;
  const invalid = counts.invalidDigests + counts.invalidBackfillDigests;
  if (valid === 0 && invalid === 0) {
    out.write("No digests found\n");
    return;
  }
  if (foundStartMs === undefined || foundEndMs === undefined) out.write("No valid digests found in range\n");
  else out.write(`Results found for ${digestTime(foundStartMs)} to ${digestTime(foundEndMs)}:\n`);
  const ratio = (ok: number, bad: number, name: string): void => {
    const total = ok + bad;
    if (total === 0) return;
    out.write(`\n${ok}/${total} ${name} files valid`);
    if (bad > 0) out.write(`, ${bad}/${total} ${name} files INVALID`);
  };
  ratio(counts.validDigests, counts.invalidDigests, "digest");
  ratio(counts.validBackfillDigests, counts.invalidBackfillDigests, "backfill digest");
  ratio(counts.validLogs, counts.invalidLogs, "log");
  out.write("\n");
}

/** aws-cli `_download_log`: undefined when the file is there, one gzip member, and hashes to `hashValue`. */
async function logFileProblem(reader: BucketReader, log: LogFileEntry): Promise<string | undefined> {
  try {
    const object = await reader.getObject(log.s3Bucket, log.s3Object);
    if (object === undefined) return "not found";
    const unzipped = gunzipFirstMember(object.body);
    if (!unzipped.ok) return "invalid format";
    if (unzipped.trailing) return "unexpected data after end of compressed stream";
    const hash = createHash("sha256").update(unzipped.data).digest("hex");
    return hash === log.hashValue ? undefined : "hash value doesn't match";
  } catch {
    return "invalid format";
  }
}

async function requirePublicKeys(run: ValidateLogsRun, startMs: number, endMs: number): Promise<PublicKeyMap> {
  const keys = await run.publicKeys(startMs, endMs);
  if (keys.size === 0) {
    throw new NoPublicKeysError(`No public keys found between ${digestTime(startMs)} and ${digestTime(endMs)}`);
  }
  return keys;
}
