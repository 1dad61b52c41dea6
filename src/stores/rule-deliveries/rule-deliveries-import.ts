import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { migrate, type PostgresDatabase, type Queryable } from "../postgres/index.js";
import { RULE_DELIVERIES_MIGRATIONS } from "./postgres-rule-delivery-store.js";
import { failureRecordText, PENDING_COLUMNS, pendingOfRow, type PendingRow } from "./rule-delivery-rows.js";
import type { DeliveryFailureRecord, DeliveryOrigin, PendingDelivery } from "./rule-delivery-store.js";

/** Everything an embedded rule delivery store holds: the cursors, the queued deliveries and the kept failures (oldest first). */
export interface RuleDeliveriesContents {
  readonly cursors: Readonly<Record<DeliveryOrigin, number>>;
  readonly queued: readonly PendingDelivery[];
  readonly failures: readonly DeliveryFailureRecord[];
}

/** A schema-1 file's queued deliveries, as PendingRow. */
const V1_PENDING_COLUMNS =
  "rule_arn, target_id, 'journal' AS origin, seq, account_id, first_attempt_at_ms, attempts_made, next_attempt_at_ms, last_error, last_http_status, last_attempt_at_ms, NULL AS event";

/** Rows per statement of an import. */
const IMPORT_ROWS = 1_000;

/**
 * Reads `<data-dir>/rule-deliveries.db` whole, read-only, for `cairn migrate --to-cluster` (the
 * contract lists failures per account and hands out due deliveries only). A missing file holds
 * nothing. Nothing in it is secret: a failure names its event's seq, never its content.
 */
export function readSqliteRuleDeliveries(path: string): RuleDeliveriesContents {
  if (!existsSync(path)) return { cursors: { journal: 0, sigma: 0 }, queued: [], failures: [] };
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    // Schema 1 (an older Cairn's file, not opened since) had the journal's cursor and deliveries only.
    const v1 = (db.pragma("user_version", { simple: true }) as number) === 1;
    const cursor = (origin: DeliveryOrigin): number =>
      (v1
        ? db.prepare<[string], { seq: number }>("SELECT seq FROM rule_delivery_cursor WHERE id = 1 AND ? = 'journal'")
        : db.prepare<[string], { seq: number }>("SELECT seq FROM rule_delivery_cursors WHERE origin = ?")
      ).get(origin)?.seq ?? 0;
    const columns = v1 ? V1_PENDING_COLUMNS : PENDING_COLUMNS;
    const queued = db
      .prepare<[], PendingRow>(`SELECT ${columns} FROM rule_deliveries ORDER BY origin, seq, rule_arn, target_id`)
      .all()
      .map(pendingOfRow);
    const failures = db
      .prepare<[], { record: string }>("SELECT record FROM rule_delivery_failures ORDER BY id")
      .all()
      .map((row) => JSON.parse(row.record) as DeliveryFailureRecord);
    return { cursors: { journal: cursor("journal"), sigma: cursor("sigma") }, queued, failures };
  } finally {
    db.close();
  }
}

/**
 * Brings an embedded store's contents into the cluster's, in one transaction: the cursor unless the
 * cluster's is as far (it never goes back), then the queued deliveries and the failures (in their
 * order, taking new ids after the cluster's). Like importPostgresQuarantinedRecords, the cluster
 * notes each delivery (rule, target, seq) and failure (SHA-256 of its record) it imported and adds
 * only those not noted before: a re-run queues nothing twice, neither a delivery a node has made
 * since (which would send it again) nor a failure it has trimmed. Resolves what it changed.
 */
export async function importPostgresRuleDeliveries(
  db: PostgresDatabase,
  contents: RuleDeliveriesContents,
): Promise<{ cursorMoved: boolean; queued: number; failures: number }> {
  await migrate(db, "rule-deliveries", RULE_DELIVERIES_MIGRATIONS);
  return db.transaction(async (tx) => {
    let cursorMoved = false;
    for (const [origin, seq] of Object.entries(contents.cursors)) {
      const moved = await tx.query(
        `INSERT INTO cairn_rule_delivery_cursors (origin, seq) VALUES ($1, $2)
         ON CONFLICT (origin) DO UPDATE SET seq = excluded.seq WHERE cairn_rule_delivery_cursors.seq < excluded.seq
         RETURNING 1`,
        [origin, seq],
      );
      cursorMoved ||= seq > 0 && moved.length === 1;
    }
    let queued = 0;
    for (let i = 0; i < contents.queued.length; i += IMPORT_ROWS)
      queued += await importQueued(tx, contents.queued.slice(i, i + IMPORT_ROWS));
    let failures = 0;
    for (let i = 0; i < contents.failures.length; i += IMPORT_ROWS)
      failures += await importFailures(tx, contents.failures.slice(i, i + IMPORT_ROWS));
    return { cursorMoved, queued, failures };
  });
}

async function importQueued(tx: Queryable, page: readonly PendingDelivery[]): Promise<number> {
  const [row] = await tx.query<{ added: string }>(
    `WITH page AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::integer[],
         $8::bigint[], $9::text[], $10::integer[], $11::bigint[], $12::text[]) AS p(${PENDING_COLUMNS})
     ), noted AS (
       INSERT INTO cairn_rule_deliveries_imported (rule_arn, target_id, origin, seq)
       SELECT rule_arn, target_id, origin, seq FROM page
       ON CONFLICT DO NOTHING RETURNING rule_arn, target_id, origin, seq
     ), added AS (
       INSERT INTO cairn_rule_deliveries (${PENDING_COLUMNS})
       SELECT page.* FROM page JOIN noted USING (rule_arn, target_id, origin, seq)
       ON CONFLICT DO NOTHING RETURNING 1
     )
     SELECT count(*) AS added FROM added`,
    [
      ...[page.map((d) => d.ruleArn), page.map((d) => d.targetId), page.map((d) => d.origin), page.map((d) => d.seq)],
      ...[page.map((d) => d.accountId), page.map((d) => d.firstAttemptAtMs), page.map((d) => d.attemptsMade)],
      ...[page.map((d) => d.nextAttemptAtMs), page.map((d) => d.lastError ?? null)],
      ...[page.map((d) => d.lastHttpStatus ?? null), page.map((d) => d.lastAttemptAtMs ?? null)],
      page.map((d) => d.event ?? null),
    ],
  );
  return Number(row?.added ?? 0);
}

async function importFailures(tx: Queryable, page: readonly DeliveryFailureRecord[]): Promise<number> {
  const records = page.map(failureRecordText);
  const [row] = await tx.query<{ added: string }>(
    `WITH page AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[])
         WITH ORDINALITY AS p(account_id, rule_arn, failed_at_ms, record, record_sha256, position)
     ), noted AS (
       INSERT INTO cairn_rule_delivery_failures_imported (record_sha256) SELECT record_sha256 FROM page
       ON CONFLICT DO NOTHING RETURNING record_sha256
     ), added AS (
       INSERT INTO cairn_rule_delivery_failures (account_id, rule_arn, failed_at_ms, record)
       SELECT account_id, rule_arn, failed_at_ms, record FROM page JOIN noted USING (record_sha256)
       ORDER BY position RETURNING 1
     )
     SELECT count(*) AS added FROM added`,
    [
      page.map((f) => f.accountId),
      page.map((f) => f.ruleArn),
      page.map((f) => Date.parse(f.failedTime)),
      records,
      records.map((record) => createHash("sha256").update(record).digest("hex")),
    ],
  );
  return Number(row?.added ?? 0);
}
