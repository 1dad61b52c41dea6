import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { ThreadedEventHistory } from "../../src/consumers/event-history/threaded-event-history.js";
import { toEventTime } from "../../src/lib/clock.js";
import { openJetStreamJournal } from "../../src/journal/jetstream-journal.js";
import { JournalUnavailableError, SliceReader, type JournalAppendItem } from "../../src/journal/index.js";
import { lookupAll } from "../event-history/brute-force.js";
import { FakeClock, loadSampleRecords, NOW_MS } from "../event-history/fixtures.js";
import { jetStreamJournals } from "../helpers/jetstream-journals.js";
import { natsServerMissingReason, startNatsServer } from "../helpers/nats-server.js";
import { readToHead } from "../helpers/read-to-head.js";

const skip = natsServerMissingReason();
const journals = jetStreamJournals(startNatsServer, 1);
after(() => journals.stop());

function items(prefix: string, count: number): JournalAppendItem[] {
  return Array.from({ length: count }, (_, i) => ({
    json: JSON.stringify({ eventID: `${prefix}-${i}`, eventName: "GetObject" }),
    dedupKey: `${prefix}-${i}`,
  }));
}

function ms(since: number): number {
  return Math.round(performance.now() - since);
}

describe("JetStream journal: two nodes on one stream", { skip }, () => {
  it("sees the other node's appends: head, waitForAppend, read, slice after prepareSlice, dedup", async () => {
    const { journal: a, stream, cleanup } = await journals.open();
    const b = await journals.attach(stream);
    try {
      const woken = b.waitForAppend(0);
      assert.deepEqual((await a.append(items("a", 5))).seqs, [1, 2, 3, 4, 5]);
      await woken;
      assert.equal(b.headSeq(), 5);
      assert.deepEqual(await b.read(1, 10), await a.read(1, 10));
      await b.prepareSlice(1, 10);
      const reader = new SliceReader();
      assert.deepEqual(await reader.read(structuredClone(b.slice(1, 10))), await a.read(1, 10));
      reader.close();

      assert.deepEqual((await b.append([...items("a", 2), ...items("b", 3)])).seqs, [null, null, 6, 7, 8]);
      await a.waitForAppend(5);
      assert.equal(a.headSeq(), 8);
      assert.deepEqual(
        (await a.read(6, 10)).map((entry) => entry.json),
        items("b", 3).map((item) => item.json),
      );
    } finally {
      await b.close();
      await cleanup();
    }
  });

  it("interleaves concurrent appends of two nodes into one dense sequence, nothing lost or doubled", async () => {
    const { journal: a, stream, cleanup } = await journals.open();
    const b = await journals.attach(stream);
    try {
      const calls = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).append(items(`w${i}`, 25)));
      const results = await Promise.all(calls);
      const seqs = results.flatMap((result) => result.seqs as number[]).sort((x, y) => x - y);
      assert.deepEqual(
        seqs,
        Array.from({ length: 500 }, (_, i) => i + 1),
      );
      const stored = new Map((await readToHead((from, max) => b.read(from, max), 500)).map((e) => [e.seq, e.json]));
      results.forEach((result, call) =>
        result.seqs.forEach((seq, i) => assert.equal(stored.get(seq!), items(`w${call}`, 25)[i]!.json)),
      );
    } finally {
      await b.close();
      await cleanup();
    }
  });

  it("feeds the event-history worker of another node (slices prepared from the stream)", async () => {
    const directory = mkdtempSync(join(tmpdir(), "cairn-jetstream-history-"));
    const { journal: a, stream, cleanup } = await journals.open();
    const b = await journals.attach(stream);
    const clock = new FakeClock(NOW_MS);
    const history = await ThreadedEventHistory.start({ path: join(directory, "h.db"), journal: b, clock });
    try {
      const records = loadSampleRecords()
        .slice(0, 120)
        .map((record, i) => ({
          json: JSON.stringify({ ...record, eventTime: toEventTime(NOW_MS - i * 60_000) }),
          dedupKey: `${i}`,
        }));
      await a.append(records);
      await history.waitFor(a.headSeq(), 60_000);
      assert.equal(history.cursor(), 120);
      const found = await lookupAll(history, {
        accountId: "123837392027",
        region: "us-east-1",
        attributes: [],
        startTimeMs: 0,
        endTimeMs: NOW_MS + 86_400_000,
        maxResults: 50,
      });
      assert.equal(found.length, 120);
    } finally {
      await history.close();
      await b.close();
      await cleanup();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

describe("JetStream journal: dedup beyond JetStream's duplicate window", { skip }, () => {
  const windowMs = 1_000;
  const key = (name: string): JournalAppendItem => ({ json: `{"key":"${name}"}`, dedupKey: name });
  /** Waits, without asserting anything about time, until JetStream has forgotten the message ids. */
  const pastTheWindow = (): Promise<void> => sleep(windowMs * 1.5);

  it("drops an old repeat through each node's key index; without one, stores it again", async () => {
    const { journal: a, stream, cleanup } = await journals.open({ duplicateWindowMs: windowMs });
    const b = await journals.attach(stream, { duplicateWindowMs: windowMs });
    const windowOnly = await journals.attach(stream, { duplicateWindowMs: windowMs }, false);
    try {
      assert.deepEqual((await a.append([key("k1")])).seqs, [1]);
      await pastTheWindow();
      assert.deepEqual((await a.append([key("k1"), key("k2")])).seqs, [null, 2]);
      assert.deepEqual((await b.append([key("k1")])).seqs, [null], "another node's index read k1 from the stream");
      assert.deepEqual((await windowOnly.append([key("k1")])).seqs, [3], "the documented gap without an index");
    } finally {
      await b.close();
      await windowOnly.close();
      await cleanup();
    }
  });

  it("forgets the keys of entries retention purged, on every node", async () => {
    const { journal: a, stream, cleanup } = await journals.open({ duplicateWindowMs: windowMs });
    const b = await journals.attach(stream, { duplicateWindowMs: windowMs });
    try {
      assert.deepEqual((await a.append([key("k1"), key("k2")])).seqs, [1, 2]);
      await pastTheWindow();
      assert.equal(await a.deleteBefore(2, 2_000_000_000_000), 1);
      assert.deepEqual((await b.append([key("k1"), key("k2")])).seqs, [3, null]);
      assert.deepEqual((await a.append([key("k1")])).seqs, [null]);
    } finally {
      await b.close();
      await cleanup();
    }
  });
});

describe("JetStream journal: a call that fails part-way (no atomic groups in JetStream 2.9)", { skip }, () => {
  /** The stream refuses messages over `bytes`: a deterministic failure of one item in the middle of a call. */
  async function limitMessageSize(stream: string, bytes: number): Promise<void> {
    const nc = await connect({ servers: [...(await journals.urls())] });
    try {
      const jsm = await jetstreamManager(nc);
      const { config } = await jsm.streams.info(stream);
      await jsm.streams.update(stream, { ...config, max_msg_size: bytes });
    } finally {
      await nc.close();
    }
  }
  const item = (key: string | undefined, size: number): JournalAppendItem => ({
    json: JSON.stringify({ key, pad: "x".repeat(size) }),
    ...(key === undefined ? {} : { dedupKey: key }),
  });

  it("stores part of the call and says unavailable; a keyed retry stores the rest, nothing twice", async () => {
    const { journal, stream, cleanup } = await journals.open();
    try {
      const call = [item("k1", 10), item("k2", 2_000), item("k3", 10)];
      await limitMessageSize(stream, 1_000);
      await assert.rejects(journal.append(call), JournalUnavailableError);
      assert.equal((await journal.read(1, 10)).length, 2, "k1 and k3 were stored, k2 was refused");
      await limitMessageSize(stream, -1);
      assert.deepEqual((await journal.append(call)).seqs, [null, 3, null]);
      const keys = (await journal.read(1, 10)).map((entry) => (JSON.parse(entry.json) as { key: string }).key);
      assert.deepEqual(keys, ["k1", "k3", "k2"]);
    } finally {
      await cleanup();
    }
  });

  it("stores an unkeyed item again when its call is retried (decision 0009, item 4)", async () => {
    const { journal, stream, cleanup } = await journals.open();
    try {
      const call = [item(undefined, 10), item(undefined, 2_000)];
      await limitMessageSize(stream, 1_000);
      await assert.rejects(journal.append(call), JournalUnavailableError);
      await limitMessageSize(stream, -1);
      assert.deepEqual((await journal.append(call)).seqs, [2, 3]);
      assert.equal((await journal.read(1, 10)).length, 3);
    } finally {
      await cleanup();
    }
  });
});

describe("JetStream journal: volume", { skip }, () => {
  it("appends and reads back 10,000 entries (times printed, not asserted)", async () => {
    const { journal, stream, cleanup } = await journals.open();
    try {
      let began = performance.now();
      for (let i = 0; i < 10; i++) await journal.append(items(`v${i}`, 1_000));
      process.stdout.write(`# JetStream journal: 10 appends of 1,000 entries in ${ms(began)} ms\n`);
      // Another connection with nothing cached: every entry comes from the stream.
      const fresh = await journals.attach(stream);
      try {
        began = performance.now();
        const entries = await readToHead((from, max) => fresh.read(from, max), 10_000);
        process.stdout.write(`# JetStream journal: 10,000 entries read on a cold node in ${ms(began)} ms\n`);
        assert.deepEqual(
          entries.map((entry) => entry.seq),
          Array.from({ length: 10_000 }, (_, i) => i + 1),
        );
        assert.equal(entries[4_321]!.json, items("v4", 1_000)[321]!.json);
        const seqs = Array.from({ length: 1_000 }, (_, i) => 1 + ((i * 7_919) % 10_000));
        const cold = await journals.attach(stream);
        began = performance.now();
        const found = await cold.readMany(seqs);
        process.stdout.write(`# JetStream journal: readMany of 1,000 scattered seqs in ${ms(began)} ms\n`);
        await cold.close();
        assert.equal(found.size, 1_000);
      } finally {
        await fresh.close();
      }
    } finally {
      await cleanup();
    }
  });
});

describe("JetStream journal: failure", { skip }, () => {
  it("refuses appends and readiness with JournalUnavailableError once the server is gone", async () => {
    const server = await startNatsServer();
    const journal = await openJetStreamJournal({ servers: server.url, stream: "gone", requestTimeoutMs: 1_000 });
    try {
      await journal.append(items("before", 3));
      await journal.checkWritable();
      await server.stop();
      await assert.rejects(journal.append(items("after", 3)), JournalUnavailableError);
      await assert.rejects(journal.checkWritable(), JournalUnavailableError);
      assert.equal(journal.headSeq(), 3);
    } finally {
      await journal.close();
      await server.stop();
    }
  });

  it("says why it cannot create the stream (R3 on a single server)", async () => {
    const urls = await journals.urls();
    await assert.rejects(
      openJetStreamJournal({ servers: urls, stream: "too-many-replicas", replicas: 3 }),
      /replica|peers|resources/i,
    );
  });

  it("refuses an existing stream whose limits would drop entries no consumer has read", async () => {
    const nc = await connect({ servers: [...(await journals.urls())] });
    try {
      await (await jetstreamManager(nc)).streams.add({ name: "limited", subjects: ["limited"], max_age: 3_600e9 });
    } finally {
      await nc.close();
    }
    await assert.rejects(openJetStreamJournal({ servers: await journals.urls(), stream: "limited" }), /limits/);
  });

  it("refuses a stream configuration it cannot keep its promises on", async () => {
    await assert.rejects(openJetStreamJournal({ servers: "nats://127.0.0.1:1", replicas: 6 }), RangeError);
  });
});
