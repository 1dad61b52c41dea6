import { migrate, type Migration, type PostgresDatabase } from "../postgres/index.js";
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

/** The `sns` component's schema, shared with the import (sns-import.ts). */
export const SNS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "sns topics and subscriptions",
    sql: `CREATE TABLE cairn_sns_topics (
            arn           TEXT PRIMARY KEY,
            account_id    TEXT NOT NULL,
            region        TEXT NOT NULL,
            name          TEXT NOT NULL,
            display_name  TEXT NOT NULL,
            policy        TEXT,
            created_at_ms BIGINT NOT NULL
          );
          CREATE INDEX cairn_sns_topics_by_scope ON cairn_sns_topics (account_id, region, arn COLLATE "C");
          CREATE TABLE cairn_sns_subscriptions (
            arn              TEXT PRIMARY KEY,
            topic_arn        TEXT NOT NULL REFERENCES cairn_sns_topics (arn) ON DELETE CASCADE,
            account_id       TEXT NOT NULL,
            protocol         TEXT NOT NULL,
            endpoint         TEXT NOT NULL,
            status           TEXT NOT NULL,
            token_hash       TEXT NOT NULL,
            token_expires_ms BIGINT NOT NULL,
            created_at_ms    BIGINT NOT NULL,
            UNIQUE (topic_arn, protocol, endpoint)
          );
          CREATE INDEX cairn_sns_subscriptions_by_topic ON cairn_sns_subscriptions (topic_arn, arn COLLATE "C");
          CREATE INDEX cairn_sns_subscriptions_by_token ON cairn_sns_subscriptions (topic_arn, token_hash)`,
  },
];

const FOREIGN_KEY_VIOLATION = "23503";

/**
 * Opens (migrating) the cluster SNS store on `db`. Every write is one statement, so nodes see each
 * change whole; a subscription to a topic deleted meanwhile is refused by the foreign key. Closing
 * the store leaves `db` open (its owner closes it).
 *
 * @example const sns = await openPostgresSnsStore(db);
 */
export async function openPostgresSnsStore(db: PostgresDatabase): Promise<SnsStore> {
  await migrate(db, "sns", SNS_MIGRATIONS);
  return new PostgresSnsStore(db);
}

class PostgresSnsStore implements SnsStore {
  private closed = false;

  constructor(private readonly db: PostgresDatabase) {}

  async createTopic(topic: SnsTopic): Promise<{ topic: SnsTopic; created: boolean }> {
    this.open();
    assertTopicScope(topic);
    const { arn, accountId, region, name, displayName, policy, createdAtMs } = topic;
    const inserted = await this.db.query(
      `INSERT INTO cairn_sns_topics (arn, account_id, region, name, display_name, policy, created_at_ms)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (arn) DO NOTHING RETURNING 1`,
      [arn, accountId, region, name, displayName, policy ?? null, createdAtMs],
    );
    const stored = await this.topic(arn);
    if (stored === undefined) throw new Error(`The topic ${arn} was deleted as it was created.`);
    return { topic: stored, created: inserted.length === 1 };
  }

  async getTopic(arn: string): Promise<SnsTopic | undefined> {
    this.open();
    return this.topic(arn);
  }

  async listTopics(scope: TopicScope, afterArn: string | undefined, limit: number): Promise<SnsTopic[]> {
    this.open();
    const rows = await this.db.query<TopicRow>(
      `SELECT * FROM cairn_sns_topics WHERE account_id = $1 AND region = $2 AND arn COLLATE "C" > $3
       ORDER BY arn COLLATE "C" LIMIT $4`,
      [scope.accountId, scope.region, afterArn ?? "", limit],
    );
    return rows.map(topicOfRow);
  }

  async countTopics(scope: TopicScope): Promise<number> {
    this.open();
    const [row] = await this.db.query<{ n: string }>(
      "SELECT count(*) AS n FROM cairn_sns_topics WHERE account_id = $1 AND region = $2",
      [scope.accountId, scope.region],
    );
    return Number(row?.n ?? 0);
  }

  async updateTopic(arn: string, change: TopicChange): Promise<boolean> {
    this.open();
    const rows = await this.db.query(
      `UPDATE cairn_sns_topics SET display_name = coalesce($1, display_name),
         policy = CASE WHEN $2 THEN $3 ELSE policy END WHERE arn = $4 RETURNING 1`,
      [change.displayName ?? null, change.policy !== undefined, change.policy ?? null, arn],
    );
    return rows.length === 1;
  }

