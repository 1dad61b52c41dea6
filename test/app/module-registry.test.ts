import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateEventDataStoreCommand, CreateTrailCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { ModuleRegistry, type CairnModule, type ModuleContext } from "../../src/app/registry.js";
import type { ConsumerStatus } from "../../src/consumers/consumer.js";
import { openFileJournal, type Journal } from "../../src/journal/index.js";
import { LocalLeaseStore } from "../../src/stores/lease/index.js";
import { lakeClient } from "../lake/lake-client.js";
import { removeDataDir, startServerProcess, type ServerProcess } from "../helpers/server-process.js";

const HOUR_MS = 3_600_000;

/** A module with one consumer whose cursor the test sets, like a Lake writer or a trail that fell behind. */
function consumerModule(name: string, cursor: { value: number }): CairnModule {
  const status = (): ConsumerStatus => ({ name, cursor: cursor.value, neededFromSeq: cursor.value + 1 });
  return { name, start: async () => ({ consumers: () => [status()], close: async () => undefined }) };
}

async function appendEntries(journal: Journal, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await journal.append([{ json: JSON.stringify({ eventID: `e${i}` }) }]);
}

describe("ModuleRegistry: journal retention and /health come from the same registered consumers", () => {
  let directory: string;
  let journal: Journal;
  let nowMs = Date.UTC(2026, 11, 6);
  const clock = { nowMs: () => nowMs };

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), "cairn-registry-"));
    // One-byte segments: each append rolls, so retention can delete entry by entry.
    journal = await openFileJournal({ directory, clock, segmentBytesMax: 1 });
  });
  after(async () => {
    await journal.close();
    await rm(directory, { recursive: true, force: true });
  });

  // The registry itself uses only these three; the test modules use none.
  function context(): ModuleContext {
    return {
      journal,
      clock,
      onInternalError: (error: unknown) => assert.fail(String(error)),
    } as unknown as ModuleContext;
  }

  it("keeps every entry a lagging consumer of any module has not applied, and reports that consumer", async () => {
    await appendEntries(journal, 10);
    const fast = { value: 10 };
    const slow = { value: 4 };
    const registry = await ModuleRegistry.start(
      [consumerModule("fast", fast), consumerModule("slow", slow)],
      context(),
      {
        leases: new LocalLeaseStore(clock),
        nodeId: "test",
        journalRetentionMs: HOUR_MS,
      },
    );
    nowMs += 2 * HOUR_MS;
    await registry.applyJournalRetention();
    assert.equal(journal.firstSeq(), 5, "entries after the slow consumer's cursor stay");
    const health = registry.health();
    assert.deepEqual(Object.keys(health.consumers).sort(), ["fast", "slow"]);
    assert.deepEqual(health.consumers["slow"], { cursor: 4, lagRecords: 6 });
    slow.value = 8;
    await registry.applyJournalRetention();
    assert.equal(journal.firstSeq(), 9);
    await registry.close();
  });

  it("keeps entries younger than the retention period even when every consumer has them", async () => {
    await appendEntries(journal, 3);
    const cursor = { value: journal.headSeq() };
    const registry = await ModuleRegistry.start([consumerModule("done", cursor)], context(), {
      leases: new LocalLeaseStore(clock),
      nodeId: "test",
      journalRetentionMs: HOUR_MS,
    });
    await registry.applyJournalRetention();
    assert.equal(journal.firstSeq(), journal.headSeq() - 2, "the three young entries stay; older applied ones go");
    await registry.close();
  });

  it("runs a job only on the node that holds its lease", async () => {
    const leases = new LocalLeaseStore(clock);
    const runs: string[] = [];
    const jobModule = (node: string): CairnModule => ({
      name: "job",
      start: async () => ({
        jobs: [{ name: "sweep", intervalMs: 60_000, runAtStart: true, run: async () => void runs.push(node) }],
        close: async () => undefined,
      }),
    });
    const options = { leases, journalRetentionMs: HOUR_MS };
    const first = await ModuleRegistry.start([jobModule("a")], context(), { ...options, nodeId: "a" });
    const second = await ModuleRegistry.start([jobModule("b")], context(), { ...options, nodeId: "b" });
    first.startJobs();
    await first.stopJobs();
    const held = await leases.acquire("job:sweep", "a", 60_000);
    second.startJobs();
    await second.stopJobs();
    assert.deepEqual(runs, ["a"], "node b skipped its turn while node a held the lease");
    await leases.release(held!);
    await first.close();
    await second.close();
  });

  it("reports the leases its modules and its jobs hold as one list", async () => {
    let ran: () => void = () => undefined;
    const didRun = new Promise<void>((resolve) => (ran = resolve));
    const leased: CairnModule = {
      name: "leased",
      start: async () => ({
        leasesHeld: () => ["trail-delivery:arn:x"],
        jobs: [{ name: "sweep", intervalMs: 60_000, runAtStart: true, run: async () => ran() }],
        close: async () => undefined,
      }),
    };
    const registry = await ModuleRegistry.start([leased], context(), {
      leases: new LocalLeaseStore(clock),
      nodeId: "a",
      journalRetentionMs: HOUR_MS,
    });
    assert.deepEqual(registry.leasesHeld(), ["trail-delivery:arn:x"]);
    registry.startJobs();
    await didRun;
    const held = registry.leasesHeld();
    assert.deepEqual(
      held.filter((name) => name !== "job:journal-retention"),
      ["job:sweep", "trail-delivery:arn:x"],
    );
    await registry.stopJobs();
    assert.deepEqual(registry.leasesHeld(), ["trail-delivery:arn:x"], "stopping gives the job leases up");
    await registry.close();
  });

  it("refuses two modules that register the same operation", async () => {
    const handler = async () => ({ output: {} });
    const owning = (name: string): CairnModule => ({
      name,
      start: async () => ({ operations: [["ListTrails", handler]], close: async () => undefined }),
    });
    const registry = await ModuleRegistry.start([owning("trails"), owning("copy")], context(), {
      leases: new LocalLeaseStore(clock),
      nodeId: "test",
      journalRetentionMs: HOUR_MS,
    });
    assert.throws(() => registry.operations(), /ListTrails \(the second: copy\)/);
    await registry.close();
  });

  it("in cluster mode, refuses a module whose consumers journal retention could not see, and closes it", async () => {
    let closed = false;
    const local: CairnModule = {
      name: "detector",
      start: async () => ({
        consumers: () => [{ name: "detector", cursor: 3, neededFromSeq: 4 }],
        close: async () => void (closed = true),
      }),
    };
    await assert.rejects(
      ModuleRegistry.start([local], context(), {
        leases: new LocalLeaseStore(clock),
        nodeId: "test",
        journalRetentionMs: HOUR_MS,
        clusterWide: true,
      }),
      /detector reports journal consumers but no clusterFloor/,
    );
    assert.equal(closed, true);
  });

  it("closes the modules it started when a later one fails to start", async () => {
    const closed: string[] = [];
    const ok: CairnModule = { name: "ok", start: async () => ({ close: async () => void closed.push("ok") }) };
    const broken: CairnModule = {
      name: "broken",
      start: async () => {
        throw new Error("cannot open");
      },
    };
    await assert.rejects(
      ModuleRegistry.start([ok, broken], context(), {
        leases: new LocalLeaseStore(clock),
        nodeId: "test",
        journalRetentionMs: HOUR_MS,
      }),
      /cannot open/,
    );
    assert.deepEqual(closed, ["ok"]);
  });
});

