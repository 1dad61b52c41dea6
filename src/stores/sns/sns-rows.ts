import type { SnsSubscription, SnsTopic } from "./sns-store.js";

/** The rows both backends store topics and subscriptions in, and how they read back. */
export interface TopicRow {
  arn: string;
  account_id: string;
  region: string;
  name: string;
  display_name: string;
  policy: string | null;
  created_at_ms: number;
}

export interface SubscriptionRow {
  arn: string;
  topic_arn: string;
  account_id: string;
  protocol: string;
  endpoint: string;
  status: string;
  created_at_ms: number;
}

/** A stored row as the contract's topic. */
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

/** A stored row as the contract's subscription. */
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

/** The columns a subscription is read from (never its token hash). */
export const SUBSCRIPTION_COLUMNS = "arn, topic_arn, account_id, protocol, endpoint, status, created_at_ms";
