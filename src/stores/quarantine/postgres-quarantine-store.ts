import { nulFree } from "../../lib/nul-free-text.js";
import { migrate, safeInteger, type Migration, type PostgresDatabase } from "../postgres/index.js";
import {
  QUARANTINE_ERROR_CHARS_MAX,
  QUARANTINE_PAGE_MAX,
  type QuarantinedRecord,
  type QuarantineStore,
} from "./quarantine.js";

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "quarantined records",
    // COLLATE "C": journal order is (seq, consumer) in byte order, whatever the database's locale.
    sql: `CREATE TABLE cairn_quarantined (
            seq               BIGINT NOT NULL,
            consumer          TEXT COLLATE "C" NOT NULL,
            event_id          TEXT,
            account_id        TEXT,
            error             TEXT NOT NULL,
            quarantined_at_ms BIGINT NOT NULL,
            PRIMARY KEY (seq, consumer)
          );
          CREATE INDEX cairn_quarantined_by_account ON cairn_quarantined (account_id, seq, consumer)`,
  },
  {
    version: 2,
    name: "quarantined records imported from a data directory",
    // Kept when an operator dismisses the record, so a later `cairn migrate --to-cluster` run does not bring it back.
    sql: `CREATE TABLE cairn_quarantine_imported (
            seq      BIGINT NOT NULL,
            consumer TEXT COLLATE "C" NOT NULL,
            PRIMARY KEY (seq, consumer)
          )`,
  },
];

/**
 * The optional filters as one fixed statement: a NULL parameter means "any". ($1 account, $2
 * consumer, $3 seq, $4/$5 the position a page starts after.)
 */
const FILTERS = `
  ($1::text IS NULL OR account_id = $1) AND ($2::text IS NULL OR consumer = $2)
  AND ($3::bigint IS NULL OR seq = $3) AND ($4::bigint IS NULL OR (seq, consumer) > ($4, $5::text))`;

interface QuarantineRow {
  seq: string;
  consumer: string;
  event_id: string | null;
  account_id: string | null;
  error: string;
  quarantined_at_ms: string;
}

/**
 * Opens (migrating) the cluster quarantine store on `db`: what any node's consumers set aside, in
 * one table. Closing the store leaves `db` open (its owner closes it).
 *
 * @example const quarantine = await openPostgresQuarantineStore(db);
 */
export async function openPostgresQuarantineStore(db: PostgresDatabase): Promise<QuarantineStore> {
  await migrate(db, "quarantine", MIGRATIONS);
  let closed = false;
  const query = async <R extends object>(text: string, values: unknown[] = []): Promise<R[]> => {
    if (closed) throw new Error("The quarantine store is closed.");
    return db.query<R>(text, values);
  };
  return {
    async add(record) {
      await query(
        `INSERT INTO cairn_quarantined (seq, consumer, event_id, account_id, error, quarantined_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (seq, consumer) DO NOTHING`,
        [
          record.seq,
          nulFree(record.consumer),
          nullable(record.eventId),
          nullable(record.accountId),
          nulFree(record.error.slice(0, QUARANTINE_ERROR_CHARS_MAX)),
          record.quarantinedAtMs,
        ],
      );
    },
    async remove(consumer, seq) {
      await query("DELETE FROM cairn_quarantined WHERE seq = $1 AND consumer = $2", [seq, nulFree(consumer)]);
    },
    async dismiss(which) {
      const rows = await query<{ seq: string }>(`DELETE FROM cairn_quarantined WHERE ${FILTERS} RETURNING seq`, [
        nullable(which.accountId),
        nullable(which.consumer),
        which.seq ?? null,
        null,
        null,
      ]);
      return rows.length;
    },
    async count() {
      const [row] = await query<{ n: string }>("SELECT count(*) AS n FROM cairn_quarantined");
      return safeInteger(row?.n ?? 0, "a count");
    },
    async list(options) {
      if (!Number.isInteger(options.maxResults) || options.maxResults < 1 || options.maxResults > QUARANTINE_PAGE_MAX)
        throw new RangeError(`maxResults must be an integer 1–${QUARANTINE_PAGE_MAX}.`);
      const rows = await query<QuarantineRow>(
        `SELECT * FROM cairn_quarantined WHERE ${FILTERS} ORDER BY seq, consumer LIMIT $6`,
        [
          nullable(options.accountId),
          nullable(options.consumer),
          null,
          options.after?.seq ?? null,
          options.after === undefined ? null : nulFree(options.after.consumer),
          options.maxResults + 1,
        ],
      );
      const records = rows.slice(0, options.maxResults).map(fromRow);
      const last = records.at(-1);
      return rows.length > options.maxResults && last !== undefined
        ? { records, next: { seq: last.seq, consumer: last.consumer } }
        : { records };
    },
    async close() {
      closed = true;
    },
  };
}

/**
 * Adds records another store kept (an embedded data dir's, `cairn migrate --to-cluster`, decision
 * 0016), as they are: consumer, seq, eventID, account, error and time. Each (consumer, seq) is
 * imported at most once, ever: one statement notes it in `cairn_quarantine_imported` and adds the
 * record only if it was not noted before, so a re-run adds nothing, and a record an operator has
 * dismissed since is not brought back. A record the table already holds (a node quarantined the
 * same seq first) is kept as it is. Resolves how many records were added.
 */
export async function importPostgresQuarantinedRecords(
  db: PostgresDatabase,
  records: readonly QuarantinedRecord[],
): Promise<number> {
  if (records.length === 0) return 0;
  await migrate(db, "quarantine", MIGRATIONS);
  const [row] = await db.query<{ added: string }>(
    `WITH page AS (
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
         AS p(seq, consumer, event_id, account_id, error, quarantined_at_ms)
     ), noted AS (
       INSERT INTO cairn_quarantine_imported (seq, consumer) SELECT seq, consumer FROM page
       ON CONFLICT DO NOTHING RETURNING seq, consumer
     ), added AS (
       INSERT INTO cairn_quarantined (seq, consumer, event_id, account_id, error, quarantined_at_ms)
       SELECT page.* FROM page JOIN noted USING (seq, consumer)
       ON CONFLICT (seq, consumer) DO NOTHING RETURNING 1
     )
     SELECT count(*) AS added FROM added`,
    [
      records.map((record) => record.seq),
      records.map((record) => nulFree(record.consumer)),
      records.map((record) => nullable(record.eventId)),
      records.map((record) => nullable(record.accountId)),
      records.map((record) => nulFree(record.error.slice(0, QUARANTINE_ERROR_CHARS_MAX))),
      records.map((record) => record.quarantinedAtMs),
    ],
  );
  return safeInteger(row?.added ?? 0, "a count");
}

function nullable(value: string | undefined): string | null {
  return value === undefined ? null : nulFree(value);
}

function fromRow(row: QuarantineRow): QuarantinedRecord {
  return {
    consumer: row.consumer,
    seq: safeInteger(row.seq, "a seq"),
    ...(row.event_id !== null ? { eventId: row.event_id } : {}),
    ...(row.account_id !== null ? { accountId: row.account_id } : {}),
    error: row.error,
    quarantinedAtMs: safeInteger(row.quarantined_at_ms, "a quarantine time"),
  };
}
