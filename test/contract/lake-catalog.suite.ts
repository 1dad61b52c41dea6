import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  keyHash,
  type CommittedFile,
  type EventDataStore,
  type ImportFailure,
  type LakeCatalog,
} from "../../src/lake/catalog/index.js";

/**
 * The LakeCatalog contract (src/lake/catalog/lake-catalog.ts), run against every backend. `open`
 * opens the catalog kept at `place`, a fresh directory per test (a backend that keeps no files
 * derives its database or schema name from it); opening the same place again must find everything
 * that was committed, also while another handle on it is open (another node of a cluster).
 */
export type OpenLakeCatalog = (place: string) => Promise<LakeCatalog>;

const ACCOUNT = "111111111111";
const OTHER_ACCOUNT = "222222222222";
const STORE_A = "0a000000-0000-4000-8000-00000000000a";
const STORE_B = "0b000000-0000-4000-8000-00000000000b";
const STORE_C = "0c000000-0000-4000-8000-00000000000c";

function store(id: string, accountId = ACCOUNT, overrides: Partial<EventDataStore> = {}): EventDataStore {
  return {
    id,
    accountId,
    region: "us-east-1",
    name: `store-${id.slice(0, 2)}`,
    arn: `arn:aws:cloudtrail:us-east-1:${accountId}:eventdatastore/${id}`,
    status: "ENABLED",
    advancedEventSelectors: [{ Name: "all", FieldSelectors: [{ Field: "eventCategory", Equals: ["Management"] }] }],
    multiRegionEnabled: true,
    organizationEnabled: false,
    retentionPeriod: 366,
    terminationProtectionEnabled: true,
    billingMode: "EXTENDABLE_RETENTION_PRICING",
    tags: [{ Key: "team", Value: "audit" }],
    createdMs: 1_700_000_000_000,
    updatedMs: 1_700_000_000_000,
    fromSeq: 7,
    ...overrides,
  };
}

const path = (edsId: string, date: string, name: string): string => `/lake/${edsId}/eventdate=${date}/${name}.parquet`;

function file(edsId: string, date: string, name: string, keys: readonly string[] = []): CommittedFile {
  return { path: path(edsId, date, name), edsId, rows: keys.length, keys: keys.map(keyHash) };
}

function failure(location: string): ImportFailure {
  return {
    Location: location,
    Status: "FAILED",
    ErrorType: "InvalidJson",
    ErrorMessage: `${location} is not JSON`,
    LastUpdatedTime: 1_700_000_000,
  };
}

interface Doc {
  readonly id: string;
  readonly accountId: string;
  readonly status: string;
}

export function lakeCatalogContractSuite(name: string, open: OpenLakeCatalog): void {
  /**
   * Runs `body` on a new catalog; `reopen` closes it and opens the same place again; `another` opens
   * one more handle on the same place while this one stays open (another node of a cluster).
   */
  async function withCatalog(body: CatalogBody): Promise<void> {
    const place = await mkdtemp(join(tmpdir(), "cairn-lake-catalog-"));
    let current = await open(place);
    const others: LakeCatalog[] = [];
    try {
      await body(
        current,
        async () => {
          await current.close();
          current = await open(place);
          return current;
        },
        async () => {
          const other = await open(place);
          others.push(other);
          return other;
        },
      );
    } finally {
      for (const other of others) await other.close();
      await current.close();
      await rm(place, { recursive: true, force: true });
    }
  }

  describe(`LakeCatalog contract: ${name}`, () => {
    storeTests(withCatalog);
    fileTests(withCatalog);
    keyTests(withCatalog);
    documentTests(withCatalog);
    importFailureTests(withCatalog);
    reopenTests(withCatalog);
    twoHandleTests(withCatalog);
  });
}

type CatalogBody = (
  catalog: LakeCatalog,
  reopen: () => Promise<LakeCatalog>,
  another: () => Promise<LakeCatalog>,
) => Promise<void>;
type WithCatalog = (body: CatalogBody) => Promise<void>;

