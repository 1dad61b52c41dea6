import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { SnsStore, SnsSubscription, SnsTopic } from "../../stores/sns/index.js";
import { postToEndpoint } from "./endpoint-post.js";

/**
 * After a failed POST, Cairn tries an endpoint again after 1, 2 and 4 s (3 retries, as SNS's default
 * http policy has; GetTopicAttributes' EffectiveDeliveryPolicy says the same).
 */
const DELIVERY_RETRY_DELAYS_MS: readonly number[] = [1_000, 2_000, 4_000];
const SUBSCRIPTIONS_PAGE = 100;
/** Endpoints one message is POSTed to at once: a topic with many subscribers does not open a socket each. */
const PARALLEL_DELIVERIES = 8;

/** A message to publish, as Publish takes it (and trail notifications build it). */
export interface SnsMessage {
  readonly message: string;
  readonly subject?: string;
  /** MessageAttributes as the envelope carries them: name → `{Type, Value}`. */
  readonly attributes?: Readonly<Record<string, { readonly Type: string; readonly Value: string }>>;
}

export interface PublishOutcome {
  readonly messageId: string;
  /** Confirmed subscriptions whose endpoint answered 2xx. */
  readonly delivered: number;
  /** Confirmed subscriptions still not reached after every retry, with the last reason (never the endpoint). */
  readonly failed: ReadonlyArray<{ readonly subscriptionArn: string; readonly reason: string }>;
}

export interface SnsPublisherOptions {
  readonly store: Pick<SnsStore, "listSubscriptions">;
  /** Aborted as the server closes: retries stop and in-flight POSTs end. */
  readonly shutdown: AbortSignal;
  readonly nowMs: () => number;
  /** Tests shorten the waits; the server uses DELIVERY_RETRY_DELAYS_MS. */
  readonly retryDelaysMs?: readonly number[];
}

/**
 * Delivers a message to every confirmed http/https subscription of a topic, as SNS does: one
 * `Notification` envelope per subscription (same MessageId for all), SNS's headers, each endpoint
 * retried on its own. Pending subscriptions get nothing. Used by Publish and by trail notifications.
 */
export class SnsPublisher {
  constructor(private readonly options: SnsPublisherOptions) {}

  async publish(topic: SnsTopic, message: SnsMessage, messageId: string = randomUUID()): Promise<PublishOutcome> {
    const timestamp = new Date(this.options.nowMs()).toISOString();
    const failed: Array<{ subscriptionArn: string; reason: string }> = [];
    let delivered = 0;
    let after: string | undefined;
    for (;;) {
      const page = await this.options.store.listSubscriptions(topic.arn, after, SUBSCRIPTIONS_PAGE);
      const confirmed = page.filter((subscription) => subscription.status === "confirmed");
      await inParallel(confirmed, PARALLEL_DELIVERIES, async (subscription) => {
        const body = JSON.stringify(notificationEnvelope(topic, message, messageId, timestamp), null, 2);
        const reason = await this.deliver(subscription, messageId, body);
        if (reason === undefined) delivered++;
        else failed.push({ subscriptionArn: subscription.arn, reason });
      });
      if (page.length < SUBSCRIPTIONS_PAGE) break;
      after = page.at(-1)!.arn;
    }
    return { messageId, delivered, failed };
  }

  /** POSTs until the endpoint answers 2xx or the retries are spent; undefined once delivered, else the last reason. */
  private async deliver(subscription: SnsSubscription, messageId: string, body: string): Promise<string | undefined> {
    const { shutdown } = this.options;
    const headers = {
      "x-amz-sns-message-type": "Notification",
      "x-amz-sns-message-id": messageId,
      "x-amz-sns-topic-arn": subscription.topicArn,
      "x-amz-sns-subscription-arn": subscription.arn,
    };
    const delays = this.options.retryDelaysMs ?? DELIVERY_RETRY_DELAYS_MS;
    let reason = await postToEndpoint(subscription.endpoint, headers, body, shutdown);
    for (const delayMs of delays) {
      if (reason === undefined || shutdown.aborted) break;
      await sleep(delayMs, undefined, { signal: shutdown }).catch(() => undefined);
      reason = await postToEndpoint(subscription.endpoint, headers, body, shutdown);
    }
    return reason;
  }
}

/**
 * SNS's Notification message, in its member order. Cairn has no SNS signing certificate, so
 * `SignatureVersion`, `Signature` and `SigningCertURL` are left out rather than faked, and so is
 * `UnsubscribeURL`: Cairn does not serve SNS's unauthenticated unsubscribe link (docs/reference/sns.md).
 */
function notificationEnvelope(
  topic: SnsTopic,
  message: SnsMessage,
  messageId: string,
  timestamp: string,
): Record<string, unknown> {
  return {
    Type: "Notification",
    MessageId: messageId,
    TopicArn: topic.arn,
    ...(message.subject !== undefined ? { Subject: message.subject } : {}),
    Message: message.message,
    Timestamp: timestamp,
    ...(message.attributes !== undefined && Object.keys(message.attributes).length > 0
      ? { MessageAttributes: message.attributes }
      : {}),
  };
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function inParallel<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
