import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { ObjectStoreError, type ObjectStore } from "../../src/stores/objects/object-store.js";

/**
 * The ObjectStore contract (docs/specs/object-store.md), run against every implementation. The
 * factory is called once per suite; every test works in its own fresh bucket, so a shared backend
 * (one moto_server) is fine.
 */
export interface ObjectStoreUnderTest {
  readonly store: ObjectStore;
  cleanup(): Promise<void>;
}

let bucketCounter = 0;
function freshBucketName(): string {
  bucketCounter += 1;
  return `contract-${bucketCounter}-${randomBytes(4).toString("hex")}`;
}

function md5(body: Buffer): string {
  return createHash("md5").update(body).digest("hex");
}

async function putAll(store: ObjectStore, bucket: string, keys: string[], concurrency = 16): Promise<void> {
  const queue = [...keys];
  const worker = async (): Promise<void> => {
    for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
      await store.putObject(bucket, key, Buffer.from(key));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function listAll(
  store: ObjectStore,
  bucket: string,
  options: { prefix?: string; startAfter?: string; maxKeys?: number },
): Promise<string[]> {
  const keys: string[] = [];
  let startAfter = options.startAfter;
  for (let pages = 0; pages < 10_000; pages += 1) {
    const page = await store.listObjects(bucket, { ...options, ...(startAfter !== undefined ? { startAfter } : {}) });
    keys.push(...page.objects.map((object) => object.key));
    if (page.nextStartAfter === undefined) return keys;
    startAfter = page.nextStartAfter;
  }
  throw new Error("Listing did not end.");
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ObjectStoreError, `expected ObjectStoreError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.ok(error.message.length > 0);
    return true;
  });
}

export function objectStoreContractSuite(
  name: string,
  open: () => Promise<ObjectStoreUnderTest>,
  options: { skip?: string | false } = {},
): void {
  describe(`ObjectStore contract: ${name}`, { skip: options.skip ?? false }, () => {
    let subject: ObjectStoreUnderTest;
    let store: ObjectStore;
    before(async () => {
      subject = await open();
      store = subject.store;
    });
    after(async () => {
      await subject?.cleanup();
    });

    async function freshBucket(): Promise<string> {
      const bucket = freshBucketName();
      await store.ensureBucket(bucket);
      return bucket;
    }

    it("creates buckets idempotently and reports whether they exist", async () => {
      const bucket = freshBucketName();
      assert.equal(await store.bucketExists(bucket), false);
      await store.ensureBucket(bucket);
      assert.equal(await store.bucketExists(bucket), true);
      await store.ensureBucket(bucket);
      assert.equal(await store.bucketExists(bucket), true);
    });

    it("round-trips body, content type and encoding, user metadata, ETag and time", async () => {
      const bucket = await freshBucket();
      const body = gzipSync(Buffer.from('{"Records":[]}'));
      const key = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/20/digest.json.gz";
      const beforeMs = Date.now();
      await store.putObject(bucket, key, body, {
        contentType: "application/json",
        contentEncoding: "gzip",
        metadata: { signature: "ab01".repeat(128), "signature-algorithm": "SHA256withRSA" },
      });
      const afterMs = Date.now();
      const stored = await store.getObject(bucket, key);
      assert.ok(stored);
      assert.deepEqual(stored.body, body);
      assert.equal(stored.contentType, "application/json");
      assert.equal(stored.contentEncoding, "gzip");
      assert.deepEqual(stored.metadata, { signature: "ab01".repeat(128), "signature-algorithm": "SHA256withRSA" });
      assert.equal(stored.etag, md5(body));
      assert.match(stored.etag, /^[0-9a-f]{32}$/);
      // S3 keeps second precision; allow for that and a little clock skew between us and the backend.
      assert.ok(stored.lastModifiedMs >= beforeMs - 2_000 && stored.lastModifiedMs <= afterMs + 2_000);
    });

    it("returns user metadata names in lower case", async () => {
      const bucket = await freshBucket();
      await store.putObject(bucket, "k", Buffer.from("x"), { metadata: { "Signature-Algorithm": "SHA256withRSA" } });
      assert.deepEqual((await store.getObject(bucket, "k"))?.metadata, { "signature-algorithm": "SHA256withRSA" });
    });

    it("returns undefined for a missing key", async () => {
      const bucket = await freshBucket();
      assert.equal(await store.getObject(bucket, "no/such/key.json.gz"), undefined);
    });

    it("stores empty and binary bodies exactly", async () => {
      const bucket = await freshBucket();
      const binary = randomBytes(70_000);
      await store.putObject(bucket, "empty", Buffer.alloc(0));
      await store.putObject(bucket, "binary", binary);
      const empty = await store.getObject(bucket, "empty");
      assert.equal(empty?.body.length, 0);
      assert.equal(empty?.etag, "d41d8cd98f00b204e9800998ecf8427e");
      assert.deepEqual((await store.getObject(bucket, "binary"))?.body, binary);
    });

    it("overwrites body and metadata as a whole", async () => {
      const bucket = await freshBucket();
      await store.putObject(bucket, "k", Buffer.from("one"), { contentEncoding: "gzip", metadata: { a: "1", b: "2" } });
      await store.putObject(bucket, "k", Buffer.from("two"), { metadata: { c: "3" } });
      const stored = await store.getObject(bucket, "k");
      assert.equal(stored?.body.toString(), "two");
      assert.deepEqual(stored?.metadata, { c: "3" });
      assert.equal(stored?.contentEncoding, undefined);
      assert.deepEqual(await listAll(store, bucket, {}), ["k"]);
    });

    it("lists keys in UTF-8 byte order, not UTF-16 order", async () => {
      const bucket = await freshBucket();
      // '-' < '/' < '0' in bytes; U+FF61 (EF BD A1) sorts before U+1F600 (F0 9F 98 80) in UTF-8
      // although its UTF-16 unit 0xFF61 sorts after the surrogate 0xD83D.
      const keys = ["a/b", "a-c", "a0", "A", "é", "\u{1F600}", "\uFF61", "a/b0/c", "a/b-c"];
      await putAll(store, bucket, keys);
      const expected = ["A", "a-c", "a/b", "a/b-c", "a/b0/c", "a0", "é", "\uFF61", "\u{1F600}"];
      assert.deepEqual(await listAll(store, bucket, {}), expected);
      assert.deepEqual(await listAll(store, bucket, { maxKeys: 2 }), expected);
    });

    it("filters by prefix and startAfter and pages with maxKeys", async () => {
      const bucket = await freshBucket();
      const digests = ["us-east-1", "us-east-10", "us-west-2"].flatMap((region) =>
        ["01", "02", "03"].map(
          (day) => `AWSLogs/1/CloudTrail-Digest/${region}/2026/11/${day}/d_${region}_202611${day}T000000Z.json.gz`,
        ),
      );
      await putAll(store, bucket, [...digests, "AWSLogs/1/CloudTrail/us-east-1/x.json.gz", "other"]);
      const prefix = "AWSLogs/1/CloudTrail-Digest/us-east-1";
      assert.deepEqual(
        await listAll(store, bucket, { prefix }),
        digests.filter((key) => key.startsWith(prefix)),
        "a prefix without a trailing slash matches us-east-10 too, as on S3",
      );
      const marker = `${prefix}/2026/11/01/d_us-east-1_20261101T235959Z.json.gz`;
      assert.deepEqual(await listAll(store, bucket, { prefix: `${prefix}/`, startAfter: marker }), [
        `${prefix}/2026/11/02/d_us-east-1_20261102T000000Z.json.gz`,
        `${prefix}/2026/11/03/d_us-east-1_20261103T000000Z.json.gz`,
      ]);
      const first = await store.listObjects(bucket, { prefix: "AWSLogs/", maxKeys: 4 });
      assert.equal(first.objects.length, 4);
      assert.equal(first.nextStartAfter, first.objects[3]!.key);
      const rest = await store.listObjects(bucket, { prefix: "AWSLogs/", startAfter: first.nextStartAfter! });
      assert.equal(rest.objects.length, 6);
      assert.equal(rest.nextStartAfter, undefined);
      assert.deepEqual(await store.listObjects(bucket, { prefix: "nothing/" }), { objects: [] });
      assert.deepEqual(await store.listObjects(bucket, { startAfter: "other" }), { objects: [] });
    });

    it("reports size, time and ETag in listings", async () => {
      const bucket = await freshBucket();
      const body = Buffer.from("hello world");
      await store.putObject(bucket, "dir/file.txt", body);
      const [summary] = (await store.listObjects(bucket, {})).objects;
      assert.equal(summary?.key, "dir/file.txt");
      assert.equal(summary?.sizeBytes, body.length);
      assert.equal(summary?.etag, md5(body));
      const stored = await store.getObject(bucket, "dir/file.txt");
      assert.equal(Math.floor(summary!.lastModifiedMs / 1000), Math.floor(stored!.lastModifiedMs / 1000));
    });

    it("returns at most 1000 keys per page by default", async () => {
      const bucket = await freshBucket();
      const keys = Array.from({ length: 1003 }, (_, i) => `k/${String(i).padStart(5, "0")}`);
      await putAll(store, bucket, keys);
      const first = await store.listObjects(bucket, {});
      assert.equal(first.objects.length, 1000);
      assert.equal(first.nextStartAfter, "k/00999");
      const second = await store.listObjects(bucket, { startAfter: first.nextStartAfter!, maxKeys: 5000 });
      assert.deepEqual(
        second.objects.map((object) => object.key),
        ["k/01000", "k/01001", "k/01002"],
      );
      assert.equal(second.nextStartAfter, undefined);
    });

    it("keeps keys with spaces, plus signs and XML/URL special characters intact", async () => {
      const bucket = await freshBucket();
      const keys = ["a b+c.json", "q&a<b>'\"%20.gz", "x?y=1#z", "ünï/çødé/日本.json"];
      await putAll(store, bucket, keys);
      for (const key of keys) assert.equal((await store.getObject(bucket, key))?.body.toString(), key);
      assert.deepEqual(
        await listAll(store, bucket, {}),
        [...keys].sort((l, r) => Buffer.compare(Buffer.from(l), Buffer.from(r))),
      );
    });

    it("deletes objects, idempotently", async () => {
      const bucket = await freshBucket();
      await putAll(store, bucket, ["a/1", "a/2", "b"]);
      await store.deleteObject(bucket, "a/1");
      await store.deleteObject(bucket, "a/1");
      await store.deleteObject(bucket, "never/existed");
      assert.equal(await store.getObject(bucket, "a/1"), undefined);
      assert.deepEqual(await listAll(store, bucket, {}), ["a/2", "b"]);
      await store.deleteObject(bucket, "a/2");
      assert.deepEqual(await listAll(store, bucket, {}), ["b"]);
      await store.putObject(bucket, "a/3", Buffer.from("again"));
      assert.deepEqual(await listAll(store, bucket, {}), ["a/3", "b"]);
    });

    it("writes and deletes on condition of the ETag (If-Match) or of no object (If-None-Match: *)", async () => {
      const bucket = await freshBucket();
      const first = Buffer.from("s3://b/a.parquet\n");
      const second = Buffer.from("s3://b/a.parquet\ns3://b/b.parquet\n");
      await store.putObject(bucket, "m", first, { ifNoneMatch: "*" });
      await rejectsWithCode(store.putObject(bucket, "m", second, { ifNoneMatch: "*" }), "PreconditionFailed");
      await rejectsWithCode(store.putObject(bucket, "m", second, { ifMatch: md5(second) }), "PreconditionFailed");
      await rejectsWithCode(store.putObject(bucket, "none", second, { ifMatch: md5(first) }), "PreconditionFailed");
      assert.deepEqual((await store.getObject(bucket, "m"))?.body, first, "a refused write changes nothing");
      assert.equal(await store.getObject(bucket, "none"), undefined);
      await store.putObject(bucket, "m", second, { ifMatch: md5(first) });
      assert.deepEqual((await store.getObject(bucket, "m"))?.body, second);
      await rejectsWithCode(store.deleteObject(bucket, "m", { ifMatch: md5(first) }), "PreconditionFailed");
      assert.deepEqual((await store.getObject(bucket, "m"))?.body, second, "a refused delete changes nothing");
      await store.deleteObject(bucket, "m", { ifMatch: `"${md5(second)}"` });
      assert.equal(await store.getObject(bucket, "m"), undefined);
      await rejectsWithCode(store.deleteObject(bucket, "m", { ifMatch: md5(second) }), "PreconditionFailed");
    });

    it("rejects with NoSuchBucket when the bucket is missing", async () => {
      const bucket = freshBucketName();
      await rejectsWithCode(store.putObject(bucket, "k", Buffer.from("x")), "NoSuchBucket");
      await rejectsWithCode(store.getObject(bucket, "k"), "NoSuchBucket");
      await rejectsWithCode(store.listObjects(bucket, {}), "NoSuchBucket");
    });

    it("keeps concurrent writes of different keys and of one key whole", async () => {
      const bucket = await freshBucket();
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.putObject(bucket, "same", Buffer.from(`body-${i}`), { metadata: { writer: String(i) } }),
        ),
      );
      const stored = await store.getObject(bucket, "same");
      assert.ok(stored);
      assert.equal(stored.body.toString(), `body-${stored.metadata["writer"]}`);
    });
  });
}