function storeTests(withCatalog: WithCatalog): void {
  it("starts empty", () =>
    withCatalog(async (catalog) => {
      assert.deepEqual(await catalog.stores(), []);
      assert.equal(await catalog.store(STORE_A), undefined);
      assert.equal(await catalog.cursor(), 0);
      assert.deepEqual([...(await catalog.committedPaths())], []);
      assert.deepEqual(await catalog.allFiles(), []);
      assert.deepEqual(await catalog.storeFiles(STORE_A), []);
      assert.deepEqual(await catalog.documents("queries"), []);
      assert.deepEqual(await catalog.importFailures("import-1", 0, 10), []);
    }));

  it("keeps stores whole, lists them by account in id order, and replaces one by id", () =>
    withCatalog(async (catalog) => {
      await catalog.putStore(store(STORE_C));
      await catalog.putStore(store(STORE_B, OTHER_ACCOUNT));
      await catalog.putStore(store(STORE_A, ACCOUNT, { deletedMs: 1_700_000_100_000, status: "PENDING_DELETION" }));
      assert.deepEqual(await catalog.store(STORE_C), store(STORE_C));
      assert.deepEqual(
        (await catalog.stores(ACCOUNT)).map((s) => s.id),
        [STORE_A, STORE_C],
      );
      assert.deepEqual(
        (await catalog.stores(OTHER_ACCOUNT)).map((s) => s.id),
        [STORE_B],
      );
      assert.deepEqual(
        (await catalog.stores()).map((s) => s.id),
        [STORE_A, STORE_B, STORE_C],
      );
      assert.deepEqual(await catalog.stores("333333333333"), []);
      assert.equal((await catalog.store(STORE_A))?.deletedMs, 1_700_000_100_000);

      const renamed = store(STORE_C, ACCOUNT, { name: "renamed", retentionPeriod: 7 });
      await catalog.putStore(renamed);
      assert.deepEqual(await catalog.store(STORE_C), renamed);
      assert.equal((await catalog.stores()).length, 3);
    }));

  it("deletes a store with its files and keys, and nothing of another store", () =>
    withCatalog(async (catalog) => {
      await catalog.putStore(store(STORE_A));
      await catalog.putStore(store(STORE_B));
      await catalog.commitFiles([
        file(STORE_A, "2024-01-01", "a1", ["k1", "k2"]),
        file(STORE_B, "2024-01-01", "b1", ["k1"]),
      ]);
      await catalog.deleteStore(STORE_A);
      assert.equal(await catalog.store(STORE_A), undefined);
      assert.deepEqual(
        (await catalog.stores()).map((s) => s.id),
        [STORE_B],
      );
      assert.deepEqual(await catalog.storeFiles(STORE_A), []);
      assert.deepEqual([...(await catalog.committedPaths())], [path(STORE_B, "2024-01-01", "b1")]);
      assert.deepEqual(await catalog.hasKeys(STORE_A, [keyHash("k1"), keyHash("k2")]), [false, false]);
      assert.deepEqual(await catalog.hasKeys(STORE_B, [keyHash("k1")]), [true]);
      await catalog.deleteStore(STORE_A); // already gone: nothing to do
    }));
}