  async deleteTopic(arn: string): Promise<boolean> {
    this.open();
    return (await this.db.query("DELETE FROM cairn_sns_topics WHERE arn = $1 RETURNING 1", [arn])).length === 1;
  }

  async subscribe(s: NewSubscription): Promise<SnsSubscription | undefined> {
    this.open();
    try {
      await this.db.query(
        `INSERT INTO cairn_sns_subscriptions (${SUBSCRIPTION_COLUMNS}, token_hash, token_expires_ms)
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8)
         ON CONFLICT (topic_arn, protocol, endpoint) DO UPDATE
           SET token_hash = excluded.token_hash, token_expires_ms = excluded.token_expires_ms
           WHERE cairn_sns_subscriptions.status = 'pending'`,
        [s.arn, s.topicArn, s.accountId, s.protocol, s.endpoint, s.createdAtMs, s.tokenHash, s.tokenExpiresMs],
      );
    } catch (error) {
      if (sqlState(error) === FOREIGN_KEY_VIOLATION) return undefined;
      throw error;
    }
    const [row] = await this.db.query<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM cairn_sns_subscriptions WHERE topic_arn = $1 AND protocol = $2 AND endpoint = $3`,
      [s.topicArn, s.protocol, s.endpoint],
    );
    return row === undefined ? undefined : subscriptionOfRow(row);
  }

  async confirm(topicArn: string, tokenHash: string, nowMs: number): Promise<SnsSubscription | undefined> {
    this.open();
    const [row] = await this.db.query<SubscriptionRow>(
      `UPDATE cairn_sns_subscriptions SET status = 'confirmed'
       WHERE topic_arn = $1 AND token_hash = $2 AND token_expires_ms > $3 RETURNING ${SUBSCRIPTION_COLUMNS}`,
      [topicArn, tokenHash, nowMs],
    );
    return row === undefined ? undefined : subscriptionOfRow(row);
  }

  async getSubscription(arn: string): Promise<SnsSubscription | undefined> {
    this.open();
    const [row] = await this.db.query<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM cairn_sns_subscriptions WHERE arn = $1`,
      [arn],
    );
    return row === undefined ? undefined : subscriptionOfRow(row);
  }

  async listSubscriptions(topicArn: string, afterArn: string | undefined, limit: number): Promise<SnsSubscription[]> {
    this.open();
    const rows = await this.db.query<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS} FROM cairn_sns_subscriptions WHERE topic_arn = $1 AND arn COLLATE "C" > $2
       ORDER BY arn COLLATE "C" LIMIT $3`,
      [topicArn, afterArn ?? "", limit],
    );
    return rows.map(subscriptionOfRow);
  }

  async countSubscriptions(topicArn: string): Promise<{ confirmed: number; pending: number }> {
    this.open();
    const rows = await this.db.query<{ status: string; n: string }>(
      "SELECT status, count(*) AS n FROM cairn_sns_subscriptions WHERE topic_arn = $1 GROUP BY status",
      [topicArn],
    );
    const count = (status: string) => Number(rows.find((row) => row.status === status)?.n ?? 0);
    return { confirmed: count("confirmed"), pending: count("pending") };
  }

  async unsubscribe(arn: string): Promise<boolean> {
    this.open();
    const rows = await this.db.query("DELETE FROM cairn_sns_subscriptions WHERE arn = $1 RETURNING 1", [arn]);
    return rows.length === 1;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private open(): void {
    if (this.closed) throw closedStoreError();
  }

  private async topic(arn: string): Promise<SnsTopic | undefined> {
    const [row] = await this.db.query<TopicRow>("SELECT * FROM cairn_sns_topics WHERE arn = $1", [arn]);
    return row === undefined ? undefined : topicOfRow(row);
  }
}

/** The SQLSTATE of a failed statement, the driver's error or one it wraps. */
function sqlState(error: unknown): string | undefined {
  for (let cause = error, depth = 0; typeof cause === "object" && cause !== null && depth < 3; depth++) {
    const { code } = cause as { code?: unknown };
    if (typeof code === "string") return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  return undefined;
}
