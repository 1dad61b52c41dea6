import { createHash } from "node:crypto";
import { gzip } from "node:zlib";
import { promisify } from "node:util";

const gzipAsync = promisify(gzip);

/** One trail log file, ready to store: the bytes the digest hashes and the bytes S3 holds. */
export interface LogFileContent {
  /** `{"Records":[…]}`, UTF-8: what `hashValue` in the digest covers (spec §3.2). */
  readonly json: Buffer;
  /** A single gzip member: the AWS CLI rejects data after the first member (spec §2.2). */
  readonly gzip: Buffer;
  /** Lowercase hex SHA-256 of `json`. */
  readonly sha256: string;
  readonly recordCount: number;
  /** eventTime strings as the records carry them (`YYYY-MM-DDTHH:MM:SSZ`); undefined when no record has one. */
  readonly oldestEventTime: string | undefined;
  readonly newestEventTime: string | undefined;
}

/**
 * Object properties of log files and digests. Spec §2.2 marks them [unconfirmed] but reported for real
 * CloudTrail objects; botocore (the AWS CLI validator) ignores Content-Encoding, so the validator
 * still sees the compressed bytes it expects.
 */
export const TRAIL_OBJECT_CONTENT_TYPE = "application/json";
export const TRAIL_OBJECT_CONTENT_ENCODING = "gzip";

/**
 * Builds a log file from records already serialised as the journal stores them (compact JSON):
 * the records go in byte for byte, so a re-delivery after a crash produces the same hash.
 */
export async function buildLogFile(recordJsons: readonly string[]): Promise<LogFileContent> {
  const json = Buffer.from(`{"Records":[${recordJsons.join(",")}]}`, "utf8");
  let oldest: string | undefined;
  let newest: string | undefined;
  for (const text of recordJsons) {
    const time = eventTimeOf(text);
    if (time === undefined) continue;
    // Fixed-width ISO-8601 UTC strings order correctly as strings.
    if (oldest === undefined || time < oldest) oldest = time;
    if (newest === undefined || time > newest) newest = time;
  }
  return {
    json,
    // Off the main thread (libuv pool): the server keeps acknowledging ingest while files compress.
    gzip: await gzipAsync(json),
    sha256: createHash("sha256").update(json).digest("hex"),
    recordCount: recordJsons.length,
    oldestEventTime: oldest,
    newestEventTime: newest,
  };
}

function eventTimeOf(recordJson: string): string | undefined {
  const value = (JSON.parse(recordJson) as { eventTime?: unknown }).eventTime;
  if (typeof value !== "string") return undefined;
  // Digests use second precision; records may carry milliseconds when ingested from elsewhere.
  return value.replace(/\.\d+Z$/, "Z");
}
