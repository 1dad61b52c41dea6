import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { migrate, type PostgresDatabase } from "../postgres/index.js";
import { SNS_MIGRATIONS } from "./postgres-sns-store.js";
import {
  SUBSCRIPTION_COLUMNS,
  subscriptionOfRow,
  topicOfRow,
  type SubscriptionRow,
  type TopicRow,
} from "./sns-rows.js";
import { assertTopicScope, type NewSubscription, type SnsSubscription, type SnsTopic } from "./sns-store.js";

/** A subscription as stored: its status, and the hash and expiry of its confirmation token (never a token). */
export interface StoredSubscription extends SnsSubscription, Pick<NewSubscription, "tokenHash" | "tokenExpiresMs"> {}

/** Every topic and subscription of an embedded SNS store, of every account and region. */
export interface SnsContents {
  readonly topics: readonly SnsTopic[];
  readonly subscriptions: readonly StoredSubscription[];
}

/**
 * Reads `<data-dir>/sns.db` whole, read-only, for `cairn migrate --to-cluster` (the contract lists
 * per account and region and never hands out token hashes). A missing file holds nothing.
 */
export function readSqliteSnsStore(path: string): SnsContents {
  if (!existsSync(path)) return { topics: [], subscriptions: [] };
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const topics = db.prepare<[], TopicRow>("SELECT * FROM sns_topics ORDER BY arn").all().map(topicOfRow);
    const subscriptions = db
      .prepare<[], SubscriptionRow & { token_hash: string; token_expires_ms: number }>(
        `SELECT ${SUBSCRIPTION_COLUMNS}, token_hash, token_expires_ms FROM sns_subscriptions ORDER BY arn`,
      )
      .all()
      .map((row) => ({
        ...subscriptionOfRow(row),
        tokenHash: row.token_hash,
        tokenExpiresMs: Number(row.token_expires_ms),
      }));
    return { topics, subscriptions };
  } finally {
    db.close();
  }
}

/**
 * Adds to the cluster's SNS tables the topics (policy and display name as they are) and
 * subscriptions (status, token hash and expiry as stored) whose ARNs it does not hold, in one
 * transaction, topics first. What the cluster holds under an ARN is left as it is, so a re-run adds
 * nothing. Resolves how many of each were added.
 */
export async function importPostgresSns(
  db: PostgresDatabase,
  contents: SnsContents,
): Promise<{ topics: number; subscriptions: number }> {
  await migrate(db, "sns", SNS_MIGRATIONS);
  contents.topics.forEach(assertTopicScope);
  return db.transaction(async (tx) => {
    let topics = 0;
    for (const t of contents.topics) {
      const rows = await tx.query(
        `INSERT INTO cairn_sns_topics (arn, account_id, region, name, display_name, policy, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (arn) DO NOTHING RETURNING 1`,
        [t.arn, t.accountId, t.region, t.name, t.displayName, t.policy ?? null, t.createdAtMs],
      );
      topics += rows.length;
    }
    let subscriptions = 0;
    for (const s of contents.subscriptions) {
      // Its topic deleted in the cluster since, or the endpoint subscribed there anew: left out.
      const rows = await tx.query(
        `INSERT INTO cairn_sns_subscriptions (${SUBSCRIPTION_COLUMNS}, token_hash, token_expires_ms)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE EXISTS (SELECT 1 FROM cairn_sns_topics WHERE arn = $2)
         ON CONFLICT DO NOTHING RETURNING 1`,
        [
          s.arn,
          s.topicArn,
          s.accountId,
          s.protocol,
          s.endpoint,
          s.status,
          s.createdAtMs,
          s.tokenHash,
          s.tokenExpiresMs,
        ],
      );
      subscriptions += rows.length;
    }
    return { topics, subscriptions };
  });
}
