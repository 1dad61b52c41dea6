import type Database from "better-sqlite3";
import { openSchemaDatabase } from "../../lib/sqlite-database.js";
import {
  SUBSCRIPTION_COLUMNS,
  subscriptionOfRow,
  topicOfRow,
  type SubscriptionRow,
  type TopicRow,
} from "./sns-rows.js";
import {
  assertTopicScope,
  closedStoreError,
  type NewSubscription,
  type SnsStore,
  type SnsSubscription,
  type SnsTopic,
  type TopicChange,
  type TopicScope,
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
  return new SqliteSnsStore(db);
}

// better-sqlite3 is synchronous: each method does its work at once and hands back a settled promise.
class SqliteSnsStore implements SnsStore {
  private closed = false;
  private readonly topicByArn: Database.Statement<[string], TopicRow>;
  private readonly subscriptionByArn: Database.Statement<[string], SubscriptionRow>;

  constructor(private readonly db: Database.Database) {
    this.topicByArn = db.prepare<[string], TopicRow>("SELECT * FROM sns_topics WHERE arn = ?");
    this.subscriptionByArn = db.prepare<[string], SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM sns_subscriptions WHERE arn = ?`,
    );
  }

  async createTopic(topic: SnsTopic): Promise<{ topic: SnsTopic; created: boolean }> {
    this.open();
    assertTopicScope(topic);
    const { arn, accountId, region, name, displayName, policy, createdAtMs } = topic;
    const inserted = this.db
      .prepare(
        `INSERT INTO sns_topics (arn, account_id, region, name, display_name, policy, created_at_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (arn) DO NOTHING`,
      )
      .run(arn, accountId, region, name, displayName, policy ?? null, createdAtMs);
    return { topic: topicOfRow(this.topicByArn.get(arn)!), created: inserted.changes === 1 };
  }

  async getTopic(arn: string): Promise<SnsTopic | undefined> {
    this.open();
    const row = this.topicByArn.get(arn);
    return row === undefined ? undefined : topicOfRow(row);
  }

  async listTopics(scope: TopicScope, afterArn: string | undefined, limit: number): Promise<SnsTopic[]> {
    this.open();
    return this.db
      .prepare<[string, string, string, number], TopicRow>(
        "SELECT * FROM sns_topics WHERE account_id = ? AND region = ? AND arn > ? ORDER BY arn LIMIT ?",
      )
      .all(scope.accountId, scope.region, afterArn ?? "", limit)
      .map(topicOfRow);
  }

  async countTopics(scope: TopicScope): Promise<number> {
    this.open();
    return this.db
      .prepare<[string, string], { n: number }>(
        "SELECT count(*) AS n FROM sns_topics WHERE account_id = ? AND region = ?",
      )
      .get(scope.accountId, scope.region)!.n;
  }

  async updateTopic(arn: string, change: TopicChange): Promise<boolean> {
    this.open();
    const result = this.db
      .prepare(
        `UPDATE sns_topics SET display_name = coalesce(?, display_name),
           policy = CASE WHEN ? THEN ? ELSE policy END WHERE arn = ?`,
      )
      .run(change.displayName ?? null, change.policy !== undefined ? 1 : 0, change.policy ?? null, arn);
    return result.changes === 1;
  }

  async deleteTopic(arn: string): Promise<boolean> {
    this.open();
    return this.db.prepare("DELETE FROM sns_topics WHERE arn = ?").run(arn).changes === 1;
  }

  async subscribe(subscription: NewSubscription): Promise<SnsSubscription | undefined> {
    this.open();
    const row = this.db.transaction(() => this.upsertSubscription(subscription))();
    return row === undefined ? undefined : subscriptionOfRow(row);
  }

  async confirm(topicArn: string, tokenHash: string, nowMs: number): Promise<SnsSubscription | undefined> {
    this.open();
    const row = this.db.transaction(() => {
      const match = this.db
        .prepare<[string, string, number], { arn: string }>(
          "SELECT arn FROM sns_subscriptions WHERE topic_arn = ? AND token_hash = ? AND token_expires_ms > ?",
        )
        .get(topicArn, tokenHash, nowMs);
      if (match === undefined) return undefined;
      this.db.prepare("UPDATE sns_subscriptions SET status = 'confirmed' WHERE arn = ?").run(match.arn);
      return this.subscriptionByArn.get(match.arn);
    })();
    return row === undefined ? undefined : subscriptionOfRow(row);
  }

  async getSubscription(arn: string): Promise<SnsSubscription | undefined> {
    this.open();
    const row = this.subscriptionByArn.get(arn);
    return row === undefined ? undefined : subscriptionOfRow(row);
  }

  async listSubscriptions(topicArn: string, afterArn: string | undefined, limit: number): Promise<SnsSubscription[]> {
    this.open();
    return this.db
      .prepare<[string, string, number], SubscriptionRow>(
        `SELECT ${SUBSCRIPTION_COLUMNS} FROM sns_subscriptions WHERE topic_arn = ? AND arn > ? ORDER BY arn LIMIT ?`,
      )
      .all(topicArn, afterArn ?? "", limit)
      .map(subscriptionOfRow);
  }

  async countSubscriptions(topicArn: string): Promise<{ confirmed: number; pending: number }> {
    this.open();
    const rows = this.db
      .prepare<[string], { status: string; n: number }>(
        "SELECT status, count(*) AS n FROM sns_subscriptions WHERE topic_arn = ? GROUP BY status",
      )
      .all(topicArn);
    const count = (status: string) => rows.find((row) => row.status === status)?.n ?? 0;
    return { confirmed: count("confirmed"), pending: count("pending") };
  }

  async unsubscribe(arn: string): Promise<boolean> {
    this.open();
    return this.db.prepare("DELETE FROM sns_subscriptions WHERE arn = ?").run(arn).changes === 1;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private open(): void {
    if (this.closed) throw closedStoreError();
  }

  /** Inside a transaction: the new pending subscription, or the new token on a pending one to the same endpoint. */
  private upsertSubscription(s: NewSubscription): SubscriptionRow | undefined {
    if (this.topicByArn.get(s.topicArn) === undefined) return undefined;
    this.db
      .prepare(
        `INSERT INTO sns_subscriptions (${SUBSCRIPTION_COLUMNS}, token_hash, token_expires_ms)
         VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)
         ON CONFLICT (topic_arn, protocol, endpoint) DO UPDATE
           SET token_hash = excluded.token_hash, token_expires_ms = excluded.token_expires_ms
           WHERE sns_subscriptions.status = 'pending'`,
      )
      .run(s.arn, s.topicArn, s.accountId, s.protocol, s.endpoint, s.createdAtMs, s.tokenHash, s.tokenExpiresMs);
    return this.db
      .prepare<[string, string, string], SubscriptionRow>(
        `SELECT ${SUBSCRIPTION_COLUMNS} FROM sns_subscriptions WHERE topic_arn = ? AND protocol = ? AND endpoint = ?`,
      )
      .get(s.topicArn, s.protocol, s.endpoint);
  }
}
