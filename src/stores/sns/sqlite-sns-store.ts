import { openSchemaDatabase } from "../../lib/sqlite-database.js";
import {
  assertTopicScope,
  closedStoreError,
  type NewSubscription,
  type SnsStore,
  type SnsSubscription,
  type SnsTopic,
} from "./sns-store.js";

const SCHEMA_VERSION = 1;
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS sns_topics (
    arn           TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL,
    region        TEXT NOT NULL,
    name          TEXT NOT NULL,
    display_name  TEXT NOT NULL,
    policy        TEXT,
    created_at_ms INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS sns_topics_by_scope ON sns_topics (account_id, region, arn);
  CREATE TABLE IF NOT EXISTS sns_subscriptions (
    arn              TEXT PRIMARY KEY,
    topic_arn        TEXT NOT NULL REFERENCES sns_topics (arn) ON DELETE CASCADE,
    account_id       TEXT NOT NULL,
    protocol         TEXT NOT NULL,
    endpoint         TEXT NOT NULL,
    status           TEXT NOT NULL,
    token_hash       TEXT NOT NULL,
    token_expires_ms INTEGER NOT NULL,
    created_at_ms    INTEGER NOT NULL,
    UNIQUE (topic_arn, protocol, endpoint)
  ) STRICT;
  CREATE INDEX IF NOT EXISTS sns_subscriptions_by_token ON sns_subscriptions (topic_arn, token_hash);
`;

interface TopicRow {
  arn: string;
  account_id: string;
  region: string;
  name: string;
  display_name: string;
  policy: string | null;
  created_at_ms: number;
}

interface SubscriptionRow {
  arn: string;
  topic_arn: string;
  account_id: string;
  protocol: string;
  endpoint: string;
  status: string;
  created_at_ms: number;
}

/** A stored row as the contract's topic (shared with the PostgreSQL backend). */
export function topicOfRow(row: TopicRow): SnsTopic {
  return {
    arn: row.arn,
    accountId: row.account_id,
    region: row.region,
    name: row.name,
    displayName: row.display_name,
    ...(row.policy !== null ? { policy: row.policy } : {}),
    createdAtMs: Number(row.created_at_ms),
  };
}

/** A stored row as the contract's subscription (shared with the PostgreSQL backend). */
export function subscriptionOfRow(row: SubscriptionRow): SnsSubscription {
  return {
    arn: row.arn,
    topicArn: row.topic_arn,
    accountId: row.account_id,
    protocol: row.protocol === "https" ? "https" : "http",
    endpoint: row.endpoint,
    status: row.status === "confirmed" ? "confirmed" : "pending",
    createdAtMs: Number(row.created_at_ms),
  };
}

const SUBSCRIPTION_COLUMNS = "arn, topic_arn, account_id, protocol, endpoint, status, created_at_ms";

/**
 * Opens (creating) the embedded SNS store, `<data-dir>/sns.db`. Every write is one statement or one
 * transaction, so connections in other processes see each change whole.
 *
 * @example const sns = openSqliteSnsStore(join(dataDir, "sns.db"));
 */
export function openSqliteSnsStore(path: string): SnsStore {
  // An acknowledged subscription or confirmation must survive a power cut.
  const db = openSchemaDatabase(path, { schema: SCHEMA, schemaVersion: SCHEMA_VERSION, synchronous: "FULL" });
  db.pragma("foreign_keys = ON");
  const topicByArn = db.prepare<[string], TopicRow>("SELECT * FROM sns_topics WHERE arn = ?");
  const subscriptionByArn = db.prepare<[string], SubscriptionRow>(
    `SELECT ${SUBSCRIPTION_COLUMNS} FROM sns_subscriptions WHERE arn = ?`,
  );
  let closed = false;
  const open = (): void => {
    if (closed) throw closedStoreError();
  };

  const subscribe = db.transaction((s: NewSubscription): SubscriptionRow | undefined => {
    if (topicByArn.get(s.topicArn) === undefined) return undefined;
    db.prepare(
      `INSERT INTO sns_subscriptions (${SUBSCRIPTION_COLUMNS}, token_hash, token_expires_ms)
       VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)
       ON CONFLICT (topic_arn, protocol, endpoint) DO UPDATE
         SET token_hash = excluded.token_hash, token_expires_ms = excluded.token_expires_ms
         WHERE sns_subscriptions.status = 'pending'`,
    ).run(s.arn, s.topicArn, s.accountId, s.protocol, s.endpoint, s.createdAtMs, s.tokenHash, s.tokenExpiresMs);
    return db
      .prepare<[string, string, string], SubscriptionRow>(
        `SELECT ${SUBSCRIPTION_COLUMNS} FROM sns_subscriptions WHERE topic_arn = ? AND protocol = ? AND endpoint = ?`,
      )
      .get(s.topicArn, s.protocol, s.endpoint);
  });

  const confirm = db.transaction((topicArn: string, tokenHash: string, nowMs: number) => {
    const row = db
      .prepare<[string, string, number], { arn: string }>(
        "SELECT arn FROM sns_subscriptions WHERE topic_arn = ? AND token_hash = ? AND token_expires_ms > ?",
      )
      .get(topicArn, tokenHash, nowMs);
    if (row === undefined) return undefined;
    db.prepare("UPDATE sns_subscriptions SET status = 'confirmed' WHERE arn = ?").run(row.arn);
    return subscriptionByArn.get(row.arn);
  });

  // better-sqlite3 is synchronous: each method does its work at once and hands back a settled promise.
  return {
    async createTopic(topic) {
      open();
      assertTopicScope(topic);
      const inserted = db
        .prepare(
          `INSERT INTO sns_topics (arn, account_id, region, name, display_name, policy, created_at_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (arn) DO NOTHING`,
        )
        .run(
          topic.arn,
          topic.accountId,
          topic.region,
          topic.name,
          topic.displayName,
          topic.policy ?? null,
          topic.createdAtMs,
        );
      return { topic: topicOfRow(topicByArn.get(topic.arn)!), created: inserted.changes === 1 };
    },
    async getTopic(arn) {
      open();
      const row = topicByArn.get(arn);
      return row === undefined ? undefined : topicOfRow(row);
    },
    async listTopics(scope, afterArn, limit) {
      open();
      return db
        .prepare<[string, string, string, number], TopicRow>(
          "SELECT * FROM sns_topics WHERE account_id = ? AND region = ? AND arn > ? ORDER BY arn LIMIT ?",
        )
        .all(scope.accountId, scope.region, afterArn ?? "", limit)
        .map(topicOfRow);
    },
    async countTopics(scope) {
      open();
      return db
        .prepare<[string, string], { n: number }>(
          "SELECT count(*) AS n FROM sns_topics WHERE account_id = ? AND region = ?",
        )
        .get(scope.accountId, scope.region)!.n;
    },
    async updateTopic(arn, change) {
      open();
      const result = db
        .prepare(
          `UPDATE sns_topics SET display_name = coalesce(?, display_name),
             policy = CASE WHEN ? THEN ? ELSE policy END WHERE arn = ?`,
        )
        .run(change.displayName ?? null, change.policy !== undefined ? 1 : 0, change.policy ?? null, arn);
      return result.changes === 1;
    },
    async deleteTopic(arn) {
      open();
      return db.prepare("DELETE FROM sns_topics WHERE arn = ?").run(arn).changes === 1;
    },
    async subscribe(subscription) {
      open();
      const row = subscribe(subscription);
      return row === undefined ? undefined : subscriptionOfRow(row);
    },
    async confirm(topicArn, tokenHash, nowMs) {
      open();
      const row = confirm(topicArn, tokenHash, nowMs);
      return row === undefined ? undefined : subscriptionOfRow(row);
    },
    async getSubscription(arn) {
      open();
      const row = subscriptionByArn.get(arn);
      return row === undefined ? undefined : subscriptionOfRow(row);
    },
    async listSubscriptions(topicArn, afterArn, limit) {
      open();
      return db
        .prepare<[string, string, number], SubscriptionRow>(
          `SELECT ${SUBSCRIPTION_COLUMNS} FROM sns_subscriptions WHERE topic_arn = ? AND arn > ? ORDER BY arn LIMIT ?`,
        )
        .all(topicArn, afterArn ?? "", limit)
        .map(subscriptionOfRow);
    },
    async countSubscriptions(topicArn) {
      open();
      const rows = db
        .prepare<[string], { status: string; n: number }>(
          "SELECT status, count(*) AS n FROM sns_subscriptions WHERE topic_arn = ? GROUP BY status",
        )
        .all(topicArn);
      const count = (status: string) => rows.find((row) => row.status === status)?.n ?? 0;
      return { confirmed: count("confirmed"), pending: count("pending") };
    },
    async unsubscribe(arn) {
      open();
      return db.prepare("DELETE FROM sns_subscriptions WHERE arn = ?").run(arn).changes === 1;
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
