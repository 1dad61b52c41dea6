import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { DuckDBInstance } from "@duckdb/node-api";
import {
  CreateEventDataStoreCommand,
  GetImportCommand,
  ListImportFailuresCommand,
  StartImportCommand,
  type CloudTrailClient,
  type GetImportCommandOutput,
  type ImportFailureListItem,
} from "@aws-sdk/client-cloudtrail";
import {
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCOUNT_ID,
  type ServerProcess,
} from "../helpers/server-process.js";
import { allowImportsFrom } from "../helpers/import-dirs.js";
import { pollUntil } from "../helpers/poll.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import {
  invictusRecords,
  recentRecords,
  SAMPLES_DIR,
  samplesMissingReason,
  type RawRecord,
} from "../helpers/sample-records.js";
import { admin, lakeClient, queryAll } from "../lake/lake-client.js";

/** Every failure of an import's pages, MaxResults at a time. */
async function allFailures(client: CloudTrailClient, importId: string): Promise<ImportFailureListItem[]> {
  const failures: ImportFailureListItem[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListImportFailuresCommand({ ImportId: importId, MaxResults: 3, NextToken: token }),
    );
    failures.push(...(page.Failures ?? []));
    token = page.NextToken;
  } while (token !== undefined);
  return failures;
}

/**
 * The retried import lists each failure once (the interrupted run's are replaced), exactly the
 * failures an uninterrupted import of the same files lists, and its pages agree with FailedEntries.
 */
async function assertRetryFailures(
  client: CloudTrailClient,
  retriedId: string,
  retried: GetImportCommandOutput,
  referenceId: string,
): Promise<void> {
  const failures = await allFailures(client, retriedId);
  const reference = await allFailures(client, referenceId);
  const locations = failures.map((failure) => failure.Location);
  assert.ok(failures.length > 0, "the sample archives hold malformed files");
  assert.equal(new Set(locations).size, locations.length, "no failure listed twice");
  assert.equal(failures.length, retried.ImportStatistics?.FailedEntries, "the pages hold FailedEntries failures");
  assert.deepEqual(locations.sort(), reference.map((failure) => failure.Location).sort());
}

/**
 * kill -9 while the Lake consumer writes Parquet and while an import runs: after a restart every
 * acknowledged (or importable) event is in the store exactly once, and every Parquet file reads.
 */

const ROUNDS = 6;
const BATCH_RECORDS = 50;

async function rows(client: CloudTrailClient, sql: string): Promise<Array<Record<string, string>>> {
  const outcome = await queryAll(client, sql);
  assert.equal(outcome.status, "FINISHED", `${sql}: ${outcome.error ?? ""}`);
  return outcome.rows.map((row) => Object.assign({}, ...row) as Record<string, string>);
}

/** Reads every committed Parquet file under the data dir with a separate DuckDB (all columns). */
async function readAllParquet(dataDir: string): Promise<{ files: number; rows: number; distinct: number }> {
  const duck = await DuckDBInstance.create(":memory:");
  const connection = await duck.connect();
  try {
    const glob = join(dataDir, "lake", "*", "eventdate=*", "*.parquet").replaceAll("'", "''");
    const files = await connection.runAndReadAll(`SELECT count(*) AS n FROM glob('${glob}')`);
    const fileCount = Number(files.getRowObjects()[0]!["n"]);
    if (fileCount === 0) return { files: 0, rows: 0, distinct: 0 };
    // Touch every column of every row (md5 over the whole row forces a full decode).
    const result = await connection.runAndReadAll(
      `SELECT count(*) AS n, count(DISTINCT md5(CAST(t AS VARCHAR))) AS d, count(DISTINCT eventJsonChecksum) AS c FROM read_parquet('${glob}', hive_partitioning = true) AS t`,
    );
    const row = result.getRowObjects()[0]!;
    return { files: fileCount, rows: Number(row["n"]), distinct: Number(row["c"]) };
  } finally {
    connection.closeSync();
    duck.closeSync();
  }
}

