/**
 * Worker thread of an import: turns the bytes of one trail log file into Lake row lines. It does what
 * the old single-threaded runner did per file (gzip sniff, JSON.parse, the ingest rules of
 * normalizeIngestedRecord, the time window, the de-duplication key), so the results are the same; the
 * only new part is the output shape: one NDJSON line per record for bulk-writer.ts, holding the
 * normalised JSON (eventJson) and the struct columns whose members are matched case-insensitively
 * (recordToRow's rules), so DuckDB builds the rest of the row itself; a file's lines, offsets, keys
 * and record indexes go back as buffers in the transfer list (moved, not copied).
 */
import { parentPort } from "node:worker_threads";
import { errorTextWithoutPaths } from "../../../lib/error-text.js";
import { normalizeIngestedRecord } from "../../../normalize/pipeline.js";
// The contract module, not index.ts: a worker thread has no use for the SQLite backend.
import { keyHash } from "../../../lake/catalog/lake-catalog.js";
import { contentUuid, parseTrailBytes, rowLine, type FileRequest, type FileResult } from "./import-rows.js";
import { LineBuffer } from "./line-buffer.js";

const port = parentPort;
if (port === null) throw new Error("import-worker.js runs as a worker thread");

port.on("message", (request: FileRequest) => {
  const result = processFile(request);
  const transfer = result.ok
    ? [result.lines.buffer, result.offsets.buffer, result.indexes.buffer, result.keys.buffer].map(
        (b) => b as ArrayBuffer,
      )
    : [];
  port.postMessage(result, transfer);
});

function processFile(request: FileRequest): FileResult {
  const content = parseTrailBytes(request.bytes === undefined ? undefined : Buffer.from(request.bytes), request.path);
  if (!content.ok) return { id: request.id, ok: false, problem: content.problem, message: content.message };
  // ~1.8 KB a line for typical records: usually no growth.
  const lines = new LineBuffer(content.records.length * 2048);
  let dates = "";
  const indexes = new Uint32Array(content.records.length);
  const failures: Array<{ index: number; errorCode: string; message: string }> = [];
  const keys = Buffer.alloc(content.records.length * 16);
  content.records.forEach((raw, index) => {
    const result = normalizeIngestedRecord(raw, { receivedAtMs: request.nowMs, randomUUID: () => contentUuid(raw) });
    if (!result.ok) {
      failures.push({ index, errorCode: result.errorCode, message: result.message });
      return;
    }
    const timeMs = Date.parse(result.record.eventTime);
    if (request.startMs !== undefined && timeMs < request.startMs) return;
    if (request.endMs !== undefined && timeMs > request.endMs) return;
    let line: string;
    try {
      line = rowLine(result.record, result.json);
    } catch (error) {
      // A record the Lake cannot hold is the record's failure, not the import's.
      failures.push({ index, errorCode: "unwritable", message: errorTextWithoutPaths(error) });
      return;
    }
    keyHash(result.dedupKey).copy(keys, lines.count * 16);
    indexes[lines.count] = index;
    lines.push(line);
    dates += result.record.eventTime.slice(0, 10);
  });
  const count = lines.count;
  return {
    id: request.id,
    ok: true,
    ...lines.finish(),
    dates,
    indexes: indexes.slice(0, count),
    keys: new Uint8Array(keys.buffer, keys.byteOffset, count * 16),
    failures,
  };
}
