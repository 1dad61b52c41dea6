import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { DuckDBInstance } from "@duckdb/node-api";
import { LakeConsumer } from "../../../src/consumers/lake-writer/lake-consumer.js";
import { StoreRouter } from "../../../src/consumers/lake-writer/store-router.js";
import { openSqliteLakeCatalog, type EventDataStore, type LakeCatalog } from "../../../src/lake/catalog/index.js";
import { openDuck } from "../../../src/lake/engine/query-engine.js";
import type { CloudTrailRecord } from "../../../src/model/record.js";
import { recentRecords } from "../../helpers/sample-records.js";
import { eventDataStoreFixture } from "../../helpers/event-data-store.js";

const ACCOUNT = "123456789012";
const EDS_ID = "0123abcd-0000-4000-8000-0000000000a1";

function store(status: EventDataStore["status"], fromSeq: number): EventDataStore {
  return eventDataStoreFixture({ id: EDS_ID, accountId: ACCOUNT, status, fromSeq });
}

describe("Lake writer routing without a store that could take the record", () => {
  let directory: string;
  let catalog: LakeCatalog;
  let duck: DuckDBInstance;
  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "cairn-store-router-"));
    catalog = await openSqliteLakeCatalog(join(directory, "lake.db"));
    duck = await openDuck(directory);
  });
  afterEach(async () => {
    duck.closeSync();
    await catalog.close();
    await rm(directory, { recursive: true, force: true });
  });

  it("mayTake is false only where liveStoresFor answers nothing for every record", async () => {
    const records = recentRecords(20, { accountId: ACCOUNT }) as unknown as CloudTrailRecord[];
    const router = await StoreRouter.load(catalog);
    const takes = (seq: number): boolean => records.some((record) => router.liveStoresFor(record, seq).length > 0);
    assert.equal(router.mayTake(1), false);
    for (const [status, fromSeq] of [
      ["ENABLED", 10],
      ["CREATED", 0],
      ["STOPPED_INGESTION", 0],
      ["PENDING_DELETION", 0],
    ] as const) {
      await catalog.putStore(store(status, fromSeq));
      await router.reload();
      for (const seq of [1, 10, 11, 500]) {
        // The records are management events of the store's account: taken wherever a store may take them.
        assert.equal(router.mayTake(seq), takes(seq), `${status} from ${fromSeq}, seq ${seq}`);
      }
    }
    await catalog.putStore(store("ENABLED", 10));
    await router.reload();
    assert.deepEqual(
      [10, 11].map((seq) => router.mayTake(seq)),
      [false, true],
    );
  });

  it("moves past entries no store can take without parsing them", async () => {
    const consumer = new LakeConsumer({ catalog, duck, router: await StoreRouter.load(catalog), lakeDir: directory });
    await consumer.loadCursor();
    // Not JSON: any parse would throw. No store exists, so none is attempted and the read position moves.
    await consumer.handle([
      { seq: 1, appendedAtMs: 0, json: "{not json" },
      { seq: 2, appendedAtMs: 0, json: "" },
    ]);
    await consumer.flush();
    assert.equal(consumer.durableSeq(), 2);
    await catalog.putStore(store("ENABLED", 2));
    const routed = new LakeConsumer({ catalog, duck, router: await StoreRouter.load(catalog), lakeDir: directory });
    await routed.loadCursor();
    await assert.rejects(routed.handle([{ seq: 3, appendedAtMs: 0, json: "{not json" }]), SyntaxError);
  });
});
