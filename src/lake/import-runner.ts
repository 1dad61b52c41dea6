/** The background part of an import: walk, read, normalise, de-duplicate, write Parquet in chunks. */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import type { DuckDBInstance } from "@duckdb/node-api";
import { listTrailFiles, readTrailFile } from "../client/trail-files.js";
import { normalizeIngestedRecord } from "../normalize/pipeline.js";
import { keyHash, type CommittedFile, type LakeDb } from "./lake-db.js";
import { eventDateOf, recordToRow } from "./lake-schema.js";
import { writeParquet } from "./parquet-writer.js";

const CHUNK_ROWS = 100_000;

function contentUuid(raw: unknown): string {
  const hex = createHash("sha256").update(JSON.stringify(raw)).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface ImportDocument {
  readonly id: string;
  readonly accountId: string;
  readonly edsId: string;
  readonly destinationArn: string;
  readonly sourceUri: string;
  readonly directory: string;
  readonly region: string;
  readonly roleArn: string;
  readonly startEventTimeMs?: number;
  readonly endEventTimeMs?: number;
  status: "INITIALIZING" | "IN_PROGRESS" | "FAILED" | "STOPPED" | "COMPLETED";
  readonly createdMs: number;
  updatedMs: number;
  stats: {
    PrefixesFound: number;
    PrefixesCompleted: number;
    FilesCompleted: number;
    EventsCompleted: number;
    FailedEntries: number;
  };
}

interface RunnerDeps {
  readonly db: LakeDb;
  readonly duck: DuckDBInstance;
  readonly lakeDir: string;
  readonly nowMs: () => number;
  readonly save: (doc: ImportDocument) => void;
}

export async function runImport(doc: ImportDocument, deps: RunnerDeps): Promise<void> {
  const fail = (location: string, errorType: string, errorMessage: string): void => {
    deps.db.addImportFailure(doc.id, {
      Location: location,
      Status: "FAILED",
      ErrorType: errorType,
      ErrorMessage: errorMessage.slice(0, 1000),
      LastUpdatedTime: deps.nowMs() / 1000,
    });
    doc.stats.FailedEntries++;
  };
  const byDate = new Map<string, { rows: Record<string, unknown>[]; keys: Buffer[] }>();
  const seen = new Set<string>();
  let buffered = 0;
  let chunk = 0;
  const flush = async (): Promise<void> => {
    const files: CommittedFile[] = [];
    for (const [eventDate, batch] of byDate) {
      const name = `import-${doc.id}-${String(chunk).padStart(6, "0")}`;
      const path = await writeParquet(
        deps.duck,
        { lakeDir: deps.lakeDir, edsId: doc.edsId, eventDate, name },
        batch.rows,
      );
      files.push({ path, edsId: doc.edsId, rows: batch.rows.length, keys: batch.keys });
    }
    deps.db.commitFiles(files);
    byDate.clear();
    seen.clear();
    chunk++;
    buffered = 0;
  };
  try {
    const files = (await listTrailFiles([doc.directory])).filter(
      (f) => !basename(f.path).includes("CloudTrail-Digest"),
    );
    Object.assign(doc, { status: "IN_PROGRESS", updatedMs: deps.nowMs() });
    doc.stats.PrefixesFound = 1;
    deps.save(doc);
    for (const file of files) {
      const content = await readTrailFile(file.path);
      if (!content.ok) fail(file.path, content.problem, content.message);
      else {
        content.records.forEach((raw, index) => {
          // A record without eventID gets one derived from its content, so importing again is a no-op.
          const randomUUID = (): string => contentUuid(raw);
          const result = normalizeIngestedRecord(raw, { receivedAtMs: deps.nowMs(), randomUUID });
          if (!result.ok) return fail(`${file.path}#${index}`, result.errorCode, result.message);
          const timeMs = Date.parse(result.record.eventTime);
          if (doc.startEventTimeMs !== undefined && timeMs < doc.startEventTimeMs) return;
          if (doc.endEventTimeMs !== undefined && timeMs > doc.endEventTimeMs) return;
          const key = keyHash(result.dedupKey);
          const hex = key.toString("hex");
          if (seen.has(hex) || deps.db.hasKey(doc.edsId, key)) return;
          seen.add(hex);
          const date = eventDateOf(result.record);
          let batch = byDate.get(date);
          if (!batch) byDate.set(date, (batch = { rows: [], keys: [] }));
          batch.rows.push(recordToRow(result.record, result.json));
          batch.keys.push(key);
          buffered++;
          doc.stats.EventsCompleted++;
        });
      }
      doc.stats.FilesCompleted++;
      if (buffered >= CHUNK_ROWS) await flush();
      doc.updatedMs = deps.nowMs();
      deps.save(doc);
    }
    await flush();
    doc.stats.PrefixesCompleted = 1;
    Object.assign(doc, { status: "COMPLETED", updatedMs: deps.nowMs() });
  } catch (error) {
    fail(doc.sourceUri, "ImportFailed", error instanceof Error ? error.message : String(error));
    Object.assign(doc, { status: "FAILED", updatedMs: deps.nowMs() });
  }
  deps.save(doc);
}
