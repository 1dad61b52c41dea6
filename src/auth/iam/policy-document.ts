import { isPlainObject } from "../../lib/plain-object.js";
import { parseConditionOperator } from "./condition-operators.js";
import { checkConditionValues } from "./condition-value-checks.js";
import { MalformedPolicyDocumentError, POLICY_MESSAGES } from "./policy-errors.js";
import { checkInlineUserPoliciesSize, checkManagedPolicySize } from "./policy-size.js";

/** One statement, normalised: every list is an array, every condition value a string. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action?: readonly string[];
  readonly NotAction?: readonly string[];
  readonly Resource?: readonly string[];
  readonly NotResource?: readonly string[];
  /** operator → condition key (as written) → values. */
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
}

/** An identity-based policy document. No Version means the 2008-10-17 language: no policy variables. */
export interface PolicyDocument {
  readonly Version?: "2012-10-17" | "2008-10-17";
  readonly Id?: string;
  readonly Statement: readonly PolicyStatement[];
}

/**
 * `inline` (PutUserPolicy: 2,048 characters) and `managed` (CreatePolicy: 6,144) enforce IAM's size
 * quotas; `aws-managed` is for AWS's own texts, which IAM does not hold to the customer quotas.
 */
export type PolicyKind = "inline" | "managed" | "aws-managed";

export interface ParsePolicyOptions {
  readonly kind: PolicyKind;
  /** Names the user in the inline quota's message, as IAM does. */
  readonly userName?: string;
}

/** Whether the document's language has policy variables ("Variables were introduced in version 2012-10-17"). */
export function hasPolicyVariables(document: PolicyDocument): boolean {
  return document.Version === "2012-10-17";
}

type Fail = (message: string) => MalformedPolicyDocumentError;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const TOP_LEVEL_KEYS = new Set(["Version", "Id", "Statement"]);
const STATEMENT_KEYS = new Set(["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"]);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MalformedPolicyDocumentError(POLICY_MESSAGES.syntax);
  }
}

function checkSize(text: string, options: ParsePolicyOptions): void {
  if (options.kind === "inline") checkInlineUserPoliciesSize(options.userName, [text]);
  else if (options.kind === "managed") checkManagedPolicySize(text);
}

/** Identity-based policies name no principal: the principal is whoever the policy is attached to. */
function refusePrincipals(statement: unknown): void {
  const statements = Array.isArray(statement) ? statement : [statement];
  if (statements.some((s) => isPlainObject(s) && (Object.hasOwn(s, "Principal") || Object.hasOwn(s, "NotPrincipal")))) {
    throw new MalformedPolicyDocumentError(POLICY_MESSAGES.principal);
  }
}

/**
 * A list element: one string or a non-empty array of strings. `emptyMessage` is IAM's wording for a
 * statement without the element; an empty array reads the same.
 */
function stringList(value: unknown, fail: Fail, emptyMessage: string): string[] {
  if (typeof value === "string") return [value];
  if (!Array.isArray(value)) throw fail(POLICY_MESSAGES.syntax);
  if (value.length === 0) throw fail(emptyMessage);
  if (!value.every((item): item is string => typeof item === "string")) throw fail(POLICY_MESSAGES.syntax);
  return value;
}

/** Exactly one of `name`/`Not<name>`, as a list. */
function exclusiveList<Name extends "Action" | "Resource">(
  raw: Record<string, unknown>,
  name: Name,
  fail: Fail,
  missingMessage: string,
): { key: Name | `Not${Name}`; values: string[] } {
  const negatedName: `Not${Name}` = `Not${name}`;
  const has = Object.hasOwn(raw, name);
  const hasNegated = Object.hasOwn(raw, negatedName);
  if (has && hasNegated) throw fail(POLICY_MESSAGES.syntax);
  if (!has && !hasNegated) throw fail(missingMessage);
  const key = has ? name : negatedName;
  return { key, values: stringList(raw[key], fail, missingMessage) };
}

function checkAction(action: string, fail: Fail): void {
  if (action === "*") return;
  const parts = action.split(":");
  if (parts.length < 2 || parts[0] === "") throw fail(POLICY_MESSAGES.vendor);
  if (parts.length > 2) throw fail(POLICY_MESSAGES.oneColon);
  if (/[*?]/.test(parts[0] ?? "")) throw fail(POLICY_MESSAGES.vendorWildcard);
}

/** `*`, or an ARN: six colon-separated parts, or fewer ending in a `*` that reaches over the rest. */
function checkResource(resource: string, fail: Fail): void {
  if (resource === "*") return;
  const arnLike = resource.startsWith("arn:") && (resource.split(":").length >= 6 || resource.endsWith("*"));
  if (!arnLike) throw fail(POLICY_MESSAGES.resourceFormat(resource));
}

function conditionValues(value: unknown, fail: Fail): string[] {
  const scalar = (item: unknown): item is string | number | boolean =>
    typeof item === "string" || typeof item === "number" || typeof item === "boolean";
  if (scalar(value)) return [String(value)];
  if (!Array.isArray(value) || value.length === 0 || !value.every(scalar)) throw fail(POLICY_MESSAGES.syntax);
  return value.map(String);
}