describe("Lake survives kill -9", () => {
  it(`during ingest, ${ROUNDS} rounds: every acknowledged event stored exactly once, every file readable`, async () => {
    const dataDir = makeDataDir("cairn-lake-crash-");
    const acknowledged = new Set<string>();
    const attempted = new Set<string>();
    let server: ServerProcess | undefined;
    let client: CloudTrailClient | undefined;
    try {
      let storeId = "";
      for (let round = 0; round < ROUNDS; round++) {
        server = await startServerProcess({ dataDir });
        if (round === 0) {
          client = lakeClient(server.url);
          const created = await client.send(
            new CreateEventDataStoreCommand({ Name: "crash", TerminationProtectionEnabled: false }),
          );
          storeId = created.EventDataStoreArn!.split("/")[1]!;
          client.destroy();
          client = undefined;
        }
        // Kill times straddle the 1 s flush: before the first flush, during one, between two.
        const killAfterMs = 300 + ((round * 547) % 2200);
        const victim = server;
        let killed = false;
        const killer = new Promise<void>((resolve) =>
          setTimeout(() => {
            killed = true;
            void victim.kill9().then(resolve);
          }, killAfterMs),
        );
        while (!killed) {
          const batch = recentRecords(BATCH_RECORDS, { accountId: TEST_ACCOUNT_ID });
          const ids = batch.map((r) => r["eventID"] as string);
          ids.forEach((id) => attempted.add(id));
          try {
            const response = await sendRaw(server.url, ingestCall(batch, admin, { gzip: true }));
            if (response.status !== 200) break;
            assert.equal((response.json() as { accepted: number }).accepted, batch.length);
            ids.forEach((id) => acknowledged.add(id));
          } catch {
            break; // Died mid-request: not acknowledged.
          }
        }
        await killer;
      }
      assert.ok(acknowledged.size > 0, "some batches were acknowledged before the kills");

      server = await startServerProcess({ dataDir });
      client = lakeClient(server.url);
      const lake = client;
      // The consumer replays the journal from its durable cursor; wait until it has caught up.
      const stored = await pollUntil(
        async () => {
          const found = await rows(lake, `SELECT eventID, eventSource FROM ${storeId}`);
          const ids = new Set(found.map((r) => r["eventID"]!));
          return [...acknowledged].every((id) => ids.has(id)) ? found : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 100, message: "the Lake consumer to catch up" },
      );
      const duplicates = await rows(
        client,
        `SELECT eventID, count(*) AS n FROM ${storeId} GROUP BY 1 HAVING count(*) > 1`,
      );
      assert.deepEqual(duplicates, [], "no event stored twice");
      assert.equal(new Set(stored.map((r) => r["eventID"])).size, stored.length);
      for (const row of stored)
        assert.ok(
          attempted.has(row["eventID"]!) || row["eventSource"] === "cloudtrail.amazonaws.com",
          `event ${row["eventID"]} was sent by this test or is Cairn's own management event`,
        );
      // Every file the server knows reads in full. Counted without Cairn's own events: the queries'
      // polling calls keep adding management events to the store while this test reads it.
      const sent = stored.filter((row) => row["eventSource"] !== "cloudtrail.amazonaws.com");
      const total = await rows(
        client,
        `SELECT count(*) AS n, count(DISTINCT eventJson) AS d FROM ${storeId} WHERE eventSource <> 'cloudtrail.amazonaws.com'`,
      );
      assert.equal(Number(total[0]!["n"]), sent.length);
      assert.equal(Number(total[0]!["d"]), sent.length);
      process.stdout.write(
        `# ingest: ${acknowledged.size} acknowledged of ${attempted.size} sent, ${stored.length} stored\n`,
      );
      client.destroy();
      client = undefined;
      await server.stop();
      server = undefined;
      // And so does every Parquet file left on disk, read by an independent DuckDB.
      const onDisk = await readAllParquet(dataDir);
      assert.ok(onDisk.files > 0);
      // The graceful stop flushes the management events of the queries above: more rows, never a copy.
      assert.ok(onDisk.rows >= stored.length);
      assert.equal(onDisk.distinct, onDisk.rows, "no row twice on disk (no orphan Parquet file)");
    } finally {
      client?.destroy();
      await server?.kill9();
      removeDataDir(dataDir);
    }
  });

  it(
    "during a file:// import: after restart and a retry every importable event is stored exactly once",
    { skip: samplesMissingReason() },
    async () => {
      const dataDir = makeDataDir("cairn-lake-crash-import-");
      const archive = mkdtempSync(join(tmpdir(), "cairn-lake-crash-archive-"));
      let server: ServerProcess | undefined;
      let client: CloudTrailClient | undefined;
      try {
        // The sample archives (with their malformed files) plus generated trail files, so the import
        // spans more than two 100,000-row chunks; the kill comes after the first chunk is committed.
        cpSync(SAMPLES_DIR, join(archive, "samples"), { recursive: true });
        const base = invictusRecords();
        const generated = new Set<string>();
        const nowMs = Date.now();
        const FILES = 300;
        mkdirSync(join(archive, "generated"));
        for (let file = 0; file < FILES; file++) {
          const records: RawRecord[] = [];
          for (let i = 0; i < 1000; i++) {
            const n = file * 1000 + i;
            const eventID = randomUUID();
            generated.add(eventID);
            records.push({
              ...base[n % base.length]!,
              recipientAccountId: TEST_ACCOUNT_ID,
              eventID,
              eventTime: new Date(nowMs - 86_400_000 + n * 500).toISOString().replace(/\.\d{3}Z$/, "Z"),
            });
          }
          writeFileSync(
            join(archive, "generated", `${String(file).padStart(4, "0")}.json.gz`),
            gzipSync(JSON.stringify({ Records: records }), { level: 1 }),
          );
        }
        const source = {
          S3: { S3LocationUri: pathToFileURL(archive).href, S3BucketRegion: "us-east-1", S3BucketAccessRoleArn: "" },
        };
        process.stdout.write(`# import: archive written in ${Date.now() - nowMs} ms\n`);

        server = await startServerProcess({ dataDir, env: allowImportsFrom(archive) });
        client = lakeClient(server.url);
        const createStore = async (name: string): Promise<string> =>
          (
            await client!.send(
              new CreateEventDataStoreCommand({
                Name: name,
                TerminationProtectionEnabled: false,
                StartIngestion: false,
              }),
            )
          ).EventDataStoreArn!.split("/")[1]!;
        const crashed = await createStore("crashed");
        const first = await client.send(new StartImportCommand({ Destinations: [crashed], ImportSource: source }));
        const lake = client;
        // Kill after the first chunk is committed (queryable), while the next ones are read and written.
        const progress = await pollUntil(
          async () => {
            const got = await lake.send(new GetImportCommand({ ImportId: first.ImportId }));
            assert.notEqual(got.ImportStatus, "COMPLETED", "the import finished before the kill: make it bigger");
            const events = got.ImportStatistics?.EventsCompleted ?? 0;
            if (events < 100_000) return undefined;
            const committed = Number((await rows(lake, `SELECT count(*) AS n FROM ${crashed}`))[0]!["n"]);
            return committed > 0 ? events : undefined;
          },
          { timeoutMs: 60_000, intervalMs: 100, message: "the import to commit its first chunk" },
        );
        client.destroy();
        client = undefined;
        await server.kill9();

        server = await startServerProcess({ dataDir, env: allowImportsFrom(archive) });
        client = lakeClient(server.url);
        const interrupted = await client.send(new GetImportCommand({ ImportId: first.ImportId }));
        assert.equal(interrupted.ImportStatus, "FAILED", "an interrupted import is marked FAILED");
        const partial = Number((await rows(client, `SELECT count(*) AS n FROM ${crashed}`))[0]!["n"]);
        process.stdout.write(`# import: killed at ${progress} events read, ${partial} committed before the kill\n`);
        assert.ok(partial > 0 && partial < generated.size, "the kill interrupted the import after a commit");

        // A new import, or (`retry`) StartImport with the interrupted import's id: run again from the beginning.
        const runToEnd = async (
          request: { store: string; from: typeof source } | { retry: string },
        ): Promise<GetImportCommandOutput> => {
          const lakeClientNow = client!;
          const started = await lakeClientNow.send(
            new StartImportCommand(
              "retry" in request
                ? { ImportId: request.retry }
                : { Destinations: [request.store], ImportSource: request.from },
            ),
          );
          if ("retry" in request) assert.equal(started.ImportId, request.retry, "a retry keeps its import's id");
          return pollUntil(
            async () => {
              const got = await lakeClientNow.send(new GetImportCommand({ ImportId: started.ImportId }));
              if (got.ImportStatus === "FAILED" || got.ImportStatus === "STOPPED")
                throw new Error(`import ${started.ImportId} ended ${got.ImportStatus}`);
              return got.ImportStatus === "COMPLETED" ? got : undefined;
            },
            // A bound, not a figure: the retry imports ~200,000 events on a shared 2-core machine.
            { timeoutMs: 180_000, intervalMs: 100, message: `import ${started.ImportId}` },
          );
        };
        let mark = Date.now();
        const retried = await runToEnd({ retry: first.ImportId! });
        process.stdout.write(`# import: retry took ${Date.now() - mark} ms\n`);
        mark = Date.now();
        // The reference: the sample archives imported once, without a crash, into a fresh store.
        const reference = await createStore("reference");
        const uninterrupted = await runToEnd({
          store: reference,
          from: { S3: { ...source.S3, S3LocationUri: pathToFileURL(join(archive, "samples")).href } },
        });
        process.stdout.write(`# import: reference import took ${Date.now() - mark} ms\n`);
        await assertRetryFailures(client, first.ImportId!, retried, uninterrupted.ImportId!);

        const duplicates = await rows(
          client,
          `SELECT eventJsonChecksum, count(*) AS n FROM ${crashed} GROUP BY 1 HAVING count(*) > 1`,
        );
        assert.deepEqual(duplicates, [], "no event imported twice");
        const missing = await rows(
          client,
          `SELECT count(*) AS n FROM (SELECT eventJsonChecksum FROM ${reference} EXCEPT SELECT eventJsonChecksum FROM ${crashed})`,
        );
        assert.equal(missing[0]!["n"], "0", "every sample event of an uninterrupted import is in the crashed store");
        const counts = await rows(
          client,
          `SELECT (SELECT count(*) FROM ${crashed}) AS crashed, (SELECT count(*) FROM ${reference}) AS reference`,
        );
        assert.equal(Number(counts[0]!["crashed"]), Number(counts[0]!["reference"]) + generated.size);
        assert.equal(
          retried.ImportStatistics?.EventsCompleted,
          Number(counts[0]!["crashed"]),
          "EventsCompleted counts what both runs of the import added",
        );
        assert.equal(
          retried.ImportStatistics?.FilesCompleted,
          (uninterrupted.ImportStatistics?.FilesCompleted ?? 0) + FILES,
        );
        const ids = await rows(
          client,
          `SELECT eventID FROM ${crashed} WHERE recipientAccountId = '${TEST_ACCOUNT_ID}'`,
        );
        const present = new Set(ids.map((r) => r["eventID"]));
        for (const id of generated) assert.ok(present.has(id), `generated event ${id} imported`);
        process.stdout.write(
          `# import: ${counts[0]!["crashed"]} events stored after the retry = ${counts[0]!["reference"]} sample events + ${generated.size} generated\n`,
        );
        client.destroy();
        client = undefined;
        await server.stop();
        server = undefined;
        const onDisk = await readAllParquet(dataDir);
        assert.equal(
          onDisk.rows,
          Number(counts[0]!["crashed"]) + Number(counts[0]!["reference"]),
          "no orphan Parquet file left under the data dir",
        );
      } finally {
        client?.destroy();
        await server?.kill9();
        removeDataDir(dataDir);
        rmSync(archive, { recursive: true, force: true });
      }
    },
  );
});
