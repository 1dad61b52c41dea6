import { createHash, randomBytes, randomUUID } from "node:crypto";
import { ApiError } from "../../lib/api-error.js";
import type { SnsSubscription, SnsTopic } from "../../stores/sns/index.js";
import {
  assertOwnTopic,
  hasMember,
  invalidParameter,
  namedTopicArn,
  notFound,
  ownTopic,
  pageAfter,
  pageOf,
  required,
  subscriptionArn,
  topicOfSubscription,
  TOPIC_ARN,
} from "./sns-input.js";
import type { SnsCall, SnsDependencies, SnsOperation, SnsResult } from "./sns-operation.js";

/** SNS's quota of subscriptions per standard topic. */
const SUBSCRIPTIONS_PER_TOPIC_MAX = 12_500_000;
/** An unconfirmed subscription's token works for three days, as in SNS. */
const TOKEN_LIFETIME_MS = 3 * 86_400_000;
const SUBSCRIPTIONS_PAGE = 100;
const ENDPOINT_MAX = 2048;
const PENDING = "pending confirmation";

const TOKEN_CHARS_MAX = 1024;

/**
 * The GET of a SubscriptionConfirmation's SubscribeURL (`?Action=ConfirmSubscription&TopicArn=…&Token=…`),
 * unauthenticated as in SNS: the token is the credential (64 random bytes, hashed in the store, good
 * for one pending subscription of that topic for three days). Resolves the confirmed subscription;
 * a wrong, expired or malformed token is `InvalidParameter`, as ConfirmSubscription answers it.
 */
export async function confirmFromSubscribeUrl(
  store: SnsDependencies["store"],
  query: Readonly<Record<string, unknown>>,
  nowMs: number,
): Promise<SnsSubscription> {
  const topicArn = query["TopicArn"];
  const token = query["Token"];
  if (typeof topicArn !== "string" || !TOPIC_ARN.test(topicArn)) throw invalidParameter("TopicArn");
  if (typeof token !== "string" || token === "" || token.length > TOKEN_CHARS_MAX) throw invalidParameter("Token");
  const confirmed = await store.confirm(topicArn, tokenHashOf(token), nowMs);
  if (confirmed === undefined) throw invalidParameter("Token");
  return confirmed;
}

