import { compileGlob, matchGlob, type GlobToken } from "../../auth/iam/wildcard.js";
import { isPlainObject } from "../../lib/plain-object.js";
import type { SnsTopic } from "../../stores/sns/index.js";

/** Who publishes: CloudTrail on behalf of a trail (the service principal, the trail's account and ARN). */
export interface ServicePublisher {
  readonly service: string;
  readonly accountId: string;
  readonly sourceArn: string;
}

type Statement = Record<string, unknown>;

/**
 * Whether the topic's policy lets `publisher` call sns:Publish on it, as SNS would decide for a
 * service principal: some Allow statement applies and no Deny does. A topic with SNS's default
 * policy admits its own account only (that policy's `AWS:SourceOwner` condition). A statement Cairn
 * cannot fully evaluate (NotPrincipal, NotAction, NotResource, a condition operator or key other
 * than those below) never allows, and always denies when it is a Deny: the check fails closed.
 */
export function topicAdmitsPublisher(topic: SnsTopic, publisher: ServicePublisher): boolean {
  if (topic.policy === undefined) return topic.accountId === publisher.accountId;
  let statements: Statement[];
  try {
    const policy = JSON.parse(topic.policy) as unknown;
    statements = isPlainObject(policy) ? ([] as unknown[]).concat(policy["Statement"] ?? []).filter(isPlainObject) : [];
  } catch {
    return false;
  }
  const applies = (statement: Statement) => statementApplies(statement, topic.arn, publisher);
  if (statements.some((s) => s["Effect"] === "Deny" && applies(s) !== false)) return false;
  return statements.some((s) => s["Effect"] === "Allow" && applies(s) === true);
}

/** true, false, or "unknown" when the statement uses what Cairn does not evaluate. */
function statementApplies(statement: Statement, topicArn: string, publisher: ServicePublisher): boolean | "unknown" {
  if (["NotPrincipal", "NotAction", "NotResource"].some((member) => member in statement)) return "unknown";
  if (!principalMatches(statement["Principal"], publisher)) return false;
  if (!strings(statement["Action"]).some((action) => globMatches(action, "sns:Publish", true))) return false;
  const resources = "Resource" in statement ? strings(statement["Resource"]) : ["*"];
  if (!resources.some((resource) => globMatches(resource, topicArn, false))) return false;
  return conditionHolds(statement["Condition"], publisher);
}

function principalMatches(principal: unknown, publisher: ServicePublisher): boolean {
  if (principal === "*") return true;
  if (!isPlainObject(principal)) return false;
  const account = [publisher.accountId, `arn:aws:iam::${publisher.accountId}:root`, "*"];
  return (
    strings(principal["AWS"]).some((p) => account.includes(p)) ||
    strings(principal["Service"]).includes(publisher.service)
  );
}

/** The condition keys a service publisher's request has, lower-cased as IAM compares them. */
function contextValue(key: string, publisher: ServicePublisher): string | undefined {
  switch (key.toLowerCase()) {
    case "aws:sourcearn":
      return publisher.sourceArn;
    case "aws:sourceaccount":
    case "aws:sourceowner":
      return publisher.accountId;
    default:
      return undefined;
  }
}

const OPERATORS: Readonly<Record<string, boolean>> = {
  StringEquals: false,
  ArnEquals: false,
  StringLike: true,
  ArnLike: true,
};

function conditionHolds(condition: unknown, publisher: ServicePublisher): boolean | "unknown" {
  if (condition === undefined) return true;
  if (!isPlainObject(condition)) return "unknown";
  for (const [operator, clause] of Object.entries(condition)) {
    const like = OPERATORS[operator.replace(/IfExists$/, "")];
    if (like === undefined || !isPlainObject(clause)) return "unknown";
    for (const [key, expected] of Object.entries(clause)) {
      const actual = contextValue(key, publisher);
      if (actual === undefined) return "unknown";
      const values = strings(expected);
      if (!values.some((value) => (like ? globMatches(value, actual, false) : value === actual))) return false;
    }
  }
  return true;
}

function strings(value: unknown): string[] {
  return ([] as unknown[]).concat(value ?? []).filter((item): item is string => typeof item === "string");
}

/** IAM's `*` and `?` wildcards (no regular expression: the policy's author writes the pattern); actions compare without case. */
function globMatches(pattern: string, value: string, ignoreCase: boolean): boolean {
  const tokens: GlobToken[] = pattern
    .split(/([*?])/)
    .filter((piece) => piece !== "")
    .map((piece) => (piece === "*" || piece === "?" ? { wildcard: piece } : { literal: piece }));
  return matchGlob(compileGlob(tokens, ignoreCase), value);
}
