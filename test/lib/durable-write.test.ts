import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { moveFileDurable, writeFileAtomic } from "../../src/lib/durable-write.js";

describe("writeFileAtomic", () => {
  let directory: string;
  beforeEach(async () => (directory = await mkdtemp(join(tmpdir(), "cairn-durable-write-"))));
  afterEach(() => rm(directory, { recursive: true, force: true }));

  it("replaces the file and leaves no temp file beside it", async () => {
    const path = join(directory, "state.json");
    await writeFileAtomic(path, "old");
    await writeFileAtomic(path, new TextEncoder().encode("new"));
    assert.equal(await readFile(path, "utf8"), "new");
    assert.deepEqual(await readdir(directory), ["state.json"]);
  });

  it("applies the mode whatever the umask", async () => {
    const path = join(directory, "credentials");
    await writeFileAtomic(path, "secret", { mode: 0o600 });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    await writeFileAtomic(path, "public", { mode: 0o604 });
    assert.equal((await stat(path)).mode & 0o777, 0o604);
  });

  it("writes the temp file in the temporary directory and creates missing directories when asked", async () => {
    const temporaryDirectory = join(directory, ".tmp");
    const path = join(directory, "bucket", "a", "b", "key");
    await writeFileAtomic(path, "body", { temporaryDirectory, createDirectories: true });
    assert.equal(await readFile(path, "utf8"), "body");
    assert.deepEqual(await readdir(temporaryDirectory), []);
    assert.deepEqual(await readdir(join(directory, "bucket", "a", "b")), ["key"]);
  });

  it("fails on a missing directory unless asked to create it, and removes the temp file", async () => {
    const temporaryDirectory = join(directory, ".tmp");
    const path = join(directory, "missing", "file");
    await assert.rejects(writeFileAtomic(path, "x"), { code: "ENOENT" });
    await writeFileAtomic(join(directory, "made"), "x", { temporaryDirectory, createDirectories: true });
    await assert.rejects(writeFileAtomic(path, "x", { temporaryDirectory }), { code: "ENOENT" });
    assert.deepEqual(await readdir(temporaryDirectory), []);
  });
});

describe("moveFileDurable", () => {
  let directory: string;
  beforeEach(async () => (directory = await mkdtemp(join(tmpdir(), "cairn-durable-move-"))));
  afterEach(() => rm(directory, { recursive: true, force: true }));

  it("moves a written file over the target, creating its directory when asked", async () => {
    const source = join(directory, "out.parquet.tmp");
    await writeFile(source, "rows");
    const target = join(directory, "eventdate=2024-06-01", "part.parquet");
    await assert.rejects(moveFileDurable(source, target), { code: "ENOENT" });
    await moveFileDurable(source, target, { createDirectories: true });
    assert.equal(await readFile(target, "utf8"), "rows");
    assert.deepEqual((await readdir(directory)).sort(), ["eventdate=2024-06-01"]);
  });
});
