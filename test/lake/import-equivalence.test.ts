import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { DuckDBInstance } from "@duckdb/node-api";
import { listTrailFiles, readTrailFile } from "../../src/client/trail-files.js";
import { normalizeIngestedRecord } from "../../src/normalize/pipeline.js";
import { contentUuid } from "../../src/control-plane/lake/import/import-rows.js";
import { keyHash, openSqliteLakeCatalog } from "../../src/lake/catalog/index.js";
import { eventDateOf, recordToRow } from "../../src/lake/engine/lake-schema.js";
import { writeParquet } from "../../src/lake/engine/parquet-writer.js";
import { runImport, type ImportDocument } from "../../src/control-plane/lake/import/import-runner.js";
import type { IngestProvenance } from "../../src/model/provenance.js";
import { SAMPLES_DIR, samplesMissingReason } from "../helpers/sample-records.js";

/**
 * The bulk import (worker threads + one DuckDB statement per chunk) against the reference it
 * replaced: every sample file read with readTrailFile, every record normalised, de-duplicated and
 * turned into a row by recordToRow, written by parquet-writer.ts. Same rows in every column, same
 * Parquet schema, same ListImportFailures entries in the same order, and a re-import adds nothing.
 */

interface Failure {
  Location: string;
  ErrorType: string;
  ErrorMessage: string;
}

/** How an import names a file in its failures: the source's URI and the path below it, never the server path. */
function sourceLocation(path: string): string {
  const encoded = relative(SAMPLES_DIR, path).split(sep).map(encodeURIComponent).join("/");
  return `${pathToFileURL(SAMPLES_DIR).href}/${encoded}`;
}

/** Who started the import: every row's cairnIngestedBy, a literal in the bulk statement, recordToRow's in the reference. */
const importedBy = (importId: string): IngestProvenance => ({
  source: "import",
  principalArn: "arn:aws:iam::123456789012:user/it's-the-importer",
  accessKeyId: "AKIAIMPORTER00000001",
  importId,
});
const FIRST_IMPORT = "00000000-0000-4000-8000-000000000001";

async function referenceImport(
  duck: DuckDBInstance,
  lakeDir: string,
  nowMs: number,
): Promise<{ failures: Failure[]; files: number; events: number }> {
  const failures: Failure[] = [];
  const byDate = new Map<string, Record<string, unknown>[]>();
  const seen = new Set<string>();
  let events = 0;
  const files = (await listTrailFiles([SAMPLES_DIR])).filter((f) => !basename(f.path).includes("CloudTrail-Digest"));
  for (const file of files) {
    const content = await readTrailFile(file.path);
    const location = sourceLocation(file.path);
    if (!content.ok) {
      failures.push({ Location: location, ErrorType: content.problem, ErrorMessage: content.message });
      continue;
    }
    content.records.forEach((raw, index) => {
      const result = normalizeIngestedRecord(raw, { receivedAtMs: nowMs, randomUUID: () => contentUuid(raw) });
      if (!result.ok) {
        failures.push({ Location: `${location}#${index}`, ErrorType: result.errorCode, ErrorMessage: result.message });
        return;
      }
      const hex = keyHash(result.dedupKey).toString("hex");
      if (seen.has(hex)) return;
      seen.add(hex);
      const date = eventDateOf(result.record);
      if (!byDate.has(date)) byDate.set(date, []);
      byDate.get(date)!.push(recordToRow(result.record, result.json, importedBy(FIRST_IMPORT)));
      events++;
    });
  }
  for (const [eventDate, rows] of byDate)
    await writeParquet(duck, { lakeDir, edsId: "reference", eventDate, name: "reference" }, rows);
  return { failures, files: files.length, events };
}

