import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openFileJournal } from "../../src/journal/file-journal.js";
import { JournalUnavailableError, type JournalAppendItem } from "../../src/journal/journal.js";
import { openAppendFileOnDisk, type AppendFile, type OpenAppendFile } from "../../src/journal/segment-store.js";
import { pollUntil } from "../helpers/poll.js";

const clock = { nowMs: () => 1_700_000_000_000 };
const directories: string[] = [];

async function temporaryDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "cairn-journal-"));
  directories.push(directory);
  return directory;
}

after(async () => {
  for (const directory of directories) await rm(directory, { recursive: true, force: true });
});

function items(prefix: string, count: number): JournalAppendItem[] {
  return Array.from({ length: count }, (_, i) => ({ json: `{"id":"${prefix}-${i}"}`, dedupKey: `${prefix}-${i}` }));
}

/** Wraps the real append file, counting syncs and failing on demand. */
function instrumentedFiles(): {
  open: OpenAppendFile;
  syncs: () => number;
  fail: (what: "write" | "sync" | null) => void;
} {
  let syncs = 0;
  let failing: "write" | "sync" | null = null as "write" | "sync" | null;
  const open: OpenAppendFile = async (path) => {
    const file = await openAppendFileOnDisk(path);
    const wrapped: AppendFile = {
      async write(buffers) {
        if (failing === "write") throw Object.assign(new Error("EIO: injected"), { code: "EIO" });
        await file.write(buffers);
      },
      async sync() {
        syncs++;
        if (failing === "sync") throw Object.assign(new Error("EIO: injected fsync failure"), { code: "EIO" });
        await file.sync();
      },
      close: () => file.close(),
    };
    return wrapped;
  };
  return { open, syncs: () => syncs, fail: (what) => (failing = what) };
}

describe("FileJournal group commit", () => {
  it("coalesces appends queued during a write into one fsync", async () => {
    const files = instrumentedFiles();
    const journal = await openFileJournal({ directory: await temporaryDirectory(), clock, openAppendFile: files.open });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => journal.append(items(`c${i}`, 100))));
    // The first append starts a write at once; the other nine wait for it and share the next one.
    assert.equal(files.syncs(), 2);
    assert.deepEqual(results[1]!.seqs[0], 101);
    assert.equal(journal.headSeq(), 1000);
    await journal.close();
  });

  it("hands each durable group to its observers before answering, duplicates left out, a failed group never", async () => {
    const files = instrumentedFiles();
    const journal = await openFileJournal({ directory: await temporaryDirectory(), clock, openAppendFile: files.open });
    const seen: Array<{ firstSeq: number; ids: string[]; headAtCall: number }> = [];
    journal.observeAppends((group) => {
      seen.push({
        firstSeq: group.firstSeq,
        ids: group.items.map((item) => (JSON.parse(item.json) as { id: string }).id),
        headAtCall: journal.headSeq(),
      });
    });
    let stoppedSaw = 0;
    const stop = journal.observeAppends(() => stoppedSaw++);
    // A faulty observer changes nothing for the journal or the others.
    journal.observeAppends(() => {
      throw new Error("observer fault");
    });
    const first = journal.append(items("a", 3));
    assert.equal(seen.length, 0, "not before the group is durable");
    await first;
    assert.equal(seen.length, 1, "before the append is answered");
    stop();
    await journal.append([...items("a", 2), ...items("b", 2)]);
    files.fail("sync");
    await assert.rejects(journal.append(items("c", 2)), JournalUnavailableError);
    assert.deepEqual(seen, [
      { firstSeq: 1, ids: ["a-0", "a-1", "a-2"], headAtCall: 3 },
      { firstSeq: 4, ids: ["b-0", "b-1"], headAtCall: 5 },
    ]);
    assert.equal(stoppedSaw, 1);
    await journal.close();
  });

  it("resolves an all-duplicate append without writing", async () => {
    const files = instrumentedFiles();
    const journal = await openFileJournal({ directory: await temporaryDirectory(), clock, openAppendFile: files.open });
    await journal.append(items("d", 3));
    assert.deepEqual((await journal.append(items("d", 3))).seqs, [null, null, null]);
    assert.equal(files.syncs(), 1);
    await journal.close();
  });
});

