import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import { assertCleanAnswers, ClusterLoad, lookupCounts, markedRecord } from "../helpers/cluster-load.js";
import { ClusterNodes } from "../helpers/cluster-nodes.js";
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, type ServerProcess } from "../helpers/server-process.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";

const missing = clusterEnginesMissingReason("cluster fault tests");
const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };

/** The schema a database holds: the migration records, tables, columns and indexes, in a stable order. */
async function schemaOf(url: string): Promise<{ versions: string[]; objects: string[] }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const versions = await client.query<{ row: string }>(
      "SELECT component || ' ' || version || ' ' || name AS row FROM cairn_schema_versions ORDER BY component, version",
    );
    const objects = await client.query<{ row: string }>(
      `SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type AS row
         FROM information_schema.columns WHERE table_schema = 'public'
       UNION ALL
       SELECT 'index ' || tablename || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
       ORDER BY 1`,
    );
    return { versions: versions.rows.map((r) => r.row), objects: objects.rows.map((r) => r.row) };
  } finally {
    await client.end();
  }
}

/** Asserts each component's migration records are 1, 2, 3… with no gap: every step recorded once. */
function assertDenseVersions(versions: readonly string[]): void {
  const byComponent = new Map<string, number[]>();
  for (const row of versions) {
    const [component, version] = row.split(" ");
    byComponent.set(component!, [...(byComponent.get(component!) ?? []), Number(version)]);
  }
  assert.ok(byComponent.size >= 5, `the stores' components recorded: ${[...byComponent.keys()].join(", ")}`);
  for (const [component, list] of byComponent)
    assert.deepEqual(
      list,
      list.map((_, i) => i + 1),
      `${component}'s steps`,
    );
}

describe("cluster mode: nodes started together, and reads across nodes", { skip: missing }, () => {
  let engines: ClusterEngines;
  let cluster: ClusterNodes;

  before(async () => {
    engines = await startClusterEngines();
    cluster = new ClusterNodes(engines);
  });
  after(async () => {
    await cluster?.cleanup();
    await engines?.stop();
  });

  /** A node on `databaseUrl` and its own journal stream `stream`. */
  const startNode = (nodeId: string, databaseUrl: string, stream: string): Promise<ServerProcess> =>
    cluster.start(nodeId, { CAIRN_DATABASE_URL: databaseUrl, CAIRN_JOURNAL_STREAM: stream });

  async function stopAll(nodes: readonly ServerProcess[]): Promise<void> {
    for (const node of nodes) await cluster.stop(node);
  }

  it("three nodes started at once on an empty database all start, and create the schema once", async () => {
    const together = await engines.postgres.createDatabase();
    const alone = await engines.postgres.createDatabase();
    try {
      const started = await Promise.allSettled(
        ["mig-a", "mig-b", "mig-c"].map((id) => startNode(id, together.url, "cairn-migrate-together")),
      );
      const nodes = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
      const failures = started.flatMap((result) => (result.status === "rejected" ? [String(result.reason)] : []));
      await stopAll(nodes);
      assert.deepEqual(failures, [], "every node started");

      // The same release started alone on another empty database: what one migration run creates.
      await stopAll([await startNode("mig-alone", alone.url, "cairn-migrate-alone")]);
      const [concurrent, single] = [await schemaOf(together.url), await schemaOf(alone.url)];
      assertDenseVersions(concurrent.versions);
      assert.deepEqual(concurrent.versions, single.versions, "each step recorded once, as by a single node");
      assert.deepEqual(concurrent.objects, single.objects, "the same tables, columns and indexes");
    } finally {
      await together.drop();
      await alone.drop();
    }
  });

  it("an event acknowledged by one node is found by LookupEvents on another right after, under load, and a NextToken works on any node", async () => {
    const stream = "cairn-read-your-writes";
    const [a, b] = (await cluster.startAll(["ryw-a", "ryw-b"], { CAIRN_JOURNAL_STREAM: stream })) as [
      ServerProcess,
      ServerProcess,
    ];
    // Background load through both nodes keeps their indexers busy while the probes below run.
    const load = new ClusterLoad({
      nodes: () => [a, b],
      marker: `RywLoad${randomBytes(4).toString("hex")}`,
      ingestClients: 2,
      batchSize: 20,
    });
    try {
      await load.acknowledgedAtLeast(200);
      for (let probe = 0; probe < 20; probe++) {
        const [writer, reader] = probe % 2 === 0 ? [a, b] : [b, a];
        const marker = `Ryw${probe}x${randomBytes(4).toString("hex")}`;
        const record = markedRecord(marker);
        const ingested = await sendRaw(writer.url, ingestCall([record], admin));
        assert.equal(ingested.status, 200, ingested.text);
        const found = await lookupCounts(reader, marker);
        assert.deepEqual([...found], [[record["eventID"], 1]], `probe ${probe}: written on ${writer.url}`);
      }

      const paged = `RywPaged${randomBytes(4).toString("hex")}`;
      const records = Array.from({ length: 7 }, () => markedRecord(paged));
      assert.equal((await sendRaw(a.url, ingestCall(records, admin))).status, 200);
      const pages = await lookupCounts(a, paged, { pageSize: 2, pageNodes: [a, b] });
      assert.deepEqual(
        [...pages].sort(),
        records.map((record) => [record["eventID"], 1]).sort(),
        "four pages read alternately from both nodes list each event once",
      );

      // A node started after the acknowledgement sees it in its very first lookup.
      const late = `RywLate${randomBytes(4).toString("hex")}`;
      const lateRecord = markedRecord(late);
      assert.equal((await sendRaw(b.url, ingestCall([lateRecord], admin))).status, 200);
      const c = await startNode("ryw-c", engines.database.url, stream);
      assert.deepEqual([...(await lookupCounts(c, late))], [[lateRecord["eventID"], 1]]);
    } finally {
      await load.stop();
      process.stdout.write(`# read-your-writes background load: ${load.summary()}\n`);
      await stopAll([...cluster.live]);
    }
    assertCleanAnswers(load.tally);
    assert.deepEqual(cluster.deaths, [], "no node died on its own");
  });
});
