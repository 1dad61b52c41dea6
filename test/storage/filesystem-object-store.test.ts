import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  openFilesystemObjectStore,
  type FilesystemObjectStore,
} from "../../src/stores/objects/filesystem-object-store.js";
import { ObjectStoreError } from "../../src/stores/objects/object-store.js";
import { objectStoreContractSuite } from "../contract/object-store.suite.js";

objectStoreContractSuite("filesystem", async () => {
  const root = await mkdtemp(join(tmpdir(), "cairn-object-store-"));
  return { store: openFilesystemObjectStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});

async function filesUnder(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(directory.length + 1));
}

function isCode(code: string): (error: unknown) => boolean {
  return (error: unknown) => error instanceof ObjectStoreError && error.code === code;
}

describe("filesystem object store specifics", () => {
  let root: string;
  let store: FilesystemObjectStore;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "cairn-object-store-"));
    store = openFilesystemObjectStore(root);
    await store.ensureBucket("trail-bucket");
  });
  after(() => rm(root, { recursive: true, force: true }));

  it("stores bodies byte for byte at their key path, metadata in a hidden sidecar tree", async () => {
    await store.putObject("trail-bucket", "AWSLogs/1/a.json.gz", Buffer.from("body"), {
      metadata: { signature: "ff" },
    });
    assert.equal(await readFile(join(root, "trail-bucket/AWSLogs/1/a.json.gz"), "utf8"), "body");
    const sidecar = JSON.parse(await readFile(join(root, ".metadata/trail-bucket/AWSLogs/1/a.json.gz"), "utf8"));
    assert.deepEqual(sidecar.metadata, { signature: "ff" });
    assert.deepEqual(await filesUnder(join(root, "trail-bucket")), ["AWSLogs/1/a.json.gz"]);
    assert.deepEqual(await readdir(join(root, ".tmp")), [], "no temp files are left behind");
    assert.deepEqual(await store.listBuckets(), ["trail-bucket"]);
  });

  it("refuses keys that can't be file paths, with a clear message", async () => {
    const bad = [
      "",
      "../escape",
      "a/../b",
      "a//b",
      "/leading",
      "trailing/",
      "./a",
      "nul\0byte",
      "x".repeat(1025),
      "\uD800",
    ];
    for (const key of bad) {
      await assert.rejects(store.putObject("trail-bucket", key, Buffer.from("x")), (error: unknown) => {
        assert.ok(error instanceof ObjectStoreError);
        assert.equal(error.code, "InvalidKey");
        assert.match(error.message, /^Invalid object key .*: it .+\.$/s);
        return true;
      });
    }
    const longest = `${"x".repeat(200)}/`.repeat(5) + "é".repeat(9) + "z"; // exactly 1024 bytes in UTF-8
    assert.equal(Buffer.byteLength(longest), 1024);
    await store.putObject("trail-bucket", longest, Buffer.from("1024 bytes is the limit"));
    await assert.rejects(store.putObject("trail-bucket", `${longest}z`, Buffer.from("x")), isCode("InvalidKey"));
    await assert.rejects(store.putObject("trail-bucket", "s".repeat(256), Buffer.from("x")), isCode("InvalidKey"));
  });

  it("validates bucket names by S3's rules", async () => {
    for (const bucket of [
      "ab",
      "A-bucket",
      "-bucket",
      "bucket-",
      "bu..cket",
      "192.168.1.1",
      "a".repeat(64),
      ".metadata",
      "b_c",
    ]) {
      await assert.rejects(store.ensureBucket(bucket), isCode("InvalidBucketName"), bucket);
    }
    for (const bucket of ["abc", "my.trail-bucket-1", "a".repeat(63)]) await store.ensureBucket(bucket);
  });

  it("refuses a key that would turn an object into a folder, and the reverse", async () => {
    await store.putObject("trail-bucket", "conflict/x", Buffer.from("x"));
    await assert.rejects(store.putObject("trail-bucket", "conflict", Buffer.from("y")), isCode("KeyConflict"));
    await assert.rejects(store.putObject("trail-bucket", "conflict/x/y", Buffer.from("y")), isCode("KeyConflict"));
    assert.equal(await store.getObject("trail-bucket", "conflict"), undefined);
    assert.equal(await store.getObject("trail-bucket", "conflict/x/y"), undefined);
    assert.equal((await store.getObject("trail-bucket", "conflict/x"))?.body.toString(), "x");
  });

  it("prunes folders emptied by deletes", async () => {
    await store.putObject("trail-bucket", "prune/deep/er/k", Buffer.from("x"));
    await store.deleteObject("trail-bucket", "prune/deep/er/k");
    await assert.rejects(stat(join(root, "trail-bucket/prune")), /ENOENT/);
    await assert.rejects(stat(join(root, ".metadata/trail-bucket/prune")), /ENOENT/);
  });

  it("ignores a sidecar that doesn't describe the body (crash mid-overwrite)", async () => {
    await store.putObject("trail-bucket", "torn", Buffer.from("old"), {
      contentType: "text/plain",
      metadata: { a: "1" },
    });
    await writeFile(join(root, "trail-bucket/torn"), "new!");
    const stored = await store.getObject("trail-bucket", "torn");
    assert.equal(stored?.body.toString(), "new!");
    assert.deepEqual(stored?.metadata, {});
    assert.equal(stored?.contentType, undefined);
    const listed = (await store.listObjects("trail-bucket", { prefix: "torn" })).objects[0];
    assert.equal(listed?.etag, stored?.etag);
  });

  it("refuses metadata S3 could not carry", async () => {
    await assert.rejects(
      store.putObject("trail-bucket", "m", Buffer.from("x"), { metadata: { "bad name": "v" } }),
      isCode("InvalidMetadata"),
    );
    await assert.rejects(
      store.putObject("trail-bucket", "m", Buffer.from("x"), { metadata: { n: "é" } }),
      isCode("InvalidMetadata"),
    );
    await assert.rejects(
      store.putObject("trail-bucket", "m", Buffer.from("x"), { metadata: { n: "x".repeat(2048) } }),
      isCode("MetadataTooLarge"),
    );
  });
});
