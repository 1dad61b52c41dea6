import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  accountObjectStore,
  openSqliteBucketOwnerStore,
  type BucketOwnerStore,
} from "../../src/stores/bucket-owners/index.js";
import { ObjectStoreError, openFilesystemObjectStore, type ObjectStore } from "../../src/stores/objects/index.js";

const ALICE = "111111111111";
const BOB = "222222222222";

/** Rejects with the store's AccessDenied, the refusal trail delivery and imports report. */
async function denied(call: Promise<unknown>): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof ObjectStoreError, String(error));
    assert.equal(error.code, "AccessDenied");
    return true;
  });
}

describe("an account's view of the object store", () => {
  let directory: string;
  let store: ObjectStore;
  let owners: BucketOwnerStore;

  beforeEach(async () => {
    directory = await mkdtemp(join(tmpdir(), "cairn-account-store-"));
    store = openFilesystemObjectStore(join(directory, "buckets"));
    owners = openSqliteBucketOwnerStore(join(directory, "bucket-owners.db"));
  });
  afterEach(async () => {
    await owners.close();
    await rm(directory, { recursive: true, force: true });
  });

  it("refuses every call on another account's bucket and leaves its objects alone", async () => {
    await store.ensureBucket("bobs");
    await store.putObject("bobs", "AWSLogs/x.json", Buffer.from("bob's"));
    await owners.claim("bobs", BOB);
    const alice = accountObjectStore(store, owners, ALICE);
    await denied(alice.getObject("bobs", "AWSLogs/x.json"));
    await denied(alice.listObjects("bobs", {}));
    await denied(alice.bucketExists("bobs"));
    await denied(alice.putObject("bobs", "AWSLogs/x.json", Buffer.from("alice's")));
    await denied(alice.deleteObject("bobs", "AWSLogs/x.json"));
    await denied(alice.ensureBucket("bobs"));
    assert.equal((await store.getObject("bobs", "AWSLogs/x.json"))?.body.toString(), "bob's");
    const bob = accountObjectStore(store, owners, BOB);
    assert.equal((await bob.getObject("bobs", "AWSLogs/x.json"))?.body.toString(), "bob's");
  });

  it("makes an unowned bucket the account's on first use, and then refuses it to others", async () => {
    await store.ensureBucket("found");
    const alice = accountObjectStore(store, owners, ALICE);
    assert.deepEqual((await alice.listObjects("found", {})).objects, []);
    assert.equal(await owners.ownerOf("found"), ALICE);
    await alice.ensureBucket("made");
    await alice.putObject("made", "k", Buffer.from("v"));
    assert.equal(await owners.ownerOf("made"), ALICE);
    await denied(accountObjectStore(store, owners, BOB).getObject("made", "k"));
  });

  it("claims no bucket that does not exist", async () => {
    const alice = accountObjectStore(store, owners, ALICE);
    assert.equal(await alice.bucketExists("nowhere"), false);
    await assert.rejects(alice.getObject("nowhere", "k"));
    await assert.rejects(alice.putObject("nowhere", "k", Buffer.from("v")));
    assert.equal(await owners.ownerOf("nowhere"), undefined);
  });
});
