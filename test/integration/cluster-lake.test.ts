import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import {
  CreateEventDataStoreCommand,
  DescribeQueryCommand,
  GetQueryResultsCommand,
  StartQueryCommand,
  type CloudTrailClient,
} from "@aws-sdk/client-cloudtrail";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import { pollUntil } from "../helpers/poll.js";
import { recentRecords } from "../helpers/sample-records.js";
import {
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCOUNT_ID,
  type ServerProcess,
} from "../helpers/server-process.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { admin, lakeClient } from "../lake/lake-client.js";

const missing = clusterEnginesMissingReason("cluster Lake tests");
const BUCKET = "cairn-lake";
const AGENT = "cluster-lake-test";
/** A bound against hanging, not a figure under test (lease TTL, flush and compaction on a loaded box). */
const WAIT = { timeoutMs: 90_000, intervalMs: 250 };

/** Ingests `batches` × `size` events tagged with AGENT on `node`; returns their eventIDs (acknowledged). */
async function ingest(node: ServerProcess, batches: number, size: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < batches; i++) {
    const records: Array<Record<string, unknown>> = recentRecords(size, {
      accountId: TEST_ACCOUNT_ID,
      spreadMs: 60_000,
    }).map((r) => ({
      ...r,
      userAgent: AGENT,
    }));
    const response = await sendRaw(node.url, ingestCall(records, admin, { gzip: true }));
    assert.equal(response.status, 200, response.text);
    ids.push(...records.map((r) => String(r["eventID"])));
  }
  return ids;
}

/** StartQuery on `client`, polled to its end; the query id and its status. */
async function runQuery(client: CloudTrailClient, sql: string): Promise<{ id: string; status: string }> {
  const { QueryId } = await client.send(new StartQueryCommand({ QueryStatement: sql }));
  const status = await pollUntil(
    async () => {
      const d = await client.send(new DescribeQueryCommand({ QueryId }));
      return d.QueryStatus === "QUEUED" || d.QueryStatus === "RUNNING" ? undefined : d.QueryStatus;
    },
    { ...WAIT, message: `query ${QueryId}` },
  );
  return { id: QueryId!, status: status! };
}

/** The one row of a finished query, read through `client` (any node). */
async function resultRow(client: CloudTrailClient, id: string): Promise<string[]> {
  const page = await client.send(new GetQueryResultsCommand({ QueryId: id }));
  assert.equal(page.QueryStatus, "FINISHED");
  return (page.QueryResultRows ?? [])[0]!.map((cell) => Object.values(cell)[0]!);
}

const countSql = (eds: string): string =>
  `SELECT count(*), count(DISTINCT eventID) FROM ${eds} WHERE userAgent = '${AGENT}'`;

/** Both counts on `client` once they reach `expected` (the writer flushes every 100 ms). */
async function countsReach(client: CloudTrailClient, eds: string, expected: number): Promise<string[]> {
  return pollUntil(
    async () => {
      const { id, status } = await runQuery(client, countSql(eds));
      assert.equal(status, "FINISHED");
      const row = await resultRow(client, id);
      return Number(row[0]) >= expected ? row : undefined;
    },
    { ...WAIT, message: `${expected} events in the Lake` },
  );
}

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

async function health(
  node: ServerProcess,
): Promise<{ lake?: { lakeWriterLease?: boolean; compaction?: { merges: number } } }> {
  return (await (await fetch(`${node.url}/health`)).json()) as never;
}

describe("cluster mode: the Lake on S3, served by every node", { skip: missing }, () => {
  let engines: ClusterEngines;
  let s3: S3Client;
  const dirs: string[] = [];
  const nodes: ServerProcess[] = [];

  before(async () => {
    engines = await startClusterEngines();
    s3 = new S3Client({
      endpoint: engines.moto.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    });
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
    }
  });
});
