import { createHash } from "node:crypto";
import { gzip } from "node:zlib";
import { promisify } from "node:util";
import { eventTimeRange, type EventTimeRange } from "./file-plan.js";

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
export async function buildLogFile(
  recordJsons: readonly string[],
  knownTimes?: EventTimeRange,
): Promise<LogFileContent> {
  const json = Buffer.from(`{"Records":[${recordJsons.join(",")}]}`, "utf8");
  // The range of the records as planned, or else (a plan put again after a restart) from each record.
  const { oldest, newest } =
    knownTimes ??
    eventTimeRange(recordJsons.map((text) => logEventTime((JSON.parse(text) as { eventTime?: unknown }).eventTime)));
  return {
    json,
    // Off the main thread (libuv pool): the server keeps acknowledging ingest while files compress.
    // One output chunk for the whole file: with the default 16 KiB chunks a file took a pool round
    // trip, and so a turn of a busy event loop, per chunk (docs/decisions/0023-trail-delivery-speed.md).
    gzip: await gzipAsync(json, { chunkSize: gzipChunkBytes(json.length) }),
    sha256: createHash("sha256").update(json).digest("hex"),
    recordCount: recordJsons.length,
    oldestEventTime: oldest,
    newestEventTime: newest,
  };
}

/** Room for the whole gzip output of `inputBytes` (deflate's bound for stored blocks, plus header and trailer). */
function gzipChunkBytes(inputBytes: number): number {
  return Math.max(64 * 1024, inputBytes + Math.ceil(inputBytes / 16_000) * 5 + 1024);
}

/** A record's eventTime as log files and digests report it; undefined when it is not a string. */
export function logEventTime(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  // Digests use second precision; records may carry milliseconds when ingested from elsewhere.
  return value.replace(/\.\d+Z$/, "Z");
}