/** Append files whose syncs wait until released, so that the writer pipeline's overlap is observable. */
function gatedFiles(): { open: OpenAppendFile; syncs: () => number; release: () => void; fail: (on: boolean) => void } {
  let syncs = 0;
  let failing = false;
  let waiting: Array<() => void> = [];
  const open: OpenAppendFile = async (path) => {
    const file = await openAppendFileOnDisk(path);
    return {
      write: (buffers) => file.write(buffers),
      async sync() {
        syncs++;
        await new Promise<void>((resolve) => waiting.push(resolve));
        if (failing) throw Object.assign(new Error("EIO: injected fsync failure"), { code: "EIO" });
        await file.sync();
      },
      close: () => file.close(),
    };
  };
  const release = (): void => {
    const released = waiting;
    waiting = [];
    for (const resolve of released) resolve();
  };
  return { open, syncs: () => syncs, release, fail: (on) => (failing = on) };
}

/** Gives the writer a moment: only to show that something does NOT happen (a machine under load may be slow). */
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 20));

/** Waits until the writer has reached a gated sync (or whatever `condition` says), however loaded the machine. */
const until = (condition: () => boolean): Promise<true> =>
  pollUntil(condition, { timeoutMs: 10_000, intervalMs: 5, message: "the journal writer to get there" });

describe("FileJournal writer pipeline", () => {
  it("plans the next group while one is syncing, and never stores a key of the syncing group twice", async () => {
    const files = gatedFiles();
    const journal = await openFileJournal({ directory: await temporaryDirectory(), clock, openAppendFile: files.open });
    const first = journal.append(items("k", 4));
    await until(() => files.syncs() === 1);
    const second = journal.append([...items("k", 2), ...items("m", 2)]);
    await settle();
    assert.equal(journal.headSeq(), 0, "nothing is visible before its sync");
    assert.equal(files.syncs(), 1, "the second group waits for the first to be durable");
    files.release();
    await until(() => files.syncs() === 2);
    files.release();
    assert.deepEqual((await first).seqs, [1, 2, 3, 4]);
    assert.deepEqual((await second).seqs, [null, null, 5, 6]);
    assert.equal(journal.headSeq(), 6);
    await journal.close();
  });

  it("covers single-record appends (self-audit records) that arrive during an fsync with the next one, answering none before it", async () => {
    const files = gatedFiles();
    const journal = await openFileJournal({ directory: await temporaryDirectory(), clock, openAppendFile: files.open });
    const settled = new Set<number>();
    const track = (i: number, append: Promise<unknown>): Promise<unknown> => append.then(() => settled.add(i));
    const first = track(0, journal.append([{ json: `{"call":0}` }]));
    await until(() => files.syncs() === 1);
    // Twenty calls' own records, without dedup keys, as audited routes append them.
    const waiting = Array.from({ length: 20 }, (_, i) => track(i + 1, journal.append([{ json: `{"call":${i + 1}}` }])));
    await settle();
    assert.equal(settled.size, 0, "no caller is answered before the fsync covering its record");
    files.release();
    await first;
    await until(() => files.syncs() === 2);
    await settle();
    assert.deepEqual([...settled], [0], "the twenty wait for the second fsync");
    files.release();
    await Promise.all(waiting);
    assert.equal(files.syncs(), 2, "twenty records, one fsync");
    assert.equal(journal.headSeq(), 21);
    await journal.close();
  });

  it("rejects a group planned on top of one whose sync failed, and forgets the keys of both", async () => {
    const files = gatedFiles();
    let nowMs = 1_700_000_000_000;
    const journal = await openFileJournal({
      directory: await temporaryDirectory(),
      clock: { nowMs: () => nowMs },
      openAppendFile: files.open,
    });
    const first = journal.append(items("a", 3));
    await until(() => files.syncs() === 1);
    const second = journal.append([...items("a", 1), ...items("b", 2)]);
    await settle();
    files.fail(true);
    files.release();
    await assert.rejects(first, JournalUnavailableError);
    await assert.rejects(second, JournalUnavailableError);
    files.fail(false);
    nowMs += 2_000;
    const syncsBefore = files.syncs();
    const retry = journal.append([...items("a", 3), ...items("b", 2)]);
    await until(() => files.syncs() > syncsBefore);
    files.release();
    assert.deepEqual((await retry).seqs, [1, 2, 3, 4, 5], "neither failed group left its keys behind");
    await journal.close();
  });
});

