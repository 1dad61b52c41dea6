import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LakeFileCache } from "../../src/lake/s3/lake-file-cache.js";

const KIB = 1024;
const key = (name: string): string => `eds-1/eventdate=2026-01-01/${name}.parquet`;

/** A bucket in memory standing in for S3's bytes (the cache's contract is fetch(key)); counts fetches. */
function bucket(objects: Record<string, Buffer>) {
  const fetched: string[] = [];
  let failNext = false;
  return {
    fetched,
    failOnce: () => (failNext = true),
    fetch: async (k: string): Promise<Buffer | undefined> => {
      fetched.push(k);
      // Let other callers of ensure() arrive while this download is under way.
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (failNext) {
        failNext = false;
        throw new Error("connection reset");
      }
      return objects[k];
    },
    remoteSize: async (k: string): Promise<number | undefined> => objects[k]?.length,
  };
}

describe("the Lake's local read-through cache (cluster mode)", () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
  const lakeDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), "cairn-cache-"));
    dirs.push(dir);
    return dir;
  };

  it("downloads a missing file once for concurrent readers, then serves it locally", async () => {
    const dir = lakeDir();
    const source = bucket({ [key("a")]: Buffer.alloc(10 * KIB, 1) });
    const cache = new LakeFileCache({ lakeDir: dir, maxBytes: 100 * KIB, ...source });
    const path = cache.pathOf(key("a"));
    const pins = await Promise.all([cache.pin([path]), cache.pin([path]), cache.pin([path, path])]);
    assert.deepEqual(source.fetched, [key("a")], "one download for three readers");
    assert.equal(readFileSync(path).length, 10 * KIB);
    pins.forEach((pin) => pin.release());
    (await cache.pin([path])).release();
    assert.equal(source.fetched.length, 1, "the second read is local");
    assert.equal(cache.stats.bytes, 10 * KIB);
    assert.equal(await cache.sizeOf(path), 10 * KIB);
  });

  it("evicts the least recently used files to stay under its bound, never a pinned one", async () => {
    const dir = lakeDir();
    const objects = Object.fromEntries(["a", "b", "c", "d"].map((n) => [key(n), Buffer.alloc(40 * KIB, n)]));
    const cache = new LakeFileCache({ lakeDir: dir, maxBytes: 100 * KIB, ...bucket(objects) });
    const [a, b, c, d] = ["a", "b", "c", "d"].map((n) => cache.pathOf(key(n))) as [string, string, string, string];
    const pinA = await cache.pin([a]);
    (await cache.pin([b])).release();
    // a is pinned and older: b, the least recently used unpinned file, goes when c arrives.
    (await cache.pin([c])).release();
    assert.ok(existsSync(a) && existsSync(c));
    await pollGone(b);
    assert.equal(cache.stats.bytes, 80 * KIB);
    // Over the bound while pins hold it: pinned files are kept even so.
    const pinCD = await cache.pin([c, d]);
    assert.ok(existsSync(a) && existsSync(c) && existsSync(d), "pinned files stay");
    assert.equal(cache.stats.bytes, 120 * KIB);
    pinCD.release();
    // a (still pinned) stays; c, now the least recently used unpinned file, goes.
    await pollGone(c);
    assert.ok(existsSync(a) && existsSync(d));
    pinA.release();
    assert.ok(cache.stats.bytes <= 100 * KIB, `${cache.stats.bytes} bytes cached`);
    assert.equal(cache.stats.evictions, 2);
  });

  it("leaves no partial file when a download fails, and fetches again on the next read", async () => {
    const dir = lakeDir();
    const source = bucket({ [key("a")]: Buffer.alloc(8 * KIB, 7) });
    const cache = new LakeFileCache({ lakeDir: dir, maxBytes: 100 * KIB, ...source });
    const path = cache.pathOf(key("a"));
    source.failOnce();
    await assert.rejects(cache.pin([path]), /connection reset/);
    assert.equal(existsSync(path), false, "no file at the final path");
    const temps = existsSync(join(dir, "tmp")) ? readdirSync(join(dir, "tmp")) : [];
    assert.deepEqual(temps, [], "no temp file left");
    assert.equal(cache.stats.bytes, 0);
    (await cache.pin([path])).release();
    assert.equal(readFileSync(path).length, 8 * KIB);
    assert.equal(source.fetched.length, 2);
  });

  it("refuses a key missing from the bucket and paths outside the Lake layout", async () => {
    const dir = lakeDir();
    const cache = new LakeFileCache({ lakeDir: dir, maxBytes: 100 * KIB, ...bucket({}) });
    await assert.rejects(cache.pin([cache.pathOf(key("gone"))]), /missing from the lake bucket/);
    assert.throws(() => cache.keyOf(join(dir, "..", "etc", "passwd")), /not a Lake Parquet key/);
    assert.throws(() => cache.pathOf("../x.parquet"), /not a Lake Parquet key/);
  });

  it("counts committed files already on disk at start, oldest first, and drops them to its bound", async () => {
    const dir = lakeDir();
    const objects = Object.fromEntries(["a", "b", "c"].map((n) => [key(n), Buffer.alloc(40 * KIB, n)]));
    const first = new LakeFileCache({ lakeDir: dir, maxBytes: 1024 * KIB, ...bucket(objects) });
    const paths = ["a", "b", "c"].map((n) => first.pathOf(key(n)));
    for (const path of paths) (await first.pin([path])).release();
    const restarted = new LakeFileCache({ lakeDir: dir, maxBytes: 100 * KIB, ...bucket(objects) });
    await restarted.adoptDirectory(new Set(paths));
    assert.ok(restarted.stats.bytes <= 100 * KIB);
    assert.equal(restarted.stats.files, 2);
  });
});

/** Eviction removes the file in the background: wait for it (bounded, not timed). */
async function pollGone(path: string): Promise<void> {
  for (let i = 0; i < 200 && existsSync(path); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(existsSync(path), false, `${path} evicted`);
}
