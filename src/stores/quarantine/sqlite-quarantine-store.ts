import { openSchemaDatabase } from "../../lib/sqlite-database.js";
import {
  QUARANTINE_ERROR_CHARS_MAX,
  QUARANTINE_PAGE_MAX,
  type QuarantineDismissal,
  type QuarantinedRecord,
  type QuarantineListOptions,
  type QuarantinePage,
  type QuarantineStore,
} from "./quarantine.js";

interface QuarantineRow {
  seq: number;
  consumer: string;
  event_id: string | null;
  account_id: string | null;
  error: string;
  quarantined_at_ms: number;
}

const SCHEMA_VERSION = 1;
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS quarantined (
    seq               INTEGER NOT NULL,
    consumer          TEXT NOT NULL,
    event_id          TEXT,
    account_id        TEXT,
    error             TEXT NOT NULL,
    quarantined_at_ms INTEGER NOT NULL,
    PRIMARY KEY (seq, consumer)
  ) STRICT;
  CREATE INDEX IF NOT EXISTS quarantined_by_account ON quarantined (account_id, seq, consumer);
`;

/**
 * Opens (creating) `<data-dir>/quarantine.db`. Quarantines are rare and each one stands for a record
 * missing from a store: every commit is fully synced.
 */
export function openSqliteQuarantineStore(path: string): QuarantineStore {
  const db = openSchemaDatabase(path, { schema: SCHEMA, schemaVersion: SCHEMA_VERSION, synchronous: "FULL" });
  const insert = db.prepare<[QuarantineRow]>(
    `INSERT INTO quarantined (seq, consumer, event_id, account_id, error, quarantined_at_ms)
     VALUES (@seq, @consumer, @event_id, @account_id, @error, @quarantined_at_ms)
     ON CONFLICT (seq, consumer) DO NOTHING`,
  );
  const remove = db.prepare<[number, string]>("DELETE FROM quarantined WHERE seq = ? AND consumer = ?");
  const count = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM quarantined");
  return {
    async add(record) {
      insert.run(toRow(record));
    },
    async remove(consumer, seq) {
      remove.run(seq, consumer);
    },
    async dismiss(which) {
      const { where, values } = filters(which);
      return db.prepare<Array<string | number>>(`DELETE FROM quarantined ${where}`).run(...values).changes;
    },
    async count() {
      return count.get()!.n;
    },
    async list(options) {
      return listPage(db, options);
    },
    async close() {
      db.close();
    },
  };
}

/** One page in (seq, consumer) order; the filters are optional, so the statement is built per call. */
function listPage(db: ReturnType<typeof openSchemaDatabase>, options: QuarantineListOptions): QuarantinePage {
  if (!Number.isInteger(options.maxResults) || options.maxResults < 1 || options.maxResults > QUARANTINE_PAGE_MAX)
    throw new RangeError(`maxResults must be an integer 1–${QUARANTINE_PAGE_MAX}.`);
  const { where, values } = filters(options);
  const rows = db
    .prepare<Array<string | number>, QuarantineRow>(`SELECT * FROM quarantined ${where} ORDER BY seq, consumer LIMIT ?`)
    .all(...values, options.maxResults + 1);
  const records = rows.slice(0, options.maxResults).map(fromRow);
  const last = records.at(-1);
  return rows.length > options.maxResults && last !== undefined
    ? { records, next: { seq: last.seq, consumer: last.consumer } }
    : { records };
}

/** The WHERE clause (or "") of the optional filters; values are bound, never spliced. */
function filters(options: QuarantineDismissal & Pick<QuarantineListOptions, "after">): {
  where: string;
  values: Array<string | number>;
} {
  const where: string[] = [];
  const values: Array<string | number> = [];
  if (options.accountId !== undefined) {
    where.push("account_id = ?");
    values.push(options.accountId);
  }
  if (options.consumer !== undefined) {
    where.push("consumer = ?");
    values.push(options.consumer);
  }
  if (options.seq !== undefined) {
    where.push("seq = ?");
    values.push(options.seq);
  }
  if (options.after !== undefined) {
    where.push("(seq > ? OR (seq = ? AND consumer > ?))");
    values.push(options.after.seq, options.after.seq, options.after.consumer);
  }
  return { where: where.length > 0 ? `WHERE ${where.join(" AND ")}` : "", values };
}

function toRow(record: QuarantinedRecord): QuarantineRow {
  return {
    seq: record.seq,
    consumer: record.consumer,
    event_id: record.eventId ?? null,
    account_id: record.accountId ?? null,
    error: record.error.slice(0, QUARANTINE_ERROR_CHARS_MAX),
    quarantined_at_ms: record.quarantinedAtMs,
  };
}

function fromRow(row: QuarantineRow): QuarantinedRecord {
  return {
    consumer: row.consumer,
    seq: row.seq,
    ...(row.event_id !== null ? { eventId: row.event_id } : {}),
    ...(row.account_id !== null ? { accountId: row.account_id } : {}),
    error: row.error,
    quarantinedAtMs: row.quarantined_at_ms,
  };
}