function fileTests(withCatalog: WithCatalog): void {
  it("commits files with the cursor, or without moving it", () =>
    withCatalog(async (catalog) => {
      await catalog.commitFiles([file(STORE_A, "2024-01-02", "live-1", ["k1"])], 40);
      assert.equal(await catalog.cursor(), 40);
      await catalog.commitFiles([file(STORE_A, "2024-01-01", "import-1", ["k2", "k3"])]);
      assert.equal(await catalog.cursor(), 40, "an import's commit leaves the cursor");
      await catalog.commitFiles([], 55);
      assert.equal(await catalog.cursor(), 55, "a flush with no rows for any store still moves the cursor");
      assert.deepEqual(await catalog.allFiles(), [
        { path: path(STORE_A, "2024-01-01", "import-1"), edsId: STORE_A, rows: 2 },
        { path: path(STORE_A, "2024-01-02", "live-1"), edsId: STORE_A, rows: 1 },
      ]);
      assert.deepEqual(
        await catalog.committedPaths(),
        new Set([path(STORE_A, "2024-01-01", "import-1"), path(STORE_A, "2024-01-02", "live-1")]),
      );
    }));

  it("refuses a whole commit, cursor included, when one of its keys is malformed", () =>
    withCatalog(async (catalog) => {
      await catalog.commitFiles([file(STORE_A, "2024-01-01", "first", ["k0"])], 10);
      const bad: CommittedFile = { ...file(STORE_B, "2024-01-01", "bad"), keys: [Buffer.alloc(3)] };
      await assert.rejects(catalog.commitFiles([file(STORE_A, "2024-01-02", "good", ["k1"]), bad], 20));
      assert.equal(await catalog.cursor(), 10);
      assert.deepEqual([...(await catalog.committedPaths())], [path(STORE_A, "2024-01-01", "first")]);
      assert.deepEqual(await catalog.hasKeys(STORE_A, [keyHash("k0"), keyHash("k1")]), [true, false]);
    }));

  it("records a path committed again with its new row count", () =>
    withCatalog(async (catalog) => {
      await catalog.commitFiles([file(STORE_A, "2024-01-01", "f", ["k1"])]);
      await catalog.commitFiles([file(STORE_A, "2024-01-01", "f", ["k1", "k2", "k3"])]);
      assert.deepEqual(await catalog.allFiles(), [{ path: path(STORE_A, "2024-01-01", "f"), edsId: STORE_A, rows: 3 }]);
    }));

  it("lists a store's files in path order as a snapshot later changes do not touch", () =>
    withCatalog(async (catalog) => {
      await catalog.putStore(store(STORE_A));
      await catalog.commitFiles([
        file(STORE_A, "2024-01-02", "b", ["k1"]),
        file(STORE_B, "2024-01-01", "x", ["k2"]),
        file(STORE_A, "2024-01-01", "c", ["k3"]),
        file(STORE_A, "2024-01-02", "a", ["k4"]),
      ]);
      const snapshot = await catalog.storeFiles(STORE_A);
      const expected = [
        path(STORE_A, "2024-01-01", "c"),
        path(STORE_A, "2024-01-02", "a"),
        path(STORE_A, "2024-01-02", "b"),
      ];
      assert.deepEqual(snapshot, expected);
      const merged = { path: path(STORE_A, "2024-01-02", "compact"), edsId: STORE_A, rows: 2 };
      assert.equal(await catalog.replaceFiles(merged, expected.slice(1)), true);
      await catalog.commitFiles([file(STORE_A, "2024-01-03", "d", ["k5"])]);
      assert.deepEqual(snapshot, expected, "a list already taken is not changed by later commits");
      assert.deepEqual(await catalog.storeFiles(STORE_A), [
        path(STORE_A, "2024-01-01", "c"),
        merged.path,
        path(STORE_A, "2024-01-03", "d"),
      ]);
    }));

  it("replaces files with a merged one when all are still the store's", () =>
    withCatalog(async (catalog) => {
      await catalog.putStore(store(STORE_A));
      await catalog.commitFiles([
        file(STORE_A, "2024-01-01", "a", ["k1", "k2"]),
        file(STORE_A, "2024-01-01", "b", ["k3"]),
        file(STORE_A, "2024-01-02", "c", ["k4"]),
      ]);
      const merged = { path: path(STORE_A, "2024-01-01", "compact"), edsId: STORE_A, rows: 3 };
      const replaced = [path(STORE_A, "2024-01-01", "a"), path(STORE_A, "2024-01-01", "b")];
      assert.equal(await catalog.replaceFiles(merged, replaced), true);
      assert.deepEqual(await catalog.allFiles(), [
        merged,
        { path: path(STORE_A, "2024-01-02", "c"), edsId: STORE_A, rows: 1 },
      ]);
      assert.deepEqual(
        await catalog.hasKeys(STORE_A, ["k1", "k2", "k3"].map(keyHash)),
        [true, true, true],
        "keys stay with the store",
      );
    }));

  it("refuses a swap, changing nothing, when a replaced file is gone, another store's, or the store is", () =>
    withCatalog(async (catalog) => {
      await catalog.putStore(store(STORE_A));
      await catalog.putStore(store(STORE_B));
      await catalog.commitFiles([
        file(STORE_A, "2024-01-01", "a", ["k1"]),
        file(STORE_A, "2024-01-01", "b", ["k2"]),
        file(STORE_B, "2024-01-01", "x", ["k3"]),
      ]);
      const before = await catalog.allFiles();
      const merged = { path: path(STORE_A, "2024-01-01", "compact"), edsId: STORE_A, rows: 2 };
      const [a, b] = [path(STORE_A, "2024-01-01", "a"), path(STORE_A, "2024-01-01", "b")];
      assert.equal(await catalog.replaceFiles(merged, [a, path(STORE_A, "2024-01-01", "never")]), false);
      assert.equal(await catalog.replaceFiles(merged, [a, path(STORE_B, "2024-01-01", "x")]), false);
      assert.deepEqual(await catalog.allFiles(), before);

      await catalog.forgetFiles([b]); // the retention sweep got there first
      assert.equal(await catalog.replaceFiles(merged, [a, b]), false);
      assert.deepEqual(await catalog.storeFiles(STORE_A), [a]);

      const mergedB = { path: path(STORE_B, "2024-01-01", "compact"), edsId: STORE_B, rows: 1 };
      await catalog.putStore(store(STORE_C));
      await catalog.commitFiles([file(STORE_C, "2024-01-01", "y", ["k4"])]);
      await catalog.deleteStore(STORE_B);
      assert.equal(await catalog.replaceFiles(mergedB, [path(STORE_B, "2024-01-01", "x")]), false);
      const orphan = { path: path(STORE_C, "2024-01-01", "compact"), edsId: STORE_C, rows: 1 };
      await catalog.deleteStore(STORE_C);
      await catalog.commitFiles([file(STORE_C, "2024-01-01", "y")]); // a late commit for a purged store
      assert.equal(await catalog.replaceFiles(orphan, [path(STORE_C, "2024-01-01", "y")]), false);
      assert.deepEqual(await catalog.storeFiles(STORE_C), [path(STORE_C, "2024-01-01", "y")]);
    }));

  it("forgets files, keeping their keys and ignoring unknown paths", () =>
    withCatalog(async (catalog) => {
      await catalog.commitFiles([
        file(STORE_A, "2024-01-01", "a", ["k1"]),
        file(STORE_A, "2024-01-02", "b", ["k2"]),
        file(STORE_B, "2024-01-01", "x", ["k3"]),
      ]);
      await catalog.forgetFiles([path(STORE_A, "2024-01-01", "a"), path(STORE_A, "2024-01-09", "unknown")]);
      await catalog.forgetFiles([]);
      assert.deepEqual(
        await catalog.committedPaths(),
        new Set([path(STORE_A, "2024-01-02", "b"), path(STORE_B, "2024-01-01", "x")]),
      );
      assert.deepEqual(await catalog.hasKeys(STORE_A, [keyHash("k1")]), [true]);
    }));
}