describe("Lake bulk import", { skip: samplesMissingReason() }, () => {
  it("stores exactly the rows, schema and failures of the record-by-record reference", async () => {
    const lakeDir = mkdtempSync(join(tmpdir(), "cairn-import-equivalence-"));
    const duck = await DuckDBInstance.create(":memory:");
    const catalog = await openSqliteLakeCatalog(join(lakeDir, "lake.db"));
    try {
      const nowMs = Date.now();
      const reference = await referenceImport(duck, lakeDir, nowMs);
      const newDoc = (id: string): ImportDocument => ({
        id,
        accountId: "123456789012",
        edsId: "bulk",
        destinationArn: "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/bulk",
        sourceUri: pathToFileURL(SAMPLES_DIR).href,
        directory: SAMPLES_DIR,
        location: { kind: "file", directory: SAMPLES_DIR },
        region: "us-east-1",
        roleArn: "",
        ingestedBy: importedBy(id),
        status: "INITIALIZING",
        createdMs: nowMs,
        updatedMs: nowMs,
        stats: { PrefixesFound: 0, PrefixesCompleted: 0, FilesCompleted: 0, EventsCompleted: 0, FailedEntries: 0 },
      });
      const deps = { catalog, duck, lakeDir, nowMs: () => nowMs, save: async () => undefined };
      const doc = newDoc(FIRST_IMPORT);
      await runImport(doc, deps);
      assert.equal(doc.status, "COMPLETED");
      assert.deepEqual(doc.stats, {
        PrefixesFound: 1,
        PrefixesCompleted: 1,
        FilesCompleted: reference.files,
        EventsCompleted: reference.events,
        FailedEntries: reference.failures.length,
      });
      const failures = (await catalog.importFailures(doc.id, 0, 100_000)).map(
        ({ Location, ErrorType, ErrorMessage }) => ({ Location, ErrorType, ErrorMessage }),
      );
      assert.deepEqual(failures, reference.failures);
      assert.ok(
        reference.failures.some((f) => !f.Location.includes("#")),
        "the samples hold malformed files",
      );

      const connection = await duck.connect();
      try {
        const glob = (store: string): string => `'${join(lakeDir, store, "*", "*.parquet").replaceAll("'", "''")}'`;
        const schema = async (store: string): Promise<string> =>
          JSON.stringify(
            (await connection.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${glob(store)})`)).getRowObjects(),
          );
        assert.equal(await schema("bulk"), await schema("reference"), "the same Parquet columns and types");
        const count = async (sql: string): Promise<number> =>
          Number((await connection.runAndReadAll(sql)).getRowObjects()[0]!["n"]);
        const [bulk, ref] = [`read_parquet(${glob("bulk")})`, `read_parquet(${glob("reference")})`];
        assert.equal(await count(`SELECT count(*) AS n FROM ${bulk}`), reference.events);
        assert.equal(
          await count(`SELECT count(*) AS n FROM (SELECT * FROM ${bulk} EXCEPT ALL SELECT * FROM ${ref})`),
          0,
        );
        assert.equal(
          await count(`SELECT count(*) AS n FROM (SELECT * FROM ${ref} EXCEPT ALL SELECT * FROM ${bulk})`),
          0,
        );
        // Every file sits in the partition of its rows' event date.
        assert.equal(
          await count(
            `SELECT count(*) AS n FROM read_parquet(${glob("bulk")}, hive_partitioning = true) ` +
              `WHERE CAST(eventTime AS DATE) <> CAST(eventdate AS DATE)`,
          ),
          0,
        );
      } finally {
        connection.closeSync();
      }

      // The same archive again: every event is a duplicate.
      const again = newDoc("00000000-0000-4000-8000-000000000002");
      await runImport(again, deps);
      assert.equal(again.status, "COMPLETED");
      assert.equal(again.stats.EventsCompleted, 0);
      assert.equal(again.stats.FilesCompleted, reference.files);
      process.stdout.write(
        `# ${reference.files} files, ${reference.events} events, ${reference.failures.length} failures: identical\n`,
      );
    } finally {
      await catalog.close();
      duck.closeSync();
      rmSync(lakeDir, { recursive: true, force: true });
    }
  });
});
