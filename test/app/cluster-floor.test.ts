import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { trailsClusterFloor } from "../../src/app/modules/cluster-modules.js";
import { ModuleRegistry, type CairnModule, type ModuleContext } from "../../src/app/registry.js";
import {
  PostgresEventHistory,
  startPostgresEventHistory,
} from "../../src/consumers/event-history/postgres-event-history.js";
import { openFileJournal, type Journal } from "../../src/journal/index.js";
import { openPostgresLakeCatalog, type LakeCatalog } from "../../src/lake/catalog/index.js";
import { LocalLeaseStore } from "../../src/stores/lease/index.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import {
  emptyDeliveryState,
  openPostgresDeliveryStateStore,
  openPostgresTrailStore,
  type DeliveryState,
  type PostgresDeliveryStateStore,
  type PostgresTrailStore,
  type TrailConfig,
} from "../../src/stores/trails/index.js";
import { trailConfig } from "../consumers/trails/harness.js";
import { pollUntil } from "../helpers/poll.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { samplesBackFrom } from "../event-history/fixtures.js";

const HOUR_MS = 3_600_000;

/** One database with the stores whose positions make the cluster floor, as every node sees them. */
interface Stores {
  readonly db: PostgresDatabase;
  readonly trails: PostgresTrailStore;
  readonly states: PostgresDeliveryStateStore;
  readonly lake: LakeCatalog;
}

function stateOf(trailArn: string, fields: Partial<DeliveryState>): DeliveryState {
  return { ...emptyDeliveryState(trailArn), ...fields };
}