function keyTests(withCatalog: WithCatalog): void {
  it("answers a batch of keys in order, per store, duplicates included", () =>
    withCatalog(async (catalog) => {
      await catalog.commitFiles([
        file(STORE_A, "2024-01-01", "a", ["k1", "k3"]),
        file(STORE_A, "2024-01-02", "b", ["k5", "k1"]),
      ]);
      await catalog.commitFiles([file(STORE_B, "2024-01-01", "x", ["k2"])]);
      const asked = ["k1", "k2", "k3", "k4", "k5", "k1"].map(keyHash);
      assert.deepEqual(await catalog.hasKeys(STORE_A, asked), [true, false, true, false, true, true]);
      assert.deepEqual(await catalog.hasKeys(STORE_B, asked), [false, true, false, false, false, false]);
      assert.deepEqual(await catalog.hasKeys(STORE_C, asked), [false, false, false, false, false, false]);
      assert.deepEqual(await catalog.hasKeys(STORE_A, []), []);
    }));

  it("answers a large batch in one call", () =>
    withCatalog(async (catalog) => {
      const stored = Array.from({ length: 5000 }, (_, i) => `stored-${i}`);
      await catalog.commitFiles([file(STORE_A, "2024-01-01", "big", stored)]);
      const asked = Array.from({ length: 10_000 }, (_, i) => (i % 2 === 0 ? `stored-${i / 2}` : `new-${i}`));
      const answer = await catalog.hasKeys(STORE_A, asked.map(keyHash));
      assert.equal(answer.length, asked.length);
      assert.ok(answer.every((known, i) => known === (i % 2 === 0)));
    }));
}

