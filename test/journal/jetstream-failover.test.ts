import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { DedupStore } from "../../src/journal/dedup-store.js";
import { openJetStreamJournal, type JetStreamJournal } from "../../src/journal/jetstream-journal.js";
import { JournalUnavailableError, type JournalAppendItem } from "../../src/journal/index.js";
import { natsServerMissingReason, startNatsCluster, type NatsServer } from "../helpers/nats-server.js";
import { pollUntil } from "../helpers/poll.js";
import { readToHead } from "../helpers/read-to-head.js";

const skip = natsServerMissingReason();
const STREAM = "failover";
const WRITERS = 2;
const BATCHES_PER_WRITER = 30;
const BATCH = 50;

function batch(writer: number, index: number): JournalAppendItem[] {
  return Array.from({ length: BATCH }, (_, i) => {
    const id = `w${writer}-b${index}-${i}`;
    return { json: JSON.stringify({ eventID: id }), dedupKey: id };
  });
}

async function leaderOf(cluster: NatsServer): Promise<string> {
  const nc = await connect({ servers: [...cluster.urls] });
  try {
    const info = await (await jetstreamManager(nc)).streams.info(STREAM);
    return info.cluster!.leader!;
  } finally {
    await nc.close();
  }
}

/** Appends like a capture path: a refused call is retried with the same keys until it is acknowledged. */
async function writer(journal: JetStreamJournal, id: number, progress: { batches: number; refusals: number }) {
  for (let index = 0; index < BATCHES_PER_WRITER; index++) {
    for (;;) {
      try {
        await journal.append(batch(id, index));
        progress.batches++;
        break;
      } catch (error) {
        if (!(error instanceof JournalUnavailableError)) throw error;
        progress.refusals++;
        await sleep(200);
      }
    }
  }
}

/**
 * Right after a failover the new leader may still be catching up and a request may time out:
 * consumers retry such calls (the runner does), and so do this test's checks, for at most 30 s.
 */
async function eventually<T>(call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(500);
    }
  }
}

describe("JetStream journal on an R3 cluster: the stream leader is killed under load", { skip }, () => {
  it("opens on several nodes at once while a new R3 stream forms (requests about it time out until it has a leader)", async () => {
    const cluster = await startNatsCluster();
    const directory = mkdtempSync(join(tmpdir(), "cairn-jetstream-forming-"));
    try {
      // The race is short: a few fresh streams make it likely that one node asks while another creates.
      for (let round = 0; round < 4; round++) {
        const opened = await Promise.allSettled(
          [1, 2].map((node) =>
            openJetStreamJournal({
              servers: cluster.urls,
              stream: `forming-${round}`,
              replicas: 3,
              // Each unanswered request costs this long before it is asked again.
              requestTimeoutMs: 1_000,
              keyIndex: DedupStore.open(join(directory, `keys-${round}-${node}.sqlite`)),
            }),
          ),
        );
        const journals = opened.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
        await Promise.all(journals.map((journal) => journal.close()));
        assert.deepEqual(
          opened.flatMap((result) => (result.status === "rejected" ? [String(result.reason)] : [])),
          [],
          `every node opened the journal (round ${round})`,
        );
      }
    } finally {
      await cluster.stop();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("loses nothing acknowledged and stores nothing twice; appends go on with the new leader", async () => {
    const cluster = await startNatsCluster();
    const directory = mkdtempSync(join(tmpdir(), "cairn-jetstream-failover-"));
    const journal = await openJetStreamJournal({
      servers: cluster.urls,
      stream: STREAM,
      replicas: 3,
      requestTimeoutMs: 2_000,
      keyIndex: DedupStore.open(join(directory, "keys.sqlite")),
    });
    try {
      const progress = { batches: 0, refusals: 0 };
      const writers = Array.from({ length: WRITERS }, (_, id) => writer(journal, id, progress));
      await pollUntil(() => progress.batches >= 10, { message: "10 batches acknowledged before the kill" });
      const leader = await eventually(() => leaderOf(cluster));
      await cluster.kill(leader);
      await Promise.all(writers);
      process.stdout.write(`# leader ${leader} killed; ${progress.refusals} appends refused and retried\n`);
      assert.notEqual(await eventually(() => leaderOf(cluster)), leader);

      const total = WRITERS * BATCHES_PER_WRITER * BATCH;
      const entries = await readToHead((from, max) => eventually(() => journal.read(from, max)), total);
      assert.deepEqual(
        entries.map((entry) => entry.seq),
        Array.from({ length: total }, (_, i) => i + 1),
        "every acknowledged entry once, seqs dense",
      );
      const ids = new Set(entries.map((entry) => (JSON.parse(entry.json) as { eventID: string }).eventID));
      assert.equal(ids.size, total);
      assert.equal(journal.headSeq(), total);
    } finally {
      await journal.close();
      await cluster.stop();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