function parseCondition(raw: unknown, variables: boolean, fail: Fail): Record<string, Record<string, string[]>> {
  if (!isPlainObject(raw)) throw fail(POLICY_MESSAGES.syntax);
  const condition: Record<string, Record<string, string[]>> = {};
  for (const [name, block] of Object.entries(raw)) {
    const operator = parseConditionOperator(name);
    if (operator === undefined || !isPlainObject(block)) throw fail(POLICY_MESSAGES.syntax);
    const keys: Record<string, string[]> = {};
    for (const [key, value] of Object.entries(block)) {
      if (!key.includes(":") || key.startsWith(":")) throw fail(POLICY_MESSAGES.vendor);
      const values = conditionValues(value, fail);
      if (!checkConditionValues(operator.spec.family, values, variables)) throw fail(POLICY_MESSAGES.syntax);
      keys[key] = values;
    }
    condition[name] = keys;
  }
  return condition;
}

function parseEffect(raw: Record<string, unknown>, fail: Fail): "Allow" | "Deny" {
  if (!Object.hasOwn(raw, "Effect")) throw fail(POLICY_MESSAGES.missingEffect);
  const effect = raw["Effect"];
  // "The Effect value is case sensitive."
  if (effect !== "Allow" && effect !== "Deny") throw fail(POLICY_MESSAGES.syntax);
  return effect;
}

function parseSid(raw: Record<string, unknown>, fail: Fail): string | undefined {
  const sid = raw["Sid"];
  if (sid === undefined) return undefined;
  if (typeof sid !== "string") throw fail(POLICY_MESSAGES.syntax);
  if (!/^[0-9A-Za-z]*$/.test(sid)) throw fail(POLICY_MESSAGES.sidAlphanumeric);
  return sid;
}

function parseStatement(raw: unknown, variables: boolean, fail: Fail): PolicyStatement {
  if (!isPlainObject(raw)) throw fail(POLICY_MESSAGES.syntax);
  if (Object.keys(raw).some((key) => !STATEMENT_KEYS.has(key))) throw fail(POLICY_MESSAGES.syntax);
  const sid = parseSid(raw, fail);
  const Effect = parseEffect(raw, fail);
  const actions = exclusiveList(raw, "Action", fail, POLICY_MESSAGES.missingActions);
  actions.values.forEach((action) => checkAction(action, fail));
  const resources = exclusiveList(raw, "Resource", fail, POLICY_MESSAGES.missingResources);
  resources.values.forEach((resource) => checkResource(resource, fail));
  const statement: Mutable<PolicyStatement> = { Effect };
  statement[actions.key] = actions.values;
  statement[resources.key] = resources.values;
  if (sid !== undefined) statement.Sid = sid;
  if (raw["Condition"] !== undefined) statement.Condition = parseCondition(raw["Condition"], variables, fail);
  return statement;
}

function parseStatements(raw: unknown, variables: boolean, fail: Fail): PolicyStatement[] {
  const list = isPlainObject(raw) ? [raw] : raw;
  if (!Array.isArray(list) || list.length === 0) throw fail(POLICY_MESSAGES.syntax);
  const statements = list.map((item: unknown) => parseStatement(item, variables, fail));
  const sids = statements.map((s) => s.Sid).filter((sid): sid is string => sid !== undefined && sid !== "");
  if (new Set(sids).size !== sids.length) throw fail(POLICY_MESSAGES.sidUnique);
  return statements;
}

/**
 * Parses and checks an identity-based policy document as IAM's PutUserPolicy / CreatePolicy do.
 * Throws MalformedPolicyDocumentError (IAM's wording where it is known; "The policy failed legacy
 * parsing" for any grammar error in a document without `"Version": "2012-10-17"`, as IAM answers
 * those) or PolicyTooLargeError (LimitExceeded).
 */
export function parsePolicyDocument(text: string, options: ParsePolicyOptions): PolicyDocument {
  const raw = parseJson(text);
  checkSize(text, options);
  if (!isPlainObject(raw)) throw new MalformedPolicyDocumentError(POLICY_MESSAGES.syntax);
  refusePrincipals(raw["Statement"]);
  const version = raw["Version"];
  const variables = version === "2012-10-17";
  const fail: Fail = (message) => new MalformedPolicyDocumentError(variables ? message : POLICY_MESSAGES.legacy);
  if (version !== undefined && version !== "2012-10-17" && version !== "2008-10-17") throw fail(POLICY_MESSAGES.syntax);
  if (Object.keys(raw).some((key) => !TOP_LEVEL_KEYS.has(key))) throw fail(POLICY_MESSAGES.syntax);
  if (raw["Id"] !== undefined && typeof raw["Id"] !== "string") throw fail(POLICY_MESSAGES.syntax);
  const document: Mutable<PolicyDocument> = { Statement: parseStatements(raw["Statement"], variables, fail) };
  if (version !== undefined) document.Version = version;
  if (typeof raw["Id"] === "string") document.Id = raw["Id"];
  return document;
}