describe("cluster journal retention floor on PostgreSQL", { skip: postgresMissingReason() }, () => {
  let server: PostgresServer;
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => (server = await startPostgresServer()));
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await server?.stop();
  });

  async function openStores(): Promise<Stores> {
    const database = await server.createDatabase();
    const db = openPostgresDatabase({ url: database.url });
    const trails = await openPostgresTrailStore(db);
    const states = await openPostgresDeliveryStateStore(db);
    const lake = await openPostgresLakeCatalog(db);
    cleanups.push(async () => {
      await trails.close();
      await db.close();
      await database.drop();
    });
    return { db, trails, states, lake };
  }

  async function openJournal(clock: { nowMs(): number }): Promise<Journal> {
    const directory = await mkdtemp(join(tmpdir(), "cairn-cluster-floor-"));
    // One-byte segments: each append rolls, so retention can delete entry by entry.
    const journal = await openFileJournal({ directory, clock, segmentBytesMax: 1 });
    cleanups.push(async () => {
      await journal.close();
      await rm(directory, { recursive: true, force: true });
    });
    return journal;
  }

  it("trails: each logging or undrained trail from its saved position, never below where it started", async () => {
    const stores = await openStores();
    const put = (trail: TrailConfig) => stores.trails.put(trail);
    const floor = () => trailsClusterFloor({ trails: stores.trails, deliveryStates: stores.states });
    assert.equal(await floor(), Infinity, "no trail, no floor");

    await put(trailConfig({ name: "never-started", isLogging: false, deliverFromSeq: undefined }));
    const drained = trailConfig({ name: "drained", isLogging: false, deliverFromSeq: 5, deliverUntilSeq: 20 });
    await put(drained);
    await stores.states.save(stateOf(drained.trailArn, { cursor: 21, drainedUntilSeq: 20 }));
    assert.equal(await floor(), Infinity, "a trail never started and a stopped one whose drain finished need nothing");

    const delivered = trailConfig({ name: "delivered", deliverFromSeq: 10 });
    await put(delivered);
    await stores.states.save(stateOf(delivered.trailArn, { cursor: 80 }));
    assert.equal(await floor(), 81, "a delivering trail holds what follows its durable cursor");

    const fresh = trailConfig({ name: "fresh", deliverFromSeq: 60 });
    await put(fresh);
    // Claimed by a node's fenced load and never saved: the row has no state yet.
    await stores.states.load(fresh.trailArn, { fencingToken: 1 });
    assert.equal(await floor(), 60, "a trail that never delivered holds from the seq its logging started at");

    const planned = trailConfig({ name: "planned", deliverFromSeq: 55 });
    await put(planned);
    const intent = { toSeq: 58, plannedAtMs: 1, files: [] };
    await stores.states.save(stateOf(planned.trailArn, { cursor: 40, intent }));
    assert.equal(await floor(), 41, "a saved plan keeps what follows the cursor: its files are re-put from there");

    const stopped = trailConfig({ name: "stopped", isLogging: false, deliverFromSeq: 1, deliverUntilSeq: 90 });
    await put(stopped);
    await stores.states.save(stateOf(stopped.trailArn, { cursor: 30 }));
    assert.equal(await floor(), 31, "a stopped trail whose drain no node finished holds from its cursor");

    await stores.states.save(stateOf(stopped.trailArn, { cursor: 91, drainedUntilSeq: 90 }));
    assert.equal(await floor(), 41, "once drained it no longer holds");

    // Started again before the drain of its stop finished: the stop's entries are still owed.
    const restarted = trailConfig({ name: "restarted", deliverFromSeq: 100, deliverUntilSeq: 70 });
    await put(restarted);
    await stores.states.save(stateOf(restarted.trailArn, { cursor: 35 }));
    assert.equal(await floor(), 36, "a trail started again holds from its cursor until the old drain is done");
    await stores.states.save(stateOf(restarted.trailArn, { cursor: 120 }));
    assert.equal(await floor(), 41, "its new session's deliveries move it on");

    // Deleted while logging (its holder dead): gone from every list, still owed its last events.
    const deleted = trailConfig({ name: "deleted", deliverFromSeq: 12 });
    await put(deleted);
    await stores.states.save(stateOf(deleted.trailArn, { cursor: 25 }));
    await stores.trails.delete(deleted.accountId, deleted.name, { journalHeadSeq: 130 });
    assert.equal(await stores.trails.get(deleted.accountId, deleted.name), undefined);
    assert.equal(await floor(), 26, "a deleted trail holds from its cursor until its drain is recorded");
    await put(trailConfig({ name: "deleted", deliverFromSeq: 140, createdAtMs: 1_800_000_000_000 }));
    assert.equal(await floor(), 26, "a new trail of its name does not release it");
    await stores.states.save({ ...emptyDeliveryState(deleted.trailArn), drainedUntilSeq: 130 });
    assert.equal(await floor(), 41, "drained (the state left empty for the new trail), it holds nothing");
    await stores.trails.forgetDeleted(deleted.trailArn, 130);
    assert.equal(await floor(), 41);
  });

  it("Event history and the Lake writer: the cursors PostgreSQL holds, not the reading node's view", async () => {
    const stores = await openStores();
    const nowMs = Date.UTC(2026, 11, 7);
    const clock = { nowMs: () => nowMs };
    const journal = await openJournal(clock);
    await journal.append(samplesBackFrom(nowMs - 1000, 20, 1000).map((record) => ({ json: JSON.stringify(record) })));
    // Another node indexes: this node's storedCursor() reads what PostgreSQL holds.
    const reader = await PostgresEventHistory.open({ db: stores.db, journal, clock });
    const indexer = await startPostgresEventHistory({ db: stores.db, journal, clock });
    try {
      await pollUntil(async () => (await reader.storedCursor()) === journal.headSeq(), {
        message: "the indexing node to commit its cursor",
      });
      assert.equal(await stores.lake.cursor(), 0, "a Lake writer that never committed holds from 1");
      await stores.lake.commitFiles([], 7);
      assert.equal(await stores.lake.cursor(), 7);
    } finally {
      await indexer.close();
      await reader.close();
    }
  });

  it("a retention run keeps what another node's consumer has not made durable, and deletes nothing when PostgreSQL is down", async () => {
    const stores = await openStores();
    let nowMs = Date.UTC(2026, 11, 7);
    const clock = { nowMs: () => nowMs };
    const journal = await openJournal(clock);
    for (let i = 0; i < 10; i++) await journal.append([{ json: JSON.stringify({ eventID: `e${i}` }) }]);
    // A trail whose lease another node holds: this node runs no consumer for it.
    const remote = trailConfig({ name: "remote", deliverFromSeq: 1 });
    await stores.trails.put(remote);
    await stores.states.save(stateOf(remote.trailArn, { cursor: 4 }));
    await stores.lake.commitFiles([], 7);
    const history = await startPostgresEventHistory({ db: stores.db, journal, clock });
    await pollUntil(async () => (await history.storedCursor()) === 10, { message: "the index to reach the head" });
    const modules: CairnModule[] = [
      {
        name: "trails",
        start: async () => ({
          consumers: () => [],
          clusterFloor: () => trailsClusterFloor({ trails: stores.trails, deliveryStates: stores.states }),
          close: async () => undefined,
        }),
      },
      {
        name: "event-history",
        start: async () => ({
          clusterFloor: async () => (await history.storedCursor()) + 1,
          close: () => history.close(),
        }),
      },
      {
        name: "lake",
        start: async () => ({
          clusterFloor: async () => (await stores.lake.cursor()) + 1,
          close: async () => undefined,
        }),
      },
    ];
    const context = { journal, clock, onInternalError: (error: unknown) => assert.fail(String(error)) };
    const registry = await ModuleRegistry.start(modules, context as unknown as ModuleContext, {
      leases: new LocalLeaseStore(clock),
      nodeId: "a",
      journalRetentionMs: HOUR_MS,
      clusterWide: true,
    });
    try {
      nowMs += 2 * HOUR_MS;
      assert.equal(registry.retentionFloor(), Infinity, "this node alone sees no consumer at all");
      await registry.applyJournalRetention();
      assert.equal(journal.firstSeq(), 5, "the remote trail's undelivered entries stay");

      await stores.states.save(stateOf(remote.trailArn, { cursor: 9 }));
      await registry.applyJournalRetention();
      assert.equal(journal.firstSeq(), 8, "once it delivered them, up to the Lake writer's cursor goes");

      await stores.lake.commitFiles([], 10);
      await server.restart({
        whileDown: async () => {
          await assert.rejects(registry.journalFloor());
          await assert.rejects(registry.applyJournalRetention(), /deleted nothing/);
          assert.equal(journal.firstSeq(), 8, "nothing deleted while PostgreSQL cannot answer");
        },
      });
      await registry.applyJournalRetention();
      assert.equal(journal.firstSeq(), 10, "after the outage the run goes on from the positions PostgreSQL holds");
    } finally {
      await registry.close();
    }
  });
});
