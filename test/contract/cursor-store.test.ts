import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { FileCursorStore } from "../../src/stores/cursors/index.js";
import { cursorStoreContractSuite } from "./cursor-store.suite.js";

cursorStoreContractSuite("FileCursorStore", async () => {
  const directory = await mkdtemp(join(tmpdir(), "cairn-cursor-"));
  return {
    open: () => new FileCursorStore(join(directory, "cursor")),
    cleanup: () => rm(directory, { recursive: true, force: true }),
  };
});

describe("FileCursorStore specifics", () => {
  let directory: string;
  beforeEach(async () => (directory = await mkdtemp(join(tmpdir(), "cairn-cursor-"))));
  afterEach(() => rm(directory, { recursive: true, force: true }));

  it("keeps the cursor as one decimal line and no temp file beside it", async () => {
    const store = new FileCursorStore(join(directory, "cursor"));
    await store.save(41);
    await store.save(42);
    assert.equal(await readFile(join(directory, "cursor"), "utf8"), "42\n");
    assert.deepEqual(await readdir(directory), ["cursor"]);
  });

  it("refuses to load a damaged cursor file rather than restart from 0", async () => {
    for (const damaged of ["forty-two\n", "-3\n", "1.5\n"]) {
      await writeFile(join(directory, "cursor"), damaged);
      await assert.rejects(new FileCursorStore(join(directory, "cursor")).load(), /damaged/, JSON.stringify(damaged));
    }
  });
});
