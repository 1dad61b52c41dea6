import { migrate, safeInteger, type Migration, type PostgresDatabase } from "../postgres/index.js";
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

/** The `rule-deliveries` component's schema, shared with the import (rule-deliveries-import.ts). */
export const RULE_DELIVERIES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "rule deliveries",
    sql: `CREATE TABLE cairn_rule_delivery_cursor (
            id  INTEGER PRIMARY KEY CHECK (id = 1),
            seq BIGINT NOT NULL
          );
          CREATE TABLE cairn_rule_deliveries (
            rule_arn            TEXT NOT NULL,
            target_id           TEXT NOT NULL,
            seq                 BIGINT NOT NULL,
            account_id          TEXT NOT NULL,
            first_attempt_at_ms BIGINT NOT NULL,
            attempts_made       INTEGER NOT NULL,
            next_attempt_at_ms  BIGINT NOT NULL,
            last_error          TEXT,
            last_http_status    INTEGER,
            last_attempt_at_ms  BIGINT,
            PRIMARY KEY (rule_arn, target_id, seq)
          );
          CREATE INDEX cairn_rule_deliveries_by_due ON cairn_rule_deliveries (next_attempt_at_ms, seq);
          CREATE INDEX cairn_rule_deliveries_by_seq ON cairn_rule_deliveries (seq);
          CREATE TABLE cairn_rule_delivery_failures (
            id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            account_id   TEXT NOT NULL,
            rule_arn     TEXT NOT NULL,
            failed_at_ms BIGINT NOT NULL,
            record       TEXT NOT NULL
          );
          CREATE INDEX cairn_rule_delivery_failures_by_account ON cairn_rule_delivery_failures (account_id, id);
          CREATE INDEX cairn_rule_delivery_failures_by_time ON cairn_rule_delivery_failures (failed_at_ms)`,
  },
  {
    version: 2,
    name: "what cairn migrate imported",
    // Read only by imports: a delivery done or a failure trimmed in the cluster is not brought back.
    sql: `CREATE TABLE cairn_rule_deliveries_imported (
            rule_arn  TEXT NOT NULL,
            target_id TEXT NOT NULL,
            seq       BIGINT NOT NULL,
            PRIMARY KEY (rule_arn, target_id, seq)
          );
          CREATE TABLE cairn_rule_delivery_failures_imported (
            record_sha256 TEXT PRIMARY KEY
          )`,
  },
  {
    version: 3,
    name: "sigma match deliveries",
    // The one cursor becomes the journal's and every queued delivery a journal delivery.
    sql: `CREATE TABLE cairn_rule_delivery_cursors (
            origin TEXT PRIMARY KEY,
            seq    BIGINT NOT NULL
          );
          INSERT INTO cairn_rule_delivery_cursors (origin, seq) SELECT 'journal', seq FROM cairn_rule_delivery_cursor;
          DROP TABLE cairn_rule_delivery_cursor;
          ALTER TABLE cairn_rule_deliveries ADD COLUMN origin TEXT NOT NULL DEFAULT 'journal', ADD COLUMN event TEXT;
          ALTER TABLE cairn_rule_deliveries ALTER COLUMN origin DROP DEFAULT;
          ALTER TABLE cairn_rule_deliveries DROP CONSTRAINT cairn_rule_deliveries_pkey,
            ADD PRIMARY KEY (rule_arn, target_id, origin, seq);
          ALTER TABLE cairn_rule_deliveries_imported ADD COLUMN origin TEXT NOT NULL DEFAULT 'journal';
          ALTER TABLE cairn_rule_deliveries_imported ALTER COLUMN origin DROP DEFAULT;
          ALTER TABLE cairn_rule_deliveries_imported DROP CONSTRAINT cairn_rule_deliveries_imported_pkey,
            ADD PRIMARY KEY (rule_arn, target_id, origin, seq)`,
  },
];

const KEY = "rule_arn = $1 AND target_id = $2 AND origin = $3 AND seq = $4";

/**
 * Opens (migrating) the cluster rule delivery store on `db`: the one node holding the rule
 * consumer's lease writes it; a zombie holder can only queue a delivery twice (ignored) or move the
 * cursor to where it already is (the cursor never goes back). Closing leaves `db` open.
 */
export async function openPostgresRuleDeliveryStore(db: PostgresDatabase): Promise<RuleDeliveryStore> {
  await migrate(db, "rule-deliveries", RULE_DELIVERIES_MIGRATIONS);
  return new PostgresRuleDeliveryStore(db);
}

class PostgresRuleDeliveryStore implements RuleDeliveryStore {
  private closed = false;

  constructor(private readonly db: PostgresDatabase) {}

  async cursor(origin: DeliveryOrigin): Promise<number> {
    this.open();
    const rows = await this.db.query<{ seq: string }>("SELECT seq FROM cairn_rule_delivery_cursors WHERE origin = $1", [
      origin,
    ]);
    return rows[0] === undefined ? 0 : safeInteger(rows[0].seq, "rule delivery cursor");
  }

