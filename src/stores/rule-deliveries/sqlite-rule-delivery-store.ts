import type Database from "better-sqlite3";
import { commitUnsynced, openSchemaDatabase } from "../../lib/sqlite-database.js";
import { preparedOnce } from "../../lib/sqlite-statement-cache.js";
import {
  failureOfRow,
  failureRecordText,
  PENDING_COLUMNS,
  pendingOfRow,
  pendingValues,
  type FailureRow,
  type PendingRow,
} from "./rule-delivery-rows.js";
import {
  assertAllOf,
  closedStoreError,
  type AttemptOutcome,
  type DeliveryFailureRecord,
  type DeliveryKey,
  type DeliveryOrigin,
  type FailurePage,
  type PendingDelivery,
  type RuleDeliveryStore,
  type StoredFailure,
} from "./rule-delivery-store.js";

const SCHEMA_VERSION = 2;
const DELIVERIES_TABLE = `
  CREATE TABLE IF NOT EXISTS rule_deliveries (
    rule_arn            TEXT NOT NULL,
    target_id           TEXT NOT NULL,
    origin              TEXT NOT NULL,
    seq                 INTEGER NOT NULL,
    account_id          TEXT NOT NULL,
    first_attempt_at_ms INTEGER NOT NULL,
    attempts_made       INTEGER NOT NULL,
    next_attempt_at_ms  INTEGER NOT NULL,
    last_error          TEXT,
    last_http_status    INTEGER,
    last_attempt_at_ms  INTEGER,
    event               TEXT,
    PRIMARY KEY (rule_arn, target_id, origin, seq)
  ) STRICT;
  CREATE INDEX IF NOT EXISTS rule_deliveries_by_due ON rule_deliveries (next_attempt_at_ms, seq);
  CREATE INDEX IF NOT EXISTS rule_deliveries_by_seq ON rule_deliveries (seq);
`;
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS rule_delivery_cursors (
    origin TEXT PRIMARY KEY,
    seq    INTEGER NOT NULL
  ) STRICT;
  ${DELIVERIES_TABLE}
  CREATE TABLE IF NOT EXISTS rule_delivery_failures (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id   TEXT NOT NULL,
    rule_arn     TEXT NOT NULL,
    failed_at_ms INTEGER NOT NULL,
    record       TEXT NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS rule_delivery_failures_by_account ON rule_delivery_failures (account_id, id);
  CREATE INDEX IF NOT EXISTS rule_delivery_failures_by_time ON rule_delivery_failures (failed_at_ms);
`;

/**
 * Schema 1 (before Sigma matches were delivered) had one cursor and journal deliveries only: its
 * cursor becomes the `journal` one and its deliveries `journal` deliveries.
 */
function upgrade(db: Database.Database): void {
  db.exec(`
    INSERT INTO rule_delivery_cursors (origin, seq) SELECT 'journal', seq FROM rule_delivery_cursor WHERE id = 1;
    DROP TABLE rule_delivery_cursor;
    ALTER TABLE rule_deliveries RENAME TO rule_deliveries_v1;
    DROP INDEX rule_deliveries_by_due;
    DROP INDEX rule_deliveries_by_seq;
    ${DELIVERIES_TABLE}
    INSERT INTO rule_deliveries (${PENDING_COLUMNS})
      SELECT rule_arn, target_id, 'journal', seq, account_id, first_attempt_at_ms, attempts_made, next_attempt_at_ms,
        last_error, last_http_status, last_attempt_at_ms, NULL FROM rule_deliveries_v1;
    DROP TABLE rule_deliveries_v1;
  `);
}

const KEY = "rule_arn = ? AND target_id = ? AND origin = ? AND seq = ?";

/**
 * Opens (creating) the embedded rule delivery store, `<data-dir>/rule-deliveries.db`. A queued
 * delivery is the only copy of a debt to a target, so every commit survives a power cut.
 */
export function openSqliteRuleDeliveryStore(path: string): RuleDeliveryStore {
  return new SqliteRuleDeliveryStore(
    preparedOnce(
      openSchemaDatabase(path, { schema: SCHEMA, schemaVersion: SCHEMA_VERSION, synchronous: "FULL", upgrade }),
    ),
  );
}

// better-sqlite3 is synchronous: each method does its work at once and hands back a settled promise.
class SqliteRuleDeliveryStore implements RuleDeliveryStore {
  private closed = false;
  private readonly insertPending: Database.Statement<unknown[]>;

  constructor(private readonly db: Database.Database) {
    this.insertPending = db.prepare(
      `INSERT INTO rule_deliveries (${PENDING_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
    );
  }

  async cursor(origin: DeliveryOrigin): Promise<number> {
    this.open();
    const row = this.db.prepare("SELECT seq FROM rule_delivery_cursors WHERE origin = ?").get(origin) as
      { seq: number } | undefined;
    return row?.seq ?? 0;
  }

  async enqueue(deliveries: readonly PendingDelivery[], throughSeq: number, origin: DeliveryOrigin): Promise<void> {
    this.open();
    assertAllOf(origin, deliveries);
    const commit = this.db.transaction(() => {
      for (const delivery of deliveries) this.insertPending.run(...pendingValues(delivery));
      this.db
        .prepare(
          `INSERT INTO rule_delivery_cursors (origin, seq) VALUES (?, ?)
           ON CONFLICT (origin) DO UPDATE SET seq = max(seq, excluded.seq)`,
        )
        .run(origin, throughSeq);
    });
    // Nothing queued: the cursor alone moves, and a power cut that loses it re-reads records that match nothing.
    if (deliveries.length === 0) commitUnsynced(this.db, () => commit());
    else commit();
  }

  async due(nowMs: number, limit: number): Promise<PendingDelivery[]> {
    this.open();
    const rows = this.db
      .prepare(
        `SELECT ${PENDING_COLUMNS} FROM rule_deliveries WHERE next_attempt_at_ms <= ?
         ORDER BY next_attempt_at_ms, seq LIMIT ?`,
      )
      .all(nowMs, limit) as PendingRow[];
    return rows.map(pendingOfRow);
  }

  async nextDueAtMs(): Promise<number | undefined> {
    this.open();
    const row = this.db.prepare("SELECT min(next_attempt_at_ms) AS at FROM rule_deliveries").get() as {
      at: number | null;
    };
    return row.at ?? undefined;
  }

  async remove(keys: readonly DeliveryKey[]): Promise<void> {
    this.open();
    const remove = this.db.prepare(`DELETE FROM rule_deliveries WHERE ${KEY}`);
    this.db.transaction(() => {
      for (const key of keys) remove.run(key.ruleArn, key.targetId, key.origin, key.seq);
    })();
  }

  async retryLater(key: DeliveryKey, attempt: AttemptOutcome, nextAttemptAtMs: number): Promise<boolean> {
    this.open();
    const result = this.db
      .prepare(
        `UPDATE rule_deliveries SET attempts_made = ?, last_attempt_at_ms = ?, last_error = ?, last_http_status = ?,
           next_attempt_at_ms = ? WHERE ${KEY}`,
      )
      .run(
        attempt.attemptsMade,
        attempt.attemptedAtMs,
        attempt.error,
        attempt.httpStatus ?? null,
        nextAttemptAtMs,
        key.ruleArn,
        key.targetId,
        key.origin,
        key.seq,
      );
    return result.changes > 0;
  }

  async giveUp(key: DeliveryKey, failure: DeliveryFailureRecord): Promise<boolean> {
    this.open();
    return this.db.transaction(() => {
      const removed = this.db
        .prepare(`DELETE FROM rule_deliveries WHERE ${KEY}`)
        .run(key.ruleArn, key.targetId, key.origin, key.seq);
      if (removed.changes === 0) return false;
      this.db
        .prepare("INSERT INTO rule_delivery_failures (account_id, rule_arn, failed_at_ms, record) VALUES (?, ?, ?, ?)")
        .run(failure.accountId, failure.ruleArn, Date.parse(failure.failedTime), failureRecordText(failure));
      return true;
    })();
  }

  async listFailures(accountId: string, page: FailurePage): Promise<StoredFailure[]> {
    this.open();
    const rows = this.db
      .prepare(
        `SELECT id, record FROM rule_delivery_failures
         WHERE account_id = ? AND id > ? AND (? IS NULL OR rule_arn = ?) ORDER BY id LIMIT ?`,
      )
      .all(accountId, page.afterId ?? 0, page.ruleArn ?? null, page.ruleArn ?? null, page.limit) as FailureRow[];
    return rows.map(failureOfRow);
  }

  async trimFailures(beforeMs: number): Promise<number> {
    this.open();
    return this.db.prepare("DELETE FROM rule_delivery_failures WHERE failed_at_ms < ?").run(beforeMs).changes;
  }

  async oldestQueuedSeq(): Promise<number | undefined> {
    this.open();
    const row = this.db.prepare("SELECT min(seq) AS seq FROM rule_deliveries WHERE origin = 'journal'").get() as {
      seq: number | null;
    };
    return row.seq ?? undefined;
  }

  async queuedCount(): Promise<number> {
    this.open();
    return (this.db.prepare("SELECT count(*) AS n FROM rule_deliveries").get() as { n: number }).n;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private open(): void {
    if (this.closed) throw closedStoreError();
  }
}