function documentTests(withCatalog: WithCatalog): void {
  it("keeps documents per table, scoped by account, and replaces one by id", () =>
    withCatalog(async (catalog) => {
      const mine: Doc = { id: "q1", accountId: ACCOUNT, status: "QUEUED" };
      const theirs: Doc = { id: "q2", accountId: OTHER_ACCOUNT, status: "RUNNING" };
      await catalog.putDocument("queries", mine);
      await catalog.putDocument("queries", theirs);
      await catalog.putDocument("imports", { id: "i1", accountId: ACCOUNT, status: "IN_PROGRESS" });
      assert.deepEqual(await catalog.document<Doc>("queries", "q1", ACCOUNT), mine);
      assert.equal(await catalog.document<Doc>("queries", "q2", ACCOUNT), undefined, "another account's");
      assert.equal(await catalog.document<Doc>("imports", "q1", ACCOUNT), undefined, "another table's");
      assert.deepEqual(await catalog.findDocument<Doc>("queries", "q2"), theirs);
      assert.equal(await catalog.findDocument<Doc>("channels", "q2"), undefined);
      assert.deepEqual(await catalog.documents<Doc>("queries", ACCOUNT), [mine]);
      const all = await catalog.documents<Doc>("queries");
      assert.deepEqual(all.map((d) => d.id).sort(), ["q1", "q2"]);
      assert.deepEqual(await catalog.documents<Doc>("channels"), []);

      const finished = { ...mine, status: "FINISHED" };
      await catalog.putDocument("queries", finished);
      assert.deepEqual(await catalog.document<Doc>("queries", "q1", ACCOUNT), finished);
      assert.equal((await catalog.documents<Doc>("queries")).length, 2);
    }));

  it("stores a document as it was when put", () =>
    withCatalog(async (catalog) => {
      const doc = { id: "c1", accountId: ACCOUNT, status: "A", nested: { list: [1, 2] } };
      const put = catalog.putDocument("channels", doc);
      doc.status = "B";
      doc.nested.list.push(3);
      await put;
      assert.deepEqual(await catalog.document("channels", "c1", ACCOUNT), {
        id: "c1",
        accountId: ACCOUNT,
        status: "A",
        nested: { list: [1, 2] },
      });
    }));

  it("deletes a document only for its account", () =>
    withCatalog(async (catalog) => {
      await catalog.putDocument("channels", { id: "c1", accountId: ACCOUNT, status: "x" });
      await catalog.deleteDocument("channels", "c1", OTHER_ACCOUNT);
      assert.notEqual(await catalog.document("channels", "c1", ACCOUNT), undefined);
      await catalog.deleteDocument("queries", "c1", ACCOUNT);
      assert.notEqual(await catalog.document("channels", "c1", ACCOUNT), undefined, "another table's id");
      await catalog.deleteDocument("channels", "c1", ACCOUNT);
      assert.equal(await catalog.findDocument("channels", "c1"), undefined);
      await catalog.deleteDocument("channels", "c1", ACCOUNT);
    }));
}

