import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { gzipSync } from "node:zlib";
import {
  CancelQueryCommand,
  CreateEventDataStoreCommand,
  DescribeQueryCommand,
  GetImportCommand,
  ListImportFailuresCommand,
  StartImportCommand,
  StartQueryCommand,
} from "@aws-sdk/client-cloudtrail";
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { motoClient } from "../helpers/cluster-nodes.js";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import {
  AGENT,
  countsReach,
  countSql,
  health,
  ingest,
  resultRow,
  runQuery,
  tagged,
  WAIT,
} from "../helpers/cluster-lake.js";
import { openPostgresDatabase } from "../../src/stores/postgres/index.js";
import { pollUntil } from "../helpers/poll.js";
import {
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCOUNT_ID,
  type ServerProcess,
} from "../helpers/server-process.js";
import { lakeClient } from "../lake/lake-client.js";

const missing = clusterEnginesMissingReason("cluster Lake tests");
const BUCKET = "cairn-lake";
/** Every manifest of the store: partition → the s3:// URIs it lists. */
async function manifests(s3: S3Client, eds: string): Promise<Map<string, string[]>> {
  const listed = await s3.send(
    new ListObjectsV2Command({ Bucket: BUCKET, Prefix: `${eds}/_symlink_format_manifest/` }),
  );
  const out = new Map<string, string[]>();
  for (const object of listed.Contents ?? []) {
    const body = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: object.Key! }));
    const text = await body.Body!.transformToString();
    out.set(
      object.Key!,
      text.split("\n").filter((line) => line !== ""),
    );
  }
  return out;
}