/** Confirmation tokens are 64 random bytes; only this hash is stored. */
function tokenHashOf(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

export function subscriptionOperations(deps: SnsDependencies): Record<string, SnsOperation> {
  const { store } = deps;
  return {
    Subscribe: {
      readOnly: false,
      requestParameters: (input) => ({
        topicArn: input["TopicArn"],
        protocol: input["Protocol"],
        endpoint: input["Endpoint"],
        returnSubscriptionArn: input["ReturnSubscriptionArn"],
      }),
      resource: (call) => namedTopicArn(call.input),
      run: async (call) => subscribe(deps, call, await ownTopic(store, call, "Subscribe")),
    },
    ConfirmSubscription: {
      readOnly: false,
      // The token is a secret: it confirms the subscription, so it is never on record.
      requestParameters: (input) => ({
        topicArn: input["TopicArn"],
        authenticateOnUnsubscribe: input["AuthenticateOnUnsubscribe"],
      }),
      resource: (call) => namedTopicArn(call.input),
      async run(call) {
        const token = required(call.input, "Token");
        const topic = await ownTopic(store, call, "ConfirmSubscription");
        const confirmed =
          token.length > TOKEN_CHARS_MAX ? undefined : await store.confirm(topic.arn, tokenHashOf(token), call.nowMs);
        if (confirmed === undefined) throw invalidParameter("Token");
        return { result: { SubscriptionArn: confirmed.arn }, responseElements: { subscriptionArn: confirmed.arn } };
      },
    },
    ListSubscriptionsByTopic: {
      readOnly: true,
      requestParameters: (input) => ({ topicArn: input["TopicArn"] }),
      resource: (call) => namedTopicArn(call.input),
      async run(call) {
        const topic = await ownTopic(store, call, "ListSubscriptionsByTopic");
        const after = pageAfter(call.input, `${topic.arn}:`);
        const rows = await store.listSubscriptions(topic.arn, after, SUBSCRIPTIONS_PAGE + 1);
        const page = pageOf(rows, SUBSCRIPTIONS_PAGE);
        return {
          result: { Subscriptions: page.items.map(subscriptionXml), NextToken: page.next },
          responseElements: null,
        };
      },
    },
    Unsubscribe: {
      readOnly: false,
      requestParameters: (input) => ({ subscriptionArn: input["SubscriptionArn"] }),
      resource: (call) => topicOfSubscription(subscriptionArn(call.input)),
      async run(call) {
        const arn = subscriptionArn(call.input);
        assertOwnTopic(call, topicOfSubscription(arn), "Unsubscribe");
        // As SNS (whatever its API reference says): a subscription already gone is no error.
        await store.unsubscribe(arn);
        return { result: null, responseElements: null };
      },
    },
  };
}

function subscriptionXml(subscription: SnsSubscription): Record<string, string> {
  return {
    SubscriptionArn: subscription.status === "confirmed" ? subscription.arn : "PendingConfirmation",
    Owner: subscription.accountId,
    Protocol: subscription.protocol,
    Endpoint: subscription.endpoint,
    TopicArn: subscription.topicArn,
  };
}

async function subscribe(deps: SnsDependencies, call: SnsCall, topic: SnsTopic): Promise<SnsResult> {
  const { protocol, endpoint } = subscriptionTarget(call.input);
  if (hasMember(call.input, "Attributes")) {
    throw invalidParameter("Attributes", "Cairn does not serve subscription attributes yet.");
  }
  const counts = await deps.store.countSubscriptions(topic.arn);
  if (counts.confirmed + counts.pending >= SUBSCRIPTIONS_PER_TOPIC_MAX) {
    throw new ApiError("SubscriptionLimitExceeded", "Subscription limit exceeded");
  }
  const token = randomBytes(64).toString("hex");
  const subscription = await deps.store.subscribe({
    arn: `${topic.arn}:${randomUUID()}`,
    topicArn: topic.arn,
    accountId: call.accountId,
    protocol,
    endpoint,
    createdAtMs: call.nowMs,
    tokenHash: tokenHashOf(token),
    tokenExpiresMs: call.nowMs + TOKEN_LIFETIME_MS,
  });
  if (subscription === undefined) throw notFound("Topic");
  const pending = subscription.status === "pending";
  const shown = pending && call.input["ReturnSubscriptionArn"] !== "true" ? PENDING : subscription.arn;
  return {
    result: { SubscriptionArn: shown },
    responseElements: { subscriptionArn: shown },
    ...(pending
      ? {
          afterAnswer: () =>
            deps.sendConfirmation({ topic, subscription, token, endpointUrl: call.endpointUrl, nowMs: call.nowMs }),
        }
      : {}),
  };
}

/** The protocol and endpoint: http or https, and an absolute URL of that scheme, as SNS requires. */
function subscriptionTarget(input: Readonly<Record<string, string>>): { protocol: "http" | "https"; endpoint: string } {
  const protocol = required(input, "Protocol");
  if (protocol !== "http" && protocol !== "https") {
    throw invalidParameter(
      "Protocol",
      `Cairn delivers to http and https endpoints only, not ${protocol.slice(0, 32)}.`,
    );
  }
  const endpoint = required(input, "Endpoint");
  let url: URL | undefined;
  try {
    url = endpoint.length <= ENDPOINT_MAX ? new URL(endpoint) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || url.protocol !== `${protocol}:` || url.username !== "" || url.password !== "") {
    throw invalidParameter("Endpoint", "Endpoint must match the specified protocol");
  }
  return { protocol, endpoint };
}
