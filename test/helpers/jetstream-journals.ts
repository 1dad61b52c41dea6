import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { openJetStreamJournal, type JetStreamJournal } from "../../src/journal/jetstream-journal.js";
import type { NatsServer } from "./nats-server.js";

/**
 * JetStream journals for tests: one server (or cluster) per test file, started on first use, and a
 * fresh stream per journal so each starts empty at seq 1.
 */
export interface JetStreamJournals {
  /** A journal on a new stream. */
  open(): Promise<{ journal: JetStreamJournal; stream: string; cleanup(): Promise<void> }>;
  /** Another journal (another connection, as another node would have) on an existing stream. */
  attach(stream: string): Promise<JetStreamJournal>;
  stop(): Promise<void>;
}

export function jetStreamJournals(start: () => Promise<NatsServer>, replicas: number): JetStreamJournals {
  let server: Promise<NatsServer> | undefined;
  let streams = 0;
  const servers = async (): Promise<readonly string[]> => (await (server ??= start())).urls;
  const attach = async (stream: string): Promise<JetStreamJournal> =>
    openJetStreamJournal({ servers: await servers(), stream, replicas });
  return {
    attach,
    async open() {
      const stream = `journal-r${replicas}-${++streams}`;
      const journal = await attach(stream);
      return { journal, stream, cleanup: async () => dropStream(journal, await servers(), stream) };
    },
    async stop() {
      await (await server)?.stop();
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