/** DuckDB over exactly the files the manifests list, downloaded from S3 to a temp dir: rows tagged AGENT. */
async function countThroughManifests(s3: S3Client, eds: string): Promise<number> {
  const uris = [...(await manifests(s3, eds)).values()].flat();
  const dir = mkdtempSync(join(tmpdir(), "cairn-manifest-"));
  try {
    const files: string[] = [];
    for (const [i, uri] of uris.entries()) {
      assert.ok(uri.startsWith(`s3://${BUCKET}/${eds}/eventdate=`), uri);
      const key = uri.slice(`s3://${BUCKET}/`.length);
      const body = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      const file = join(dir, `${i}.parquet`);
      writeFileSync(file, await body.Body!.transformToByteArray());
      files.push(file);
    }
    if (files.length === 0) return 0;
    const duck = await DuckDBInstance.create(":memory:");
    const connection = await duck.connect();
    try {
      const list = files.map((file) => `'${file}'`).join(", ");
      const reader = await connection.runAndReadAll(
        `SELECT count(*) FROM read_parquet([${list}], union_by_name = true) WHERE userAgent = '${AGENT}'`,
      );
      return Number(reader.getRowsJson()[0]![0]);
    } finally {
      connection.closeSync();
      duck.closeSync();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What a holder that died mid-import leaves in the catalog: the import IN_PROGRESS, no statistics. */
async function markInProgress(databaseUrl: string, importId: string): Promise<void> {
  const db = openPostgresDatabase({ url: databaseUrl });
  try {
    const [row] = await db.query<{ json: string }>(
      "SELECT json FROM cairn_lake_documents WHERE kind = 'imports' AND id = $1",
      [importId],
    );
    const doc = JSON.parse(row!.json) as Record<string, unknown>;
    const stats = { PrefixesFound: 0, PrefixesCompleted: 0, FilesCompleted: 0, EventsCompleted: 0, FailedEntries: 0 };
    await db.query("UPDATE cairn_lake_documents SET json = $2 WHERE kind = 'imports' AND id = $1", [
      importId,
      JSON.stringify({ ...doc, status: "IN_PROGRESS", stats }),
    ]);
  } finally {
    await db.close();
  }
}

describe("cluster mode: the Lake on S3, served by every node", { skip: missing }, () => {
  let engines: ClusterEngines;
  let s3: S3Client;
  const dirs: string[] = [];
  const nodes: ServerProcess[] = [];

  before(async () => {
    engines = await startClusterEngines();
    s3 = motoClient(engines);
  });
  after(async () => {
    await Promise.all(nodes.map((node) => node.stop().catch(() => undefined)));
    s3?.destroy();
    await engines?.stop();
    dirs.forEach(removeDataDir);
  });

  const env = (nodeId: string): Record<string, string> =>
    engines.nodeEnv(nodeId, {
      CAIRN_LAKE_FLUSH_INTERVAL_MS: "100",
      CAIRN_LAKE_COMPACTION_INTERVAL_MS: "500",
      CAIRN_LAKE_COMPACTION_MIN_FILES: "2",
    });
  const start = async (nodeId: string, dataDir?: string): Promise<ServerProcess> => {
    const dir = dataDir ?? join(makeDataDir(`cairn-cluster-lake-${nodeId}-`), "node");
    if (dataDir === undefined) dirs.push(join(dir, ".."));
    const node = await startServerProcess({ dataDir: dir, env: env(nodeId) });
    nodes.push(node);
    return node;
  };

  it("stores on A, ingests on B, queries on B and reads results on A, matches the manifests, survives a wiped node", async () => {
    const a = await start("lake-a");
    const b = await start("lake-b");
    const onA = lakeClient(a.url);
    const onB = lakeClient(b.url);
    try {
      const created = await onA.send(new CreateEventDataStoreCommand({ Name: "cluster-lake" }));
      const eds = created.EventDataStoreArn!.split("/")[1]!;
      const ids = await ingest(b, 12, 150);
      assert.equal(new Set(ids).size, ids.length);

      const row = await countsReach(onB, eds, ids.length);
      assert.deepEqual(row, [String(ids.length), String(ids.length)], "every acknowledged event exactly once");
      const { id } = await runQuery(onB, countSql(eds));
      assert.deepEqual(await resultRow(onA, id), row, "GetQueryResults on another node than StartQuery's");

      // CancelQuery on another node than the one running the query: the running node picks it up.
      const { QueryId: slow } = await onB.send(
        new StartQueryCommand({
          QueryStatement: `SELECT count(*) FROM ${eds} a CROSS JOIN ${eds} b CROSS JOIN ${eds} c CROSS JOIN ${eds} d`,
        }),
      );
      await pollUntil(
        async () =>
          (await onA.send(new DescribeQueryCommand({ QueryId: slow }))).QueryStatus === "RUNNING" || undefined,
        { ...WAIT, message: "the slow query to run" },
      );
      const cancelled = await onA.send(new CancelQueryCommand({ QueryId: slow }));
      assert.equal(cancelled.QueryStatus, "CANCELLED");
      await pollUntil(
        async () =>
          (await onA.send(new DescribeQueryCommand({ QueryId: slow }))).QueryStatus === "CANCELLED" || undefined,
        { ...WAIT, message: "the running node to cancel" },
      );

      // Exactly one node holds the Lake writer lease.
      const leases = [await health(a), await health(b)].map((h) => h.lake?.lakeWriterLease === true);
      assert.equal(leases.filter(Boolean).length, 1, JSON.stringify(leases));

      // Compaction merges the many small files; the manifests then list only committed files.
      await pollUntil(
        async () =>
          ((await health(a)).lake?.compaction?.merges ?? 0) + ((await health(b)).lake?.compaction?.merges ?? 0) > 0 ||
          undefined,
        { ...WAIT, message: "a compaction merge" },
      );
      assert.ok((await manifests(s3, eds)).size >= 1, "a manifest per partition");
      assert.equal(await countThroughManifests(s3, eds), ids.length, "DuckDB over the manifests' files");

      // A node restarted with a wiped data dir answers the same.
      const bDir = b.dataDir;
      await b.stop();
      nodes.splice(nodes.indexOf(b), 1);
      removeDataDir(bDir);
      const wiped = await start("lake-b", bDir);
      const onWiped = lakeClient(wiped.url);
      try {
        const again = await runQuery(onWiped, countSql(eds));
        assert.equal(again.status, "FINISHED");
        assert.deepEqual(await resultRow(onWiped, again.id), row, "a wiped node reads the Lake from S3");
      } finally {
        onWiped.destroy();
      }
    } finally {
      onA.destroy();
      onB.destroy();
      await Promise.all(nodes.splice(0).map((node) => node.stop()));
    }
  });

  it("kill -9 of the lease holder while ingesting: the other node takes over, every event once; imports run on the holder", async () => {
    const first = await start("fail-a");
    const second = await start("fail-b");
    const onFirst = lakeClient(first.url);
    const created = await onFirst.send(new CreateEventDataStoreCommand({ Name: "failover" }));
    onFirst.destroy();
    const eds = created.EventDataStoreArn!.split("/")[1]!;
    const holds = async (node: ServerProcess): Promise<boolean> => (await health(node)).lake?.lakeWriterLease === true;
    const [holder, survivor] = (await pollUntil(
      async () => ((await holds(first)) ? [first, second] : (await holds(second)) ? [second, first] : undefined),
      { ...WAIT, message: "a lake-writer lease holder" },
    ))!;
    const ids = await ingest(survivor, 4, 100);
    await holder.kill9();
    nodes.splice(nodes.indexOf(holder), 1);
    ids.push(...(await ingest(survivor, 4, 100)));
    await pollUntil(async () => (await holds(survivor)) || undefined, { ...WAIT, message: "the takeover" });
    ids.push(...(await ingest(survivor, 2, 100)));
    const onSurvivor = lakeClient(survivor.url);
    try {
      const row = await countsReach(onSurvivor, eds, ids.length);
      assert.deepEqual(row, [String(ids.length), String(ids.length)], "every acknowledged event exactly once");

      // StartImport on a node that does not hold the lease: the holder runs it.
      const third = await start("fail-c");
      const onThird = lakeClient(third.url);
      try {
        const imported = tagged(300, "cluster-lake-import");
        await s3.send(new CreateBucketCommand({ Bucket: "cluster-archive" }));
        const key = `AWSLogs/${TEST_ACCOUNT_ID}/CloudTrail/us-east-1/2026/01/01/${TEST_ACCOUNT_ID}_CloudTrail_us-east-1_20260101T0000Z_test.json.gz`;
        await s3.send(
          new PutObjectCommand({
            Bucket: "cluster-archive",
            Key: key,
            Body: gzipSync(JSON.stringify({ Records: imported })),
          }),
        );
        // And one file the import cannot take: one ListImportFailures entry per run.
        const bad = key.replace("_test.json.gz", "_bad.json.gz");
        await s3.send(new PutObjectCommand({ Bucket: "cluster-archive", Key: bad, Body: gzipSync("{ not json") }));
        const started = await onThird.send(
          new StartImportCommand({
            Destinations: [created.EventDataStoreArn!],
            ImportSource: {
              S3: {
                S3LocationUri: "s3://cluster-archive/AWSLogs/",
                S3BucketRegion: "us-east-1",
                S3BucketAccessRoleArn: "",
              },
            },
          }),
        );
        assert.equal(started.ImportStatus, "INITIALIZING");
        assert.equal(await holds(third), false, "the importing node is not the one asked");
        const done = await pollUntil(
          async () => {
            const got = await onThird.send(new GetImportCommand({ ImportId: started.ImportId }));
            return got.ImportStatus === "INITIALIZING" || got.ImportStatus === "IN_PROGRESS" ? undefined : got;
          },
          { ...WAIT, message: "the import" },
        );
        assert.equal(done.ImportStatus, "COMPLETED");
        assert.equal(done.ImportStatistics?.EventsCompleted, imported.length);
        assert.equal(done.ImportStatistics?.FailedEntries, 1);
        const importedRow = await countsReach(onThird, eds, imported.length, "cluster-lake-import");
        assert.deepEqual(importedRow, [String(imported.length), String(imported.length)]);

        // A holder that died mid-import leaves it IN_PROGRESS: the holder runs it again from the
        // beginning, and the de-duplication keys keep every record once.
        await markInProgress(engines.database.url, started.ImportId!);
        const rerun = await pollUntil(
          async () => {
            const got = await onThird.send(new GetImportCommand({ ImportId: started.ImportId }));
            return got.ImportStatus === "IN_PROGRESS" ? undefined : got;
          },
          { ...WAIT, message: "the import run again" },
        );
        assert.equal(rerun.ImportStatus, "COMPLETED");
        assert.equal(rerun.ImportStatistics?.FilesCompleted, 2, "the rerun read the files again");
        assert.equal(rerun.ImportStatistics?.EventsCompleted, imported.length, "what the runs added, counted once");
        assert.equal(rerun.ImportStatistics?.FailedEntries, 1);
        // The rerun's failure replaces the first run's: listed once, and the pages agree with FailedEntries.
        const failures = await onSurvivor.send(
          new ListImportFailuresCommand({ ImportId: started.ImportId, MaxResults: 1 }),
        );
        assert.deepEqual(
          failures.Failures?.map((failure) => [failure.Location, failure.ErrorType]),
          [[`s3://cluster-archive/${bad}`, "malformed-json"]],
        );
        assert.equal(failures.NextToken, undefined);
        const { id: after } = await runQuery(onThird, countSql(eds, "cluster-lake-import"));
        assert.deepEqual(await resultRow(onThird, after), importedRow, "nothing doubled by the rerun");
      } finally {
        onThird.destroy();
      }
    } finally {
      onSurvivor.destroy();
    }
  });
});
