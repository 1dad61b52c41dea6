import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { DedupStore } from "../../src/journal/dedup-store.js";
import {
  openJetStreamJournal,
  type JetStreamJournal,
  type JetStreamJournalOptions,
} from "../../src/journal/jetstream-journal.js";
import type { NatsServer } from "./nats-server.js";

/**
 * JetStream journals for tests: one server (or cluster) per test file, started on first use, and a
 * fresh stream per journal so each starts empty at seq 1. Each journal (a node) gets its own SQLite
 * key index in a temp dir, as a cluster node has in its data dir, unless `keyIndex` is false.
 */
export interface JetStreamJournals {
  /** A journal on a new stream. */
  open(
    options?: Partial<JetStreamJournalOptions>,
  ): Promise<{ journal: JetStreamJournal; stream: string; cleanup(): Promise<void> }>;
  /** Another journal (another connection and key index, as another node has) on an existing stream. */
  attach(stream: string, options?: Partial<JetStreamJournalOptions>, withKeyIndex?: boolean): Promise<JetStreamJournal>;
  /** The server's (or cluster's) client URLs, starting it if needed. */
  urls(): Promise<readonly string[]>;
  stop(): Promise<void>;
}

export function jetStreamJournals(
  start: () => Promise<NatsServer>,
  replicas: number,
  keyIndex = true,
): JetStreamJournals {
  let server: Promise<NatsServer> | undefined;
  let streams = 0;
  const dirs: string[] = [];
  const servers = async (): Promise<readonly string[]> => (await (server ??= start())).urls;
  const attach = async (
    stream: string,
    options: Partial<JetStreamJournalOptions> = {},
    withKeyIndex = keyIndex,
  ): Promise<JetStreamJournal> => {
    const dir = mkdtempSync(join(tmpdir(), "cairn-jetstream-keys-"));
    dirs.push(dir);
    return openJetStreamJournal({
      servers: await servers(),
      stream,
      replicas,
      ...(withKeyIndex ? { keyIndex: DedupStore.open(join(dir, "keys.sqlite")) } : {}),
      ...options,
    });
  };
  return {
    attach,
    urls: servers,
    async open(options = {}) {
      const stream = `journal-r${replicas}-${++streams}`;
      const journal = await attach(stream, options);
      return { journal, stream, cleanup: async () => dropStream(journal, await servers(), stream) };
    },
    async stop() {
      await (await server)?.stop();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Streams of finished tests would otherwise hold their raft groups (R3) and files until the server stops. */
async function dropStream(journal: JetStreamJournal, servers: readonly string[], stream: string): Promise<void> {
  await journal.close();
  const nc = await connect({ servers: [...servers] });
  try {
    await (await jetstreamManager(nc)).streams.delete(stream);
  } finally {
    await nc.close();
  }
}