function importFailureTests(withCatalog: WithCatalog): void {
  it("keeps an import's failures in the order added and pages through them", () =>
    withCatalog(async (catalog) => {
      const first = Array.from({ length: 5 }, (_, i) => failure(`file-${i}`));
      const second = Array.from({ length: 3 }, (_, i) => failure(`file-${5 + i}#${i}`));
      await catalog.addImportFailures("import-1", first);
      await catalog.addImportFailures("import-2", [failure("other")]);
      await catalog.addImportFailures("import-1", []);
      await catalog.addImportFailures("import-1", second);
      const all = [...first, ...second];
      assert.deepEqual(await catalog.importFailures("import-1", 0, 100), all);
      assert.deepEqual(await catalog.importFailures("import-1", 0, 3), all.slice(0, 3));
      assert.deepEqual(await catalog.importFailures("import-1", 3, 3), all.slice(3, 6));
      assert.deepEqual(await catalog.importFailures("import-1", 6, 3), all.slice(6));
      assert.deepEqual(await catalog.importFailures("import-1", 8, 3), []);
      assert.deepEqual(await catalog.importFailures("import-2", 0, 10), [failure("other")]);
      assert.deepEqual(await catalog.importFailures("import-3", 0, 10), []);
    }));

  it("forgets one import's failures, so a run again from the beginning holds each of its own once", () =>
    withCatalog(async (catalog) => {
      const run = [failure("bad.json"), failure("x.json#3"), failure("s3://b/p")];
      await catalog.addImportFailures("import-1", run);
      await catalog.addImportFailures("import-2", [failure("other")]);
      await catalog.clearImportFailures("import-1");
      assert.deepEqual(await catalog.importFailures("import-1", 0, 10), []);
      await catalog.addImportFailures("import-1", run.slice(0, 2));
      await catalog.addImportFailures("import-1", run.slice(2));
      assert.deepEqual(await catalog.importFailures("import-1", 0, 10), run);
      assert.deepEqual(await catalog.importFailures("import-1", 2, 10), run.slice(2), "numbered from the start");
      assert.deepEqual(await catalog.importFailures("import-2", 0, 10), [failure("other")], "another import's stay");
      await catalog.clearImportFailures("import-3");
    }));
}

function reopenTests(withCatalog: WithCatalog): void {
  it("keeps everything when opened again", () =>
    withCatalog(async (catalog, reopen) => {
      await catalog.putStore(store(STORE_A));
      await catalog.putStore(store(STORE_B, OTHER_ACCOUNT));
      await catalog.commitFiles(
        [file(STORE_A, "2024-01-01", "a", ["k1"]), file(STORE_B, "2024-01-01", "b", ["k2"])],
        99,
      );
      const merged = { path: path(STORE_A, "2024-01-01", "compact"), edsId: STORE_A, rows: 1 };
      assert.equal(await catalog.replaceFiles(merged, [path(STORE_A, "2024-01-01", "a")]), true);
      await catalog.putDocument("queries", { id: "q1", accountId: ACCOUNT, status: "FINISHED" });
      await catalog.putDocument("channels", { id: "c1", accountId: OTHER_ACCOUNT, status: "x" });
      await catalog.addImportFailures("import-1", [failure("f1"), failure("f2")]);
      const before = {
        stores: await catalog.stores(),
        files: await catalog.allFiles(),
        queries: await catalog.documents("queries"),
        channels: await catalog.documents("channels"),
      };

      const again = await reopen();
      assert.deepEqual(await again.stores(), before.stores);
      assert.equal(await again.cursor(), 99);
      assert.deepEqual(await again.allFiles(), before.files);
      assert.deepEqual(await again.storeFiles(STORE_A), [merged.path]);
      assert.deepEqual(await again.hasKeys(STORE_A, [keyHash("k1"), keyHash("k2")]), [true, false]);
      assert.deepEqual(await again.hasKeys(STORE_B, [keyHash("k2")]), [true]);
      assert.deepEqual(await again.documents("queries"), before.queries);
      assert.deepEqual(await again.documents("channels"), before.channels);
      assert.deepEqual(await again.importFailures("import-1", 0, 10), [failure("f1"), failure("f2")]);
      await again.addImportFailures("import-1", [failure("f3")]);
      assert.deepEqual(await again.importFailures("import-1", 2, 10), [failure("f3")], "numbering continues");
    }));
}

