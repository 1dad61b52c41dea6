import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import { pollUntil } from "../helpers/poll.js";
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from "../helpers/server-process.js";

const missing = clusterEnginesMissingReason("cluster /health tests");

/** Generous: a check answers within its bound (3 s database, 5 s journal) plus the 1 s cache, on a loaded machine. */
const CHANGE_WAIT = { timeoutMs: 60_000, intervalMs: 250 };

interface Health {
  status: string;
  reasons: Array<{ code: string; message: string }>;
  mode: string;
  nodeId: string;
  role: { leasesHeld: string[] };
  journal: { writable: boolean };
  database?: { reachable: boolean };
}

async function health(node: ServerProcess): Promise<{ body: Health; text: string }> {
  const response = await fetch(`${node.url}/health`);
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return { body: JSON.parse(text) as Health, text };
}

async function readyStatus(node: ServerProcess): Promise<number> {
  const response = await fetch(`${node.url}/health/ready`);
  await response.arrayBuffer();
  return response.status;
}

/** Waits until /health has (or no longer has) the reason `code`, and /health/ready answers `ready`. */
async function waitFor(node: ServerProcess, code: string, present: boolean, ready: number): Promise<Health> {
  let last = "";
  return pollUntil(
    async () => {
      const { body, text } = await health(node);
      last = text;
      const has = body.reasons.some((reason) => reason.code === code);
      return has === present && (await readyStatus(node)) === ready && body;
    },
    { ...CHANGE_WAIT, message: () => `/health ${present ? "with" : "without"} ${code}, ready ${ready}: ${last}` },
  );
}

describe("cluster /health: database and journal reachability on a real node", { skip: missing }, () => {
  let engines: ClusterEngines;
  let node: ServerProcess;
  let dir: string;

  before(async () => {
    engines = await startClusterEngines();
    dir = makeDataDir("cairn-cluster-health-");
    node = await startServerProcess({ dataDir: join(dir, "node"), env: engines.nodeEnv("health-node") });
  });
  after(async () => {
    await node?.stop();
    await engines?.stop();
    if (dir !== undefined) removeDataDir(dir);
  });

  it("names the mode, the node and its leases, and says the database is reachable", async () => {
    const body = await waitFor(node, "database_unreachable", false, 200);
    assert.equal(body.mode, "cluster");
    assert.equal(body.nodeId, "health-node");
    assert.equal(body.database?.reachable, true);
    assert.equal(body.journal.writable, true);
    // The only node holds the journal retention job's lease (it runs at start).
    const held = await pollUntil(
      async () => (await health(node)).body.role.leasesHeld.includes("job:journal-retention") && true,
      CHANGE_WAIT,
    );
    assert.ok(held);
  });

  it("is degraded with database_unreachable and not ready while PostgreSQL is stopped, and recovers without a node restart", async () => {
    await engines.postgres.restart({
      whileDown: async () => {
        const body = await waitFor(node, "database_unreachable", true, 503);
        assert.equal(body.status, "degraded");
        assert.equal(body.database?.reachable, false);
        const { text } = await health(node);
        // Unauthenticated: nothing of the database's address or credentials.
        const url = new URL(engines.database.url);
        for (const secret of [decodeURIComponent(url.password), url.host, engines.database.name])
          assert.ok(!text.includes(secret), `/health shows ${secret === url.host ? "the host" : "a secret"}`);
      },
    });
    const body = await waitFor(node, "database_unreachable", false, 200);
    assert.equal(body.database?.reachable, true);
  });

  it("is degraded with journal_unwritable and not ready while nats-server is stopped or paused, and recovers", async () => {
    const [name] = engines.nats.names;
    await engines.nats.restart(name!, {
      whileDown: async () => {
        const body = await waitFor(node, "journal_unwritable", true, 503);
        assert.equal(body.journal.writable, false);
      },
    });
    assert.equal((await waitFor(node, "journal_unwritable", false, 200)).journal.writable, true);
    engines.nats.pause(name!);
    try {
      // A paused server keeps its sockets open: only the check's own bound ends the wait.
      assert.equal((await waitFor(node, "journal_unwritable", true, 503)).journal.writable, false);
    } finally {
      engines.nats.resume(name!);
    }
    assert.equal((await waitFor(node, "journal_unwritable", false, 200)).journal.writable, true);
  });
});