describe("FileJournal fails closed", () => {
  for (const what of ["write", "sync"] as const) {
    it(`rejects on a ${what} failure, acknowledges nothing after it, and recovers on reopen`, async () => {
      const directory = await temporaryDirectory();
      const files = instrumentedFiles();
      let journal = await openFileJournal({ directory, clock, openAppendFile: files.open });
      await journal.append(items("ok", 5));
      files.fail(what);
      const failed = journal.append(items("lost", 5));
      const queued = journal.append(items("queued", 5));
      await assert.rejects(failed, JournalUnavailableError);
      await assert.rejects(queued, JournalUnavailableError);
      await assert.rejects(journal.append(items("later", 1)), JournalUnavailableError);
      assert.equal(journal.headSeq(), 5);
      assert.equal((await journal.read(1, 100)).length, 5);
      await journal.close();

      journal = await openFileJournal({ directory, clock });
      // A failed fsync may still have reached the disk (the failed and queued appends may have
      // shared one group); either way the journal is whole and dense, and a retry is deduplicated.
      const head = journal.headSeq();
      assert.ok([5, 10, 15].includes(head), `head ${head}`);
      assert.equal((await journal.read(1, 100)).length, head);
      const retried = await journal.append(items("lost", 5));
      assert.equal(retried.seqs.filter((seq) => seq !== null).length, head === 5 ? 5 : 0);
      await journal.close();
    });
  }
});

describe("FileJournal recovers in place once storage works again", () => {
  for (const what of ["write", "sync"] as const) {
    it(`after a ${what} failure: refuses while failing, then cuts the tail and acknowledges again`, async () => {
      const directory = await temporaryDirectory();
      const files = instrumentedFiles();
      let nowMs = 1_700_000_000_000;
      const movingClock = { nowMs: () => nowMs };
      let journal = await openFileJournal({ directory, clock: movingClock, openAppendFile: files.open });
      await journal.append(items("ok", 5));
      files.fail(what);
      await assert.rejects(journal.append(items("lost", 5)), JournalUnavailableError);
      nowMs += 2_000;
      await assert.rejects(journal.append(items("still-failing", 1)), JournalUnavailableError);
      files.fail(null);
      await assert.rejects(
        journal.append(items("too-soon", 1)),
        JournalUnavailableError,
        "recovery waits its interval",
      );
      nowMs += 2_000;
      const recovered = await journal.append(items("after", 3));
      assert.deepEqual(recovered.seqs, [6, 7, 8], "the failed group's tail was cut back; seqs stay dense");
      assert.equal((await journal.read(1, 100)).length, 8);
      await journal.close();

      journal = await openFileJournal({ directory, clock: movingClock });
      assert.equal(journal.headSeq(), 8);
      const entries = await journal.read(1, 100);
      assert.deepEqual(
        entries.map((e) => JSON.parse(e.json).id),
        ["ok-0", "ok-1", "ok-2", "ok-3", "ok-4", "after-0", "after-1", "after-2"],
      );
      assert.deepEqual(
        (await journal.append(items("lost", 5))).seqs,
        [9, 10, 11, 12, 13],
        "refused items were never stored",
      );
      await journal.close();
    });
  }
});

describe("FileJournal checkWritable", () => {
  it("rejects while writes fail and recovery cannot help, and resolves once the disk takes writes again", async () => {
    const files = instrumentedFiles();
    let nowMs = 1_700_000_000_000;
    const movingClock = { nowMs: () => nowMs };
    const journal = await openFileJournal({
      directory: await temporaryDirectory(),
      clock: movingClock,
      openAppendFile: files.open,
    });
    await journal.checkWritable();
    files.fail("write");
    await assert.rejects(journal.append(items("w", 1)), JournalUnavailableError);
    await assert.rejects(journal.checkWritable(), JournalUnavailableError);
    files.fail(null);
    // Recovery runs at most once a second; a probe within that second still says no.
    await assert.rejects(journal.checkWritable(), JournalUnavailableError);
    nowMs += 1_001;
    await journal.checkWritable();
    assert.equal(journal.headSeq(), 0, "the probe appended nothing");
    assert.deepEqual((await journal.append(items("w", 1))).seqs, [1]);
    await journal.close();
  });
});
