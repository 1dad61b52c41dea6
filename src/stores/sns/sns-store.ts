/**
 * SNS topics and their subscriptions (docs/reference/sns.md), per account and region: the ARN carries
 * both, so a topic is found only under its own account's ARN. test/contract/sns-store.suite.ts is the
 * contract, run per backend. Subscription tokens are never stored: only their SHA-256 (the token is
 * 64 random bytes, so a hash without salt is as strong as the token), which is what a confirmation is
 * matched on.
 */
export interface SnsStore {
  /**
   * Stores `topic` unless one with its ARN exists; resolves to the stored topic (the existing one, its
   * attributes unchanged) and whether this call created it. Of several creations at once, one creates.
   */
  createTopic(topic: SnsTopic): Promise<{ topic: SnsTopic; created: boolean }>;
  getTopic(arn: string): Promise<SnsTopic | undefined>;
  /** The account's topics in `region`, in ARN byte order, after `afterArn` when given, at most `limit`. */
  listTopics(scope: TopicScope, afterArn: string | undefined, limit: number): Promise<SnsTopic[]>;
  countTopics(scope: TopicScope): Promise<number>;
  /** Changes the attributes given (a `policy` of null goes back to the default policy); false when no such topic. */
  updateTopic(arn: string, change: TopicChange): Promise<boolean>;
  /** Deletes the topic and all its subscriptions; false when there was none. */
  deleteTopic(arn: string): Promise<boolean>;

  /**
   * Adds a pending subscription unless the topic has one to the same protocol and endpoint: a pending
   * one then takes the new token (the old one no longer confirms), a confirmed one is left as it is.
   * Resolves to the subscription as stored, or undefined when the topic does not exist.
   */
  subscribe(subscription: NewSubscription): Promise<SnsSubscription | undefined>;
  /**
   * Confirms the subscription of `topicArn` whose token hashes to `tokenHash`, unless the token expired
   * before `nowMs`; confirming a confirmed one again is no change. Undefined when no token matches.
   */
  confirm(topicArn: string, tokenHash: string, nowMs: number): Promise<SnsSubscription | undefined>;
  getSubscription(arn: string): Promise<SnsSubscription | undefined>;
  /** The topic's subscriptions in ARN byte order, after `afterArn` when given, at most `limit`. */
  listSubscriptions(topicArn: string, afterArn: string | undefined, limit: number): Promise<SnsSubscription[]>;
  countSubscriptions(topicArn: string): Promise<{ confirmed: number; pending: number }>;
  /** Deletes the subscription; false when there was none. */
  unsubscribe(arn: string): Promise<boolean>;
  /** Releases the store's resources; closing again does nothing. Every other method rejects once closed. */
  close(): Promise<void>;
}

export interface TopicScope {
  readonly accountId: string;
  readonly region: string;
}

export interface SnsTopic extends TopicScope {
  readonly arn: string;
  readonly name: string;
  readonly displayName: string;
  /** The topic's access policy as set; undefined while it has SNS's default policy. */
  readonly policy?: string;
  readonly createdAtMs: number;
}

export interface TopicChange {
  readonly displayName?: string;
  readonly policy?: string | null;
}

export type SubscriptionStatus = "pending" | "confirmed";

export interface SnsSubscription {
  readonly arn: string;
  readonly topicArn: string;
  /** The account that subscribed (the Owner ListSubscriptionsByTopic shows). */
  readonly accountId: string;
  readonly protocol: "http" | "https";
  readonly endpoint: string;
  readonly status: SubscriptionStatus;
  readonly createdAtMs: number;
}

export interface NewSubscription extends Omit<SnsSubscription, "status"> {
  /** SHA-256 (hex) of the confirmation token sent to the endpoint. */
  readonly tokenHash: string;
  readonly tokenExpiresMs: number;
}

const ACCOUNT_ID = /^\d{12}$/;

/** Throws on an account id that is not 12 digits: a caller bug, never an input to store. */
export function assertTopicScope(scope: TopicScope): void {
  if (!ACCOUNT_ID.test(scope.accountId)) throw new Error(`Not an account id: ${JSON.stringify(scope.accountId)}.`);
  if (!/^[a-z0-9-]{1,32}$/.test(scope.region)) throw new Error(`Not a region: ${JSON.stringify(scope.region)}.`);
}

/** The error every method of a closed store rejects with. */
export function closedStoreError(): Error {
  return new Error("The SNS store is closed.");
}
