import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { LocalLeaseStore, openPostgresLeaseStore, type LeaseStore } from "../../src/stores/lease/index.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import { pollUntil } from "../helpers/poll.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { leaseStoreContractSuite } from "./lease-store.suite.js";

leaseStoreContractSuite("LocalLeaseStore", async () => {
  let nowMs = 1_700_000_000_000;
  const store = new LocalLeaseStore({ nowMs: () => nowMs });
  return {
    store,
    openPeer: async () => store,
    advanceMs: (ms) => void (nowMs += ms),
    cleanup: async () => undefined,
  };
});

const postgresMissing = postgresMissingReason();

describe("PostgreSQL lease store", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  /** One database per node, as two Cairn nodes would each open their own pool. */
  async function nodes(
    count: number,
  ): Promise<{ stores: LeaseStore[]; dbs: PostgresDatabase[]; done(): Promise<void> }> {
    const database = await server.createDatabase();
    const dbs = Array.from({ length: count }, () => openPostgresDatabase({ url: database.url }));
    const stores: LeaseStore[] = [];
    for (const db of dbs) stores.push(await openPostgresLeaseStore(db));
    return {
      stores,
      dbs,
      async done() {
        for (const store of stores) await store.close();
        for (const db of dbs) await db.close();
        await database.drop();
      },
    };
  }

  leaseStoreContractSuite("PostgreSQL", async () => {
    const opened = await nodes(2);
    const [store, peer] = opened.stores;
    return {
      store: store!,
      openPeer: async () => peer!,
      // Time as the database judges it: every lease's expiry moves closer by `ms`.
      advanceMs: async (ms) => {
        await opened.dbs[0]!.query("UPDATE cairn_leases SET expires_at = expires_at - $1 * interval '1 millisecond'", [
          ms,
        ]);
      },
      cleanup: () => opened.done(),
    };
  });

  describe("PostgreSQL lease store specifics", () => {
    it("lets a lease lapse on the database's own clock, then passes it on with a greater token", async () => {
      const { stores, done } = await nodes(2);
      try {
        const first = await stores[0]!.acquire("lapsing", "node-a", 300);
        assert.ok(first);
        const second = await pollUntil(() => stores[1]!.acquire("lapsing", "node-b", 60_000), {
          intervalMs: 50,
          message: "the 300 ms lease to lapse",
        });
        assert.ok(second.fencingToken > first.fencingToken);
        assert.equal(await stores[0]!.renew(first, 300), undefined);
      } finally {
        await done();
      }
    });

    it("keeps tokens growing across releases and re-acquisitions by the same holder", async () => {
      const { stores, done } = await nodes(1);
      try {
        const tokens: number[] = [];
        for (let round = 0; round < 4; round++) {
          const grant = await stores[0]!.acquire("cycled", "node-a", 60_000);
          tokens.push(grant!.fencingToken);
          await stores[0]!.release(grant!);
        }
        assert.deepEqual(
          tokens,
          [...tokens].sort((a, b) => a - b),
        );
        assert.equal(new Set(tokens).size, tokens.length, "every grant after a release has a new token");
      } finally {
        await done();
      }
    });

    it("refuses a TTL that is not a positive whole number of ms, and every call once closed", async () => {
      const { stores, done } = await nodes(1);
      try {
        for (const ttl of [0, -5, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2])
          await assert.rejects(stores[0]!.acquire("ttl", "node-a", ttl), RangeError, String(ttl));
        const longest = await stores[0]!.acquire("ttl", "node-a", Number.MAX_SAFE_INTEGER);
        assert.ok(longest, "a job's interval × 3 of any length is a TTL");
        await stores[0]!.close();
        await assert.rejects(stores[0]!.acquire("ttl", "node-a", 1_000), /closed/);
      } finally {
        await done();
      }
    });
  });
});