/** Two handles on one catalog (two nodes of a cluster) writing at once: nothing lost, nothing counted twice. */
function twoHandleTests(withCatalog: WithCatalog): void {
  it("commits files with overlapping keys from two handles at once, losing no commit and no key", () =>
    withCatalog(async (catalog, _reopen, another) => {
      const other = await another();
      await catalog.putStore(store(STORE_A));
      // Overlapping keys committed in opposite orders, many times: no commit may fail (a deadlock
      // between the two must not surface), and both files of each round stay committed.
      // Batches this large keep both transactions inserting long enough to meet.
      const keys = Array.from({ length: 20_000 }, (_, i) => `shared-${i}`);
      const rounds = 4;
      for (let round = 1; round <= rounds; round++) {
        const mine = file(STORE_A, "2024-01-01", `n1-${round}`, keys.slice(0, 15_000));
        const theirs = file(STORE_A, "2024-01-01", `n2-${round}`, keys.slice(5_000).reverse());
        await Promise.all([catalog.commitFiles([mine], round), other.commitFiles([theirs])]);
      }
      assert.equal((await catalog.storeFiles(STORE_A)).length, 2 * rounds);
      assert.deepEqual(await other.storeFiles(STORE_A), await catalog.storeFiles(STORE_A));
      assert.equal(await other.cursor(), rounds);
      for (const handle of [catalog, other])
        assert.ok((await handle.hasKeys(STORE_A, keys.map(keyHash))).every(Boolean), "every key is held");
      // A purge from either handle takes every key with it.
      await other.deleteStore(STORE_A);
      assert.ok((await catalog.hasKeys(STORE_A, keys.map(keyHash))).every((held) => !held));
    }));

  it("lets exactly one of two handles swap the same files at once", () =>
    withCatalog(async (catalog, _reopen, another) => {
      const other = await another();
      await catalog.putStore(store(STORE_A));
      const replaced = ["a", "b", "c"].map((name) => path(STORE_A, "2024-01-01", name));
      await catalog.commitFiles(["a", "b", "c"].map((name, i) => file(STORE_A, "2024-01-01", name, [`k${i}`])));
      const merged = (name: string) => ({ path: path(STORE_A, "2024-01-01", name), edsId: STORE_A, rows: 3 });
      const won = await Promise.all([
        catalog.replaceFiles(merged("m1"), replaced),
        other.replaceFiles(merged("m2"), [...replaced].reverse()),
      ]);
      assert.equal(won.filter(Boolean).length, 1, "one swap wins, the other changes nothing");
      const winner = won[0] ? merged("m1") : merged("m2");
      assert.deepEqual(await catalog.allFiles(), [winner]);
    }));

  it("never leaves a swapped file of a store another handle purges at once", () =>
    withCatalog(async (catalog, _reopen, another) => {
      const other = await another();
      await catalog.putStore(store(STORE_A));
      const replaced = ["a", "b"].map((name) => path(STORE_A, "2024-01-01", name));
      await catalog.commitFiles(["a", "b"].map((name, i) => file(STORE_A, "2024-01-01", name, [`k${i}`])));
      const merged = { path: path(STORE_A, "2024-01-01", "m"), edsId: STORE_A, rows: 2 };
      await Promise.all([catalog.replaceFiles(merged, replaced), other.deleteStore(STORE_A)]);
      assert.deepEqual(await catalog.allFiles(), [], "the purge takes the merged file too, whichever ran first");
      assert.equal(await catalog.store(STORE_A), undefined);
    }));

  it("keeps every failure two handles add to one import at once, each batch in its order", () =>
    withCatalog(async (catalog, _reopen, another) => {
      const other = await another();
      const mine = Array.from({ length: 50 }, (_, i) => failure(`n1-${i}`));
      const theirs = Array.from({ length: 50 }, (_, i) => failure(`n2-${i}`));
      await Promise.all([catalog.addImportFailures("import-1", mine), other.addImportFailures("import-1", theirs)]);
      const all = await other.importFailures("import-1", 0, 1000);
      assert.equal(all.length, 100);
      assert.deepEqual(
        all.filter((f) => f.Location.startsWith("n1-")),
        mine,
      );
      assert.deepEqual(
        all.filter((f) => f.Location.startsWith("n2-")),
        theirs,
      );
    }));
}
