/**
 * What the import workers and the runner share: the request/result messages, reading a trail log
 * file's bytes (the rules of src/client/trail-files.ts readTrailFile), the content-derived eventID and
 * the NDJSON line a record becomes for bulk-writer.ts.
 */
import { createHash, hash } from "node:crypto";
import { closeSync, constants, openSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { errorCode } from "../../../lib/error-code.js";
import type { CloudTrailRecord } from "../../../model/record.js";
import { shapeColumn } from "../../../lake/engine/lake-schema.js";

export interface FileRequest {
  readonly id: number;
  /** Where the file is read from when `bytes` is absent (file:// imports); never shown to the caller. */
  readonly path: string;
  /** The object's body (s3:// imports), transferred to the worker. */
  readonly bytes?: Uint8Array;
  readonly nowMs: number;
  readonly startMs?: number;
  readonly endMs?: number;
}

export type FileResult =
  | {
      readonly id: number;
      readonly ok: true;
      /**
       * The accepted records' NDJSON lines (rowLine, each ending in a newline) one after another, UTF-8:
       * one buffer transferred from the worker rather than a string per record cloned.
       */
      readonly lines: Uint8Array;
      /** Line i is `lines[offsets[i] … offsets[i + 1])`; one more offset than lines. */
      readonly offsets: Uint32Array;
      /** Line i's event date (YYYY-MM-DD) is `dates.slice(10 * i, 10 * i + 10)`. */
      readonly dates: string;
      /** Each line's index in the file's Records array (where a refused record is located). */
      readonly indexes: Uint32Array;
      /** Line i's 16-byte de-duplication key is `keys[16 * i … 16 * i + 16)`. */
      readonly keys: Uint8Array;
      /** Records the ingest rules rejected, by index in the file's Records array. */
      readonly failures: Array<{ index: number; errorCode: string; message: string }>;
    }
  | { readonly id: number; readonly ok: false; readonly problem: string; readonly message: string };

export type TrailBytesContent =
  | { readonly ok: true; readonly records: unknown[] }
  | { readonly ok: false; readonly problem: "unreadable" | "malformed-json" | "not-records"; readonly message: string };

/**
 * A file below an import's source directory. O_NOFOLLOW: a file swapped for a symbolic link after the
 * walk listed it is not followed out of the directory.
 */
function readImportFile(path: string): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** readTrailFile's rules on bytes: gzip sniffed by magic number, `{"Records":[…]}` required. */
export function parseTrailBytes(bytes: Buffer | undefined, path: string): TrailBytesContent {
  let text: Buffer;
  try {
    text = bytes ?? readImportFile(path);
  } catch (error) {
    // The system's message names the server path; its code is all the caller needs.
    return { ok: false, problem: "unreadable", message: `The file cannot be read (${errorCode(error) ?? "error"}).` };
  }
  try {
    if (text[0] === 0x1f && text[1] === 0x8b) text = gunzipSync(text);
  } catch (error) {
    return { ok: false, problem: "unreadable", message: errorMessage(error) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.toString("utf8"));
  } catch (error) {
    return { ok: false, problem: "malformed-json", message: errorMessage(error) };
  }
  if (typeof parsed !== "object" || parsed === null || !Array.isArray((parsed as { Records?: unknown }).Records))
    return { ok: false, problem: "not-records", message: 'not a CloudTrail log file (no top-level "Records" array)' };
  return { ok: true, records: (parsed as { Records: unknown[] }).Records };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A record without eventID gets one derived from its content, so importing it again is a no-op. */
export function contentUuid(raw: unknown): string {
  const hex = createHash("sha256").update(JSON.stringify(raw)).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** The struct columns whose members recordToRow matches case-insensitively; DuckDB derives the rest. */
export const STRUCT_LINE_FIELDS = [
  ["u", "userIdentity"],
  ["r", "resources"],
  ["t", "tlsDetails"],
  ["e", "eventData"],
  ["m", "metadata"],
] as const;

/**
 * One NDJSON line: `j` the normalised JSON (eventJson), `c` its checksum, and the struct columns exactly as recordToRow
 * shapes them (shapeColumn, its rule for each column, so it stays the one definition).
 */
export function rowLine(record: CloudTrailRecord, json: string): string {
  const raw = record as unknown as Record<string, unknown>;
  // eventJsonChecksum here: node's SHA-256 is several times faster than DuckDB's sha256(); one-shot
  // hash(), as no Hash object is needed.
  let line = `{"j":${JSON.stringify(json)},"c":"${hash("sha256", json)}"`;
  for (const [short, field] of STRUCT_LINE_FIELDS) {
    const value = raw[field];
    if (value === undefined || value === null) continue;
    const shaped = shapeColumn(field, value);
    if (shaped !== null) line += `,"${short}":${JSON.stringify(shaped)}`;
  }
  return line + "}";
}
