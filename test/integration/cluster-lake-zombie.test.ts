import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { CreateEventDataStoreCommand } from "@aws-sdk/client-cloudtrail";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import { countsReach, countSql, health, ingest, resultRow, runQuery, WAIT } from "../helpers/cluster-lake.js";
import { pollUntil } from "../helpers/poll.js";
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from "../helpers/server-process.js";
import { lakeClient } from "../lake/lake-client.js";

const missing = clusterEnginesMissingReason("cluster Lake zombie tests");

/**
 * The zombie case of the cluster notes: the lake-writer lease holder is paused (SIGSTOP) past its
 * lease, another node takes the Lake writer over, then the paused node wakes up (SIGCONT) with its
 * buffer and timers as they were. It must not commit (its fence refuses) and must stop its writer.
 */
describe("cluster mode: a paused Lake writer that wakes up after losing its lease", { skip: missing }, () => {
  let engines: ClusterEngines;
  const dirs: string[] = [];
  const nodes: ServerProcess[] = [];

  before(async () => (engines = await startClusterEngines()));
  after(async () => {
    for (const node of nodes) {
      node.child.kill("SIGCONT");
      await node.stop().catch(() => undefined);
    }
    await engines?.stop();
    dirs.forEach(removeDataDir);
  });

  const start = async (nodeId: string): Promise<ServerProcess> => {
    const dir = makeDataDir(`cairn-cluster-zombie-${nodeId}-`);
    dirs.push(dir);
    const node = await startServerProcess({
      dataDir: join(dir, "node"),
      env: engines.nodeEnv(nodeId, { CAIRN_LAKE_FLUSH_INTERVAL_MS: "100" }),
    });
    nodes.push(node);
    return node;
  };

  it("SIGSTOP the holder, the other node takes over, SIGCONT: every acknowledged event exactly once", async () => {
    const first = await start("zombie-a");
    const second = await start("zombie-b");
    const onFirst = lakeClient(first.url);
    const created = await onFirst.send(new CreateEventDataStoreCommand({ Name: "zombie" }));
    onFirst.destroy();
    const eds = created.EventDataStoreArn!.split("/")[1]!;
    const holds = async (node: ServerProcess): Promise<boolean> => (await health(node)).lake?.lakeWriterLease === true;
    const [zombie, survivor] = (await pollUntil(
      async () => ((await holds(first)) ? [first, second] : (await holds(second)) ? [second, first] : undefined),
      { ...WAIT, message: "a lake-writer lease holder" },
    ))!;
    const ids = await ingest(survivor, 3, 100);
    zombie.child.kill("SIGSTOP");
    ids.push(...(await ingest(survivor, 3, 100)));
    await pollUntil(async () => (await holds(survivor)) || undefined, { ...WAIT, message: "the takeover" });
    ids.push(...(await ingest(survivor, 2, 100)));
    zombie.child.kill("SIGCONT");
    await pollUntil(async () => !(await holds(zombie)) || undefined, { ...WAIT, message: "the zombie to step down" });
    ids.push(...(await ingest(zombie, 2, 100)));

    const onSurvivor = lakeClient(survivor.url);
    const onZombie = lakeClient(zombie.url);
    try {
      const row = await countsReach(onSurvivor, eds, ids.length);
      assert.deepEqual(row, [String(ids.length), String(ids.length)], "every acknowledged event exactly once");
      const again = await runQuery(onZombie, countSql(eds));
      assert.equal(again.status, "FINISHED");
      assert.deepEqual(await resultRow(onZombie, again.id), row, "the woken node reads the same Lake");
      assert.equal(await holds(survivor), true, "the lease stayed with the node that took it over");
      assert.match(zombie.output(), /stopped the Lake writer/);
    } finally {
      onSurvivor.destroy();
      onZombie.destroy();
    }
  });
});
