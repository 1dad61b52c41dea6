import { ApiError } from "../../lib/api-error.js";
import type { SnsStore, SnsTopic } from "../../stores/sns/index.js";
import type { SnsCall } from "./sns-operation.js";

/** Topic names: 1–256 letters, digits, `_` and `-` (FIFO topics, `.fifo`, are not served). */
const TOPIC_NAME = /^[A-Za-z0-9_-]{1,256}$/;
export const TOPIC_ARN = /^arn:aws:sns:([a-z0-9-]{1,32}):(\d{12}):([A-Za-z0-9_-]{1,256})$/;
const SUBSCRIPTION_ARN = /^(arn:aws:sns:[a-z0-9-]{1,32}:\d{12}:[A-Za-z0-9_-]{1,256}):[0-9a-f-]{36}$/;
/** A map or list member may be numbered up to this: beyond any quota an SNS parameter has. */
const MAX_ENTRIES = 100;

export function invalidParameter(what: string, reason?: string): ApiError {
  return new ApiError(
    "InvalidParameter",
    `Invalid parameter: ${what}${reason === undefined ? "" : ` Reason: ${reason}`}`,
  );
}

export function required(input: Readonly<Record<string, string>>, name: string): string {
  const value = input[name];
  if (value === undefined || value === "") throw invalidParameter(name, `${name} is required.`);
  return value;
}

export function topicName(input: Readonly<Record<string, string>>): string {
  const name = required(input, "Name");
  if (!TOPIC_NAME.test(name)) {
    throw invalidParameter(
      "Topic Name",
      "Topic names must be 1-256 characters of letters, numbers, hyphens and underscores (FIFO topics are not served).",
    );
  }
  return name;
}

export function topicArnOf(call: Pick<SnsCall, "accountId" | "region">, name: string): string {
  return `arn:aws:sns:${call.region}:${call.accountId}:${name}`;
}

/**
 * The topic ARN a call names, when well formed. A topic of another region is not found here (SNS
 * topics are regional); one of another account is the resource IAM is asked about, so the caller is
 * refused as SNS refuses one that no topic policy admits, whether it exists or not.
 */
export function namedTopicArn(input: Readonly<Record<string, string>>, member = "TopicArn"): string {
  const arn = required(input, member);
  if (!TOPIC_ARN.test(arn)) throw invalidParameter(member);
  return arn;
}

export function subscriptionArn(input: Readonly<Record<string, string>>): string {
  const arn = required(input, "SubscriptionArn");
  if (!SUBSCRIPTION_ARN.test(arn)) throw invalidParameter("SubscriptionArn");
  return arn;
}

/** The topic of a well-formed subscription ARN. */
export function topicOfSubscription(arn: string): string {
  return SUBSCRIPTION_ARN.exec(arn)?.[1] ?? arn;
}

/** Refuses a topic outside the caller's account (AuthorizationError) or region (NotFound) before the store is asked. */
export function assertOwnTopic(call: Pick<SnsCall, "accountId" | "region">, arn: string, action: string): void {
  const [, region, account] = TOPIC_ARN.exec(arn) ?? [];
  if (account !== call.accountId) {
    throw new ApiError(
      "AuthorizationError",
      `User is not authorized to perform: SNS:${action} on resource: ${arn} because no resource-based policy allows the SNS:${action} action`,
    );
  }
  if (region !== call.region) throw notFound("Topic");
}

/** The caller's topic the call names (`TopicArn`), or NotFound / AuthorizationError. */
export async function ownTopic(store: SnsStore, call: SnsCall, action: string): Promise<SnsTopic> {
  const arn = namedTopicArn(call.input);
  assertOwnTopic(call, arn, action);
  const topic = await store.getTopic(arn);
  if (topic === undefined) throw notFound("Topic");
  return topic;
}

export function notFound(what: "Topic"): ApiError {
  return new ApiError("NotFound", `${what} does not exist`);
}

/**
 * A Query-protocol map, `<Member>.entry.N.key` / `.value`, numbered from 1 without gaps. Any other
 * `<Member>.` parameter (a gap, a value without its key) is refused rather than silently dropped.
 */
export function formMap(input: Readonly<Record<string, string>>, member: string): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  for (let n = 1; n <= MAX_ENTRIES + 1; n++) {
    const key = input[`${member}.entry.${n}.key`];
    if (key === undefined) break;
    if (n > MAX_ENTRIES) throw invalidParameter(member, `At most ${MAX_ENTRIES} entries.`);
    out.set(key, input[`${member}.entry.${n}.value`] ?? "");
    used.add(`${member}.entry.${n}.key`).add(`${member}.entry.${n}.value`);
  }
  if (Object.keys(input).some((name) => name.startsWith(`${member}.`) && !used.has(name))) {
    throw invalidParameter(member, "Map entries are numbered from 1, each with its key.");
  }
  return out;
}

/** Whether the form names any member of a Query-protocol list or map. */
export function hasMember(input: Readonly<Record<string, string>>, member: string): boolean {
  return Object.keys(input).some((key) => key.startsWith(`${member}.`));
}

/** NextToken: the last ARN of the previous page, base64url, so a token names nothing the caller cannot see. */
export function pageAfter(input: Readonly<Record<string, string>>, prefix: string): string | undefined {
  const token = input["NextToken"];
  if (token === undefined || token === "") return undefined;
  const after = /^[A-Za-z0-9_-]{1,1400}$/.test(token) ? Buffer.from(token, "base64url").toString("utf8") : "";
  if (!after.startsWith(prefix)) throw invalidParameter("NextToken");
  return after;
}

/** A page of `size` from `rows` (fetched as size + 1), and the NextToken when there were more. */
export function pageOf<T extends { arn: string }>(rows: readonly T[], size: number): { items: T[]; next?: string } {
  const items = rows.slice(0, size);
  if (rows.length <= size) return { items };
  return { items, next: Buffer.from(items.at(-1)!.arn, "utf8").toString("base64url") };
}