  async enqueue(deliveries: readonly PendingDelivery[], throughSeq: number, origin: DeliveryOrigin): Promise<void> {
    this.open();
    assertAllOf(origin, deliveries);
    await this.db.transaction(async (tx) => {
      for (const delivery of deliveries)
        await tx.query(
          `INSERT INTO cairn_rule_deliveries (${PENDING_COLUMNS})
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
          pendingValues(delivery),
        );
      await tx.query(
        `INSERT INTO cairn_rule_delivery_cursors (origin, seq) VALUES ($1, $2)
         ON CONFLICT (origin) DO UPDATE SET seq = greatest(cairn_rule_delivery_cursors.seq, excluded.seq)`,
        [origin, throughSeq],
      );
    });
  }

  async due(nowMs: number, limit: number): Promise<PendingDelivery[]> {
    this.open();
    const rows = await this.db.query<PendingRow>(
      `SELECT ${PENDING_COLUMNS} FROM cairn_rule_deliveries WHERE next_attempt_at_ms <= $1
       ORDER BY next_attempt_at_ms, seq LIMIT $2`,
      [nowMs, limit],
    );
    return rows.map(pendingOfRow);
  }

  async nextDueAtMs(): Promise<number | undefined> {
    this.open();
    const rows = await this.db.query<{ at: string | null }>(
      "SELECT min(next_attempt_at_ms) AS at FROM cairn_rule_deliveries",
    );
    return rows[0]?.at == null ? undefined : Number(rows[0].at);
  }

  async remove(keys: readonly DeliveryKey[]): Promise<void> {
    this.open();
    if (keys.length === 0) return;
    await this.db.query(
      `DELETE FROM cairn_rule_deliveries d
       USING unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS k(rule_arn, target_id, origin, seq)
       WHERE d.rule_arn = k.rule_arn AND d.target_id = k.target_id AND d.origin = k.origin AND d.seq = k.seq`,
      [
        keys.map((key) => key.ruleArn),
        keys.map((key) => key.targetId),
        keys.map((key) => key.origin),
        keys.map((key) => key.seq),
      ],
    );
  }

  async retryLater(key: DeliveryKey, attempt: AttemptOutcome, nextAttemptAtMs: number): Promise<boolean> {
    this.open();
    const rows = await this.db.query(
      `UPDATE cairn_rule_deliveries SET attempts_made = $5, last_attempt_at_ms = $6, last_error = $7,
         last_http_status = $8, next_attempt_at_ms = $9 WHERE ${KEY} RETURNING seq`,
      [
        key.ruleArn,
        key.targetId,
        key.origin,
        key.seq,
        attempt.attemptsMade,
        attempt.attemptedAtMs,
        attempt.error,
        attempt.httpStatus ?? null,
        nextAttemptAtMs,
      ],
    );
    return rows.length > 0;
  }

  async giveUp(key: DeliveryKey, failure: DeliveryFailureRecord): Promise<boolean> {
    this.open();
    return this.db.transaction(async (tx) => {
      const removed = await tx.query(`DELETE FROM cairn_rule_deliveries WHERE ${KEY} RETURNING seq`, [
        key.ruleArn,
        key.targetId,
        key.origin,
        key.seq,
      ]);
      if (removed.length === 0) return false;
      await tx.query(
        `INSERT INTO cairn_rule_delivery_failures (account_id, rule_arn, failed_at_ms, record) VALUES ($1, $2, $3, $4)`,
        [failure.accountId, failure.ruleArn, Date.parse(failure.failedTime), failureRecordText(failure)],
      );
      return true;
    });
  }

  async listFailures(accountId: string, page: FailurePage): Promise<StoredFailure[]> {
    this.open();
    const rows = await this.db.query<FailureRow>(
      `SELECT id, record FROM cairn_rule_delivery_failures
       WHERE account_id = $1 AND id > $2 AND ($3::text IS NULL OR rule_arn = $3) ORDER BY id LIMIT $4`,
      [accountId, page.afterId ?? 0, page.ruleArn ?? null, page.limit],
    );
    return rows.map(failureOfRow);
  }

  async trimFailures(beforeMs: number): Promise<number> {
    this.open();
    const rows = await this.db.query("DELETE FROM cairn_rule_delivery_failures WHERE failed_at_ms < $1 RETURNING id", [
      beforeMs,
    ]);
    return rows.length;
  }

  async oldestQueuedSeq(): Promise<number | undefined> {
    this.open();
    const rows = await this.db.query<{ seq: string | null }>(
      "SELECT min(seq) AS seq FROM cairn_rule_deliveries WHERE origin = 'journal'",
    );
    return rows[0]?.seq == null ? undefined : Number(rows[0].seq);
  }

  async queuedCount(): Promise<number> {
    this.open();
    const rows = await this.db.query<{ n: string }>("SELECT count(*) AS n FROM cairn_rule_deliveries");
    return Number(rows[0]!.n);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private open(): void {
    if (this.closed) throw closedStoreError();
  }
}