describe("GET /health of a running server lists every registered consumer", () => {
  let server: ServerProcess;

  before(async () => {
    server = await startServerProcess();
  });
  after(async () => {
    await server.stop();
    removeDataDir(server.dataDir);
  });

  type Consumers = Record<string, { cursor: number; lagRecords: number; lagSeconds: number }>;

  async function health(): Promise<{ consumers: Consumers }> {
    const response = await fetch(`${server.url}/health`);
    assert.equal(response.status, 200);
    return (await response.json()) as { consumers: Consumers };
  }

  it("says ok with no reasons, and ready, on a fresh server", async () => {
    const body = (await (await fetch(`${server.url}/health`)).json()) as Record<string, unknown>;
    assert.equal(body["status"], "ok");
    assert.deepEqual(body["reasons"], []);
    assert.deepEqual(body["quarantine"], { records: 0 });
    assert.equal(body["mode"], "embedded");
    assert.equal(body["nodeId"], "embedded");
    assert.ok(!("database" in body), "no database to reach in embedded mode");
    assert.equal((body["journal"] as { writable: boolean }).writable, true);
    const ready = await fetch(`${server.url}/health/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: "ready" });
  });

  it("reports event history, EventBridge rules, Insights, the Lake writer, Sigma, and each logging trail's delivery consumer", async () => {
    assert.deepEqual(Object.keys((await health()).consumers).sort(), [
      "event-history",
      "event-rules",
      "insights",
      "lake-writer",
      "sigma",
    ]);
    const client = lakeClient(server.url);
    await client.send(new CreateEventDataStoreCommand({ Name: "all" }));
    const trail = await client.send(new CreateTrailCommand({ Name: "audit", S3BucketName: "audit-bucket" }));
    await client.send(new StartLoggingCommand({ Name: "audit" }));
    const expected = [
      "event-history",
      "event-rules",
      "insights",
      "lake-writer",
      "sigma",
      `trail-delivery:${trail.TrailARN}`,
    ];
    // The trail's consumer starts as soon as the trail store reports the change, not within the call.
    let consumers = (await health()).consumers;
    for (let waited = 0; Object.keys(consumers).length < expected.length && waited < 10_000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      consumers = (await health()).consumers;
    }
    assert.deepEqual(Object.keys(consumers).sort(), expected);
    for (const [name, status] of Object.entries(consumers)) {
      assert.ok(Number.isInteger(status.cursor) && status.cursor >= 0, `${name} has a cursor`);
      assert.ok(Number.isInteger(status.lagRecords) && status.lagRecords >= 0, `${name} has a lag`);
      assert.ok(Number.isInteger(status.lagSeconds) && status.lagSeconds >= 0, `${name} has a lag in seconds`);
    }
  });
});
