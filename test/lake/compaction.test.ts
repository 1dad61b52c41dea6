import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  GetImportCommand,
  StartImportCommand,
  UpdateEventDataStoreCommand,
  type CloudTrailClient,
} from "@aws-sdk/client-cloudtrail";
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from "../helpers/server-process.js";
import { allowImportsFrom } from "../helpers/import-dirs.js";
import { lakeClient } from "./lake-client.js";
import {
  committedFiles,
  compactionEnv,
  count,
  dateDaysAgo,
  filesOnDisk,
  makeSmallFiles,
  OURS,
  readStoreFiles,
  rows,
  waitFor,
} from "./compaction-fixture.js";

/**
 * Compaction of small Parquet files (issue 5), against real server processes: many small files
 * become few with the same query answers; queries running while files are swapped see exact
 * counts; dedup keys, imports and the retention sweep work on compacted files.
 */

/** Answers that must not change when files are merged (full rows, aggregates, a pruned query). */
function referenceQueries(store: string): string[] {
  return [
    `SELECT count(*) AS n, count(DISTINCT eventID) AS d FROM ${store} WHERE ${OURS}`,
    `SELECT eventdate, eventSource, eventName, count(*) AS n FROM ${store} WHERE ${OURS} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    `SELECT eventID, eventTime, eventJsonChecksum, userIdentity.arn, requestParameters, resources, readOnly ` +
      `FROM ${store} WHERE ${OURS} ORDER BY eventID`,
    `SELECT count(*) AS n FROM ${store} WHERE eventTime >= '${dateDaysAgo(3)} 00:00:00' AND eventTime < '${dateDaysAgo(2)} 00:00:00'`,
  ];
}

describe("Lake compaction", () => {
  it("merges many small files into few; answers, dedup, import and retention unchanged", async () => {
    const dataDir = makeDataDir("cairn-lake-compaction-");
    const archive = mkdtempSync(join(tmpdir(), "cairn-compaction-archive-"));
    let server: ServerProcess | undefined;
    let client: CloudTrailClient | undefined;
    try {
      const { storeId, records, closedPartitions } = await makeSmallFiles(dataDir, {
        batches: 25,
        perDate: 8,
        daysAgo: [0, 3, 10],
      });
      const before = await committedFiles(dataDir, storeId);
      process.stdout.write(`# ${records.length} events in ${count(before)} files over ${before.size} partitions\n`);
      for (const partition of closedPartitions) assert.ok((before.get(partition)?.length ?? 0) >= 25, partition);

      server = await startServerProcess({ dataDir, env: compactionEnv() });
      client = lakeClient(server.url);
      const reference: Array<Array<Record<string, string>>> = [];
      for (const sql of referenceQueries(storeId)) reference.push(await rows(client, sql));
      assert.equal(Number(reference[0]![0]!["n"]), records.length);
      assert.equal(Number(reference[0]![0]!["d"]), records.length);
      client.destroy();
      client = undefined;
      await server.stop();

      // Compaction on: every 200 ms, tiers of 4 files.
      server = await startServerProcess({
        dataDir,
        env: { ...compactionEnv({ INTERVAL_MS: "200", MIN_FILES: "4" }), ...allowImportsFrom(archive) },
      });
      const running = server;
      const after = await waitFor("compaction of every partition", async () => {
        const files = await committedFiles(dataDir, storeId);
        const done =
          closedPartitions.every((p) => files.get(p)?.length === 1) &&
          [...files.values()].every((list) => list.length < 4);
        return done ? files : undefined;
      });
      // Replaced files are deleted (no query holds them): disk = lake.db.
      await waitFor("replaced files deleted", async () =>
        filesOnDisk(dataDir, storeId).length === count(await committedFiles(dataDir, storeId)) ? true : undefined,
      );
      assert.match(running.output(), /lake: compaction merged \d+ files/);
      process.stdout.write(`# after compaction: ${count(after)} files over ${after.size} partitions\n`);
      assert.ok(count(after) <= after.size * 3);

      client = lakeClient(server.url);
      const queries = referenceQueries(storeId);
      for (let i = 0; i < queries.length; i++)
        assert.deepEqual(await rows(client, queries[i]!), reference[i], `same answer after compaction: ${queries[i]}`);

      // Dedup keys survive the swap: importing the same events again adds none.
      writeFileSync(join(archive, "all.json"), JSON.stringify({ Records: records }));
      const started = await client.send(
        new StartImportCommand({
          Destinations: [storeId],
          ImportSource: {
            S3: { S3LocationUri: pathToFileURL(archive).href, S3BucketRegion: "us-east-1", S3BucketAccessRoleArn: "" },
          },
        }),
      );
      const lake = client;
      const imported = await waitFor("the re-import", async () => {
        const got = await lake.send(new GetImportCommand({ ImportId: started.ImportId }));
        assert.ok(got.ImportStatus !== "FAILED" && got.ImportStatus !== "STOPPED", got.ImportStatus);
        return got.ImportStatus === "COMPLETED" ? got : undefined;
      });
      assert.equal(imported.ImportStatistics?.EventsCompleted, 0, "every event is already in the store");
      assert.deepEqual(await rows(client, queries[0]!), reference[0]);

      // Retention: the 10-day-old partition (one compacted file) goes, the rest stays.
      const old = `eventdate=${dateDaysAgo(10)}`;
      const oldCount = Number(
        (await rows(client, `SELECT count(*) AS n FROM ${storeId} WHERE eventdate = '${dateDaysAgo(10)}'`))[0]!["n"],
      );
      assert.ok(oldCount > 0);
      await client.send(new UpdateEventDataStoreCommand({ EventDataStore: storeId, RetentionPeriod: 7 }));
      client.destroy();
      client = undefined;
      await server.stop();
      server = await startServerProcess({ dataDir, env: compactionEnv({ INTERVAL_MS: "200", MIN_FILES: "4" }) });
      await waitFor("the retention sweep", () => (existsSync(join(dataDir, "lake", storeId, old)) ? undefined : true));
      assert.equal((await committedFiles(dataDir, storeId)).get(old), undefined, "lake.db forgot the swept files");
      client = lakeClient(server.url);
      const left = await rows(client, queries[0]!);
      assert.equal(Number(left[0]!["n"]), records.length - oldCount);
      assert.equal(Number(left[0]!["d"]), records.length - oldCount);
      client.destroy();
      client = undefined;
      await server.stop();
      server = undefined;
      const onDisk = await readStoreFiles(dataDir, storeId);
      assert.equal(onDisk.distinct, onDisk.rows, "no event twice on disk");
    } finally {
      client?.destroy();
      await server?.kill9();
      removeDataDir(dataDir);
      rmSync(archive, { recursive: true, force: true });
    }
  });

  it("queries running while files are swapped see every event exactly once", async () => {
    const dataDir = makeDataDir("cairn-lake-compaction-live-");
    let server: ServerProcess | undefined;
    const clients: CloudTrailClient[] = [];
    try {
      const { storeId, records, closedPartitions } = await makeSmallFiles(dataDir, {
        batches: 30,
        perDate: 6,
        daysAgo: [0, 2, 4],
      });
      // One merge of at most 3 files per run, a run every 50 ms: many swaps while queries run.
      server = await startServerProcess({
        dataDir,
        env: compactionEnv({ INTERVAL_MS: "50", MIN_FILES: "2", MAX_FILES: "3", MAX_BYTES_PER_RUN: "1" }),
      });
      const url = server.url;
      const compacted = async (): Promise<boolean> => {
        const files = await committedFiles(dataDir, storeId);
        return closedPartitions.every((p) => files.get(p)?.length === 1);
      };
      let queriesRun = 0;
      const loop = async (sql: string, expected: number): Promise<void> => {
        const client = lakeClient(url);
        clients.push(client);
        // Until the closed partitions are one file each, and at least a few queries ran.
        for (let i = 0; !(await compacted()) || i < 3; i++) {
          const [row] = await rows(client, sql);
          assert.equal(Number(row!["n"]), expected, `${sql}: query ${i}`);
          assert.equal(Number(row!["d"]), expected, `${sql}: query ${i}`);
          queriesRun++;
        }
      };
      const perDay = records.length / 3;
      await Promise.all([
        loop(`SELECT count(*) AS n, count(DISTINCT eventID) AS d FROM ${storeId} WHERE ${OURS}`, records.length),
        loop(
          `SELECT count(*) AS n, count(DISTINCT eventJsonChecksum) AS d FROM ${storeId} ` +
            `WHERE eventTime >= '${dateDaysAgo(4)} 00:00:00' AND eventTime < '${dateDaysAgo(3)} 00:00:00'`,
          perDay,
        ),
      ]);
      const merges = (server.output().match(/lake: compaction merged/g) ?? []).length;
      // Swaps made while a query that had listed the replaced files was still running.
      const deferred = (server.output().match(/; [1-9]\d* replaced files wait for running queries/g) ?? []).length;
      process.stdout.write(
        `# ${queriesRun} exact queries while ${merges} compaction runs merged files ` +
          `(${deferred} with replaced files kept for running queries)\n`,
      );
      assert.ok(merges >= 2 * closedPartitions.length, "compaction ran in several steps");
      for (const client of clients) client.destroy();
      clients.length = 0;
      await waitFor("replaced files deleted once no query reads them", async () =>
        filesOnDisk(dataDir, storeId).length === count(await committedFiles(dataDir, storeId)) ? true : undefined,
      );
    } finally {
      for (const client of clients) client.destroy();
      await server?.kill9();
      removeDataDir(dataDir);
    }
  });
});
