import { migrate, safeInteger, type Migration, type PostgresDatabase } from "../postgres/index.js";
import type { CursorStore } from "./cursor-store.js";

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "consumer cursors",
    sql: `CREATE TABLE cairn_consumer_cursors (
            consumer TEXT PRIMARY KEY,
            seq      BIGINT NOT NULL CHECK (seq >= 0)
          )`,
  },
];

/** Consumer names are Cairn's own (`lake-writer`, `trail-delivery:<trail ARN>`), never a caller's. */
const CONSUMER_CHARS_MAX = 2_048;

/** The cursors of every consumer on one database: the embedded backend's file per consumer is a row per consumer here. */
export interface PostgresCursorStores {
  /** The cursor of `consumer`; cheap, opens nothing. */
  forConsumer(consumer: string): CursorStore;
}

/**
 * Opens (migrating) the cluster cursor table on `db`. A save is one upsert, durable once committed
 * (PostgreSQL's synchronous commit), so a crash leaves the old or the new value as the contract asks.
 * A consumer whose output is itself in PostgreSQL keeps its cursor in that transaction instead.
 *
 * @example const cursor = (await openPostgresCursorStores(db)).forConsumer("lake-writer");
 */
export async function openPostgresCursorStores(db: PostgresDatabase): Promise<PostgresCursorStores> {
  await migrate(db, "consumer-cursors", MIGRATIONS);
  return {
    forConsumer(consumer) {
      if (consumer.length === 0 || consumer.length > CONSUMER_CHARS_MAX)
        throw new RangeError(`A consumer name has 1 to ${CONSUMER_CHARS_MAX} characters.`);
      return {
        async load() {
          const [row] = await db.query<{ seq: string }>("SELECT seq FROM cairn_consumer_cursors WHERE consumer = $1", [
            consumer,
          ]);
          return row === undefined ? 0 : safeInteger(row.seq, "a cursor");
        },
        async save(seq) {
          if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`Invalid cursor ${seq}.`);
          await db.query(
            `INSERT INTO cairn_consumer_cursors (consumer, seq) VALUES ($1, $2)
             ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq`,
            [consumer, seq],
          );
        },
      };
    },
  };
}
