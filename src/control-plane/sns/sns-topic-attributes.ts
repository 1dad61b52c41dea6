import { isPlainObject } from "../../lib/plain-object.js";
import type { SnsTopic } from "../../stores/sns/index.js";
import { invalidParameter } from "./sns-input.js";

/** SNS's quotas on the attributes Cairn serves. */
const DISPLAY_NAME_MAX = 100;
const POLICY_MAX_BYTES = 30_720;

/** The attributes a topic may be created or changed with; the others SNS has are refused by name. */
export type SettableAttribute = "DisplayName" | "Policy";

export function settableAttribute(name: string): SettableAttribute {
  if (name === "DisplayName" || name === "Policy") return name;
  throw invalidParameter(
    "AttributeName",
    `Cairn serves the topic attributes DisplayName and Policy, not ${name.slice(0, 64)}.`,
  );
}

/** Checks one attribute's value as SNS does, and answers it as stored (a Policy re-serialised as given). */
export function checkedAttribute(name: SettableAttribute, value: string): string {
  if (name === "DisplayName") {
    if (value.length > DISPLAY_NAME_MAX)
      throw invalidParameter("DisplayName", `At most ${DISPLAY_NAME_MAX} characters.`);
    return value;
  }
  if (Buffer.byteLength(value, "utf8") > POLICY_MAX_BYTES) {
    throw invalidParameter("Policy", `A topic policy is at most ${POLICY_MAX_BYTES} bytes.`);
  }
  let policy: unknown;
  try {
    policy = JSON.parse(value);
  } catch {
    throw invalidParameter("Policy", "The policy is not valid JSON.");
  }
  const statements = isPlainObject(policy) ? ([] as unknown[]).concat(policy["Statement"] ?? []) : [];
  if (statements.length === 0 || !statements.every(isPlainObject)) {
    throw invalidParameter("Policy", "The policy must be a JSON object with at least one Statement.");
  }
  return value;
}

/** The policy SNS gives a new topic: its own account may do everything but Publish for others. */
function defaultTopicPolicy(topic: Pick<SnsTopic, "arn" | "accountId">): string {
  return JSON.stringify({
    Version: "2008-10-17",
    Id: "__default_policy_ID",
    Statement: [
      {
        Sid: "__default_statement_ID",
        Effect: "Allow",
        Principal: { AWS: "*" },
        Action: [
          "SNS:GetTopicAttributes",
          "SNS:SetTopicAttributes",
          "SNS:AddPermission",
          "SNS:RemovePermission",
          "SNS:DeleteTopic",
          "SNS:Subscribe",
          "SNS:ListSubscriptionsByTopic",
          "SNS:Publish",
        ],
        Resource: topic.arn,
        Condition: { StringEquals: { "AWS:SourceOwner": topic.accountId } },
      },
    ],
  });
}

/** What Cairn does (src/control-plane/sns/sns-publisher.ts): 3 retries, 1, 2 then 4 s apart. */
const DEFAULT_DELIVERY_POLICY = JSON.stringify({
  http: {
    defaultHealthyRetryPolicy: {
      minDelayTarget: 1,
      maxDelayTarget: 4,
      numRetries: 3,
      numMaxDelayRetries: 0,
      numNoDelayRetries: 0,
      numMinDelayRetries: 0,
      backoffFunction: "exponential",
    },
    disableSubscriptionOverrides: false,
    defaultRequestPolicy: { headerContentType: "text/plain; charset=UTF-8" },
  },
});

/** GetTopicAttributes' answer, in the order SNS lists them. */
export function topicAttributes(
  topic: SnsTopic,
  counts: { confirmed: number; pending: number },
): Array<readonly [string, string]> {
  return [
    ["Policy", topic.policy ?? defaultTopicPolicy(topic)],
    ["Owner", topic.accountId],
    ["SubscriptionsPending", String(counts.pending)],
    ["TopicArn", topic.arn],
    ["EffectiveDeliveryPolicy", DEFAULT_DELIVERY_POLICY],
    ["SubscriptionsConfirmed", String(counts.confirmed)],
    ["DisplayName", topic.displayName],
    ["SubscriptionsDeleted", "0"],
  ];
}
