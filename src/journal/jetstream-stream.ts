import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";

/** The stream a JetStream journal lives in. */
export interface JournalStreamConfig {
  readonly stream: string;
  readonly subject: string;
  /** 1–5; a publish is acknowledged once a quorum of the replicas stored it. */
  readonly replicas: number;
  /** How long JetStream remembers a `Nats-Msg-Id` to drop a repeat. */
  readonly duplicateWindowMs: number;
}

/** The stream's first and last seq as the server reports them. */
export interface StreamBounds {
  readonly firstSeq: number;
  readonly lastSeq: number;
}

/**
 * No limits: nothing but `deleteBefore` (a purge of a prefix) ever removes an entry, so a consumer's
 * cursor never points past something the server dropped on its own, and seqs stay dense.
 * Direct gets stay off: any replica answers them, possibly one that has not caught up yet.
 */
function streamConfig(config: JournalStreamConfig): Partial<StreamConfig> & { name: string } {
  return {
    name: config.stream,
    subjects: [config.subject],
    storage: StorageType.File,
    num_replicas: config.replicas,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_msgs: -1,
    max_bytes: -1,
    max_age: 0,
    duplicate_window: config.duplicateWindowMs * 1_000_000,
    allow_direct: false,
  };
}

export function boundsOf(info: StreamInfo): StreamBounds {
  const lastSeq = info.state.last_seq;
  // An empty stream reports first_seq 0 until something was stored or purged.
  return { firstSeq: Math.max(info.state.first_seq, 1), lastSeq };
}

/**
 * How long a node keeps asking while requests about the stream time out: a replicated stream another
 * node is creating has no leader until its replicas elected one, and requests about it go unanswered.
 */
const STREAM_FORMING_WAIT_MS = 30_000;

/**
 * Creates the stream, or checks the one that is there, and resolves once the stream answers (it has
 * a leader). Several nodes may start at once: creating an identical stream twice succeeds, one that
 * lost the race reads the winner's, and a request that timed out while the stream was forming is
 * asked again (bounded).
 */
export async function ensureStream(jsm: JetStreamManager, config: JournalStreamConfig): Promise<StreamInfo> {
  const deadline = performance.now() + STREAM_FORMING_WAIT_MS;
  for (;;) {
    try {
      await ensureStreamOnce(jsm, config);
      // The answer to a create comes before the new stream's replicas elected a leader.
      return await jsm.streams.info(config.stream);
    } catch (error) {
      if (!(error instanceof Error && error.name === "TimeoutError") || performance.now() >= deadline) throw error;
    }
  }
}

async function ensureStreamOnce(jsm: JetStreamManager, config: JournalStreamConfig): Promise<StreamInfo> {
  let info: StreamInfo;
  try {
    info = await jsm.streams.info(config.stream);
  } catch (error) {
    if (!(error instanceof JetStreamApiError) || error.code !== JetStreamApiCodes.StreamNotFound) throw error;
    info = await jsm.streams
      .add(streamConfig(config))
      // Another node created it first; if it is still not there, the refusal of the add is the reason.
      .catch((refused: unknown) => jsm.streams.info(config.stream).catch(() => Promise.reject(refused)));
  }
  if (!info.config.subjects?.includes(config.subject))
    throw new Error(`JetStream stream ${config.stream} does not take subject ${config.subject}.`);
  if (info.config.max_msgs > 0 || info.config.max_bytes > 0 || info.config.max_age > 0)
    throw new Error(`JetStream stream ${config.stream} has limits that would drop entries consumers have not read.`);
  if (info.config.num_replicas !== config.replicas || info.config.duplicate_window !== config.duplicateWindowMs * 1e6)
    info = await jsm.streams.update(config.stream, {
      ...info.config,
      num_replicas: config.replicas,
      duplicate_window: config.duplicateWindowMs * 1_000_000,
    });
  return info;
}
