/**
 * Lake channels (spec §7.5): Create/Get/List/Update/DeleteChannel, and Put/Get/DeleteResourcePolicy
 * on channels. A channel of source `Custom` feeds PutAuditEvents (put-audit-events.ts) into its
 * destination event data stores, which must be ActivityAuditLog stores. Channels are JSON documents
 * in lake.db; the store router reads them to route audit events (store-router.ts).
 */
import { randomUUID } from "node:crypto";
import { ApiError } from "../api/errors.js";
import { isPlainObject, optionalInteger, optionalString } from "../api/operations/input.js";
import type { OperationContext, OperationHandler } from "../api/operations/operation.js";
import { parseTags, requireActive, type LakeOperationDeps } from "./eds-input.js";
import type { EventDataStore, LakeDb } from "./lake-db.js";

const NAME = /^[a-zA-Z0-9._-]{3,128}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CHANNEL_ARN = /^arn:aws:cloudtrail:([a-z0-9-]+):(\d{12}):channel\/(.+)$/;
export const MAX_CHANNELS = 25;
const POLICY_CHARS_MAX = 8192;
const POLICY_STATEMENTS_MAX = 20;
const POLICY_PRINCIPALS_MAX = 50;
const PUT_AUDIT_EVENTS = "cloudtrail-data:PutAuditEvents";

export interface ChannelDestination {
  readonly Type: "EVENT_DATA_STORE";
  /** The store's ARN. */
  readonly Location: string;
}

export interface IngestionStatus {
  LatestIngestionSuccessTime?: number;
  LatestIngestionSuccessEventID?: string;
  LatestIngestionErrorCode?: string;
  LatestIngestionAttemptTime?: number;
  LatestIngestionAttemptEventID?: string;
}

export interface Channel {
  readonly id: string;
  readonly accountId: string;
  readonly region: string;
  readonly name: string;
  readonly arn: string;
  readonly source: string;
  readonly destinations: ChannelDestination[];
  readonly tags: Array<{ Key: string; Value?: string }>;
  readonly createdMs: number;
  /** The resource policy document (JSON text), when one is attached. */
  readonly policy?: string;
  readonly ingestion?: IngestionStatus;
}

/** The event category a store keeps: its first selector's `eventCategory` value. */
export function storeCategory(store: EventDataStore): string {
  const field = store.advancedEventSelectors[0]?.FieldSelectors.find((f) => f.Field === "eventCategory");
  return field?.Equals?.[0] ?? "Management";
}

/** The channel id an ARN or bare id names, or undefined when the value is neither. */
export function channelIdOf(value: string): string | undefined {
  const arn = CHANNEL_ARN.exec(value);
  const id = arn ? arn[3]! : value;
  return UUID.test(id) && (arn !== null || !value.startsWith("arn:")) ? id.toLowerCase() : undefined;
}

export function channelById(db: LakeDb, id: string): Channel | undefined {
  return db.documents<Channel>("channels").find((c) => c.id === id);
}

function resolveChannel(db: LakeDb, value: string | undefined, context: OperationContext): Channel {
  if (value === undefined) throw new ApiError("InvalidParameterException", "Channel is required.");
  const id = channelIdOf(value);
  if (id === undefined)
    throw new ApiError("ChannelARNInvalidException", `The value ${value} is not a valid channel ARN or id.`);
  const channel = db.document<Channel>("channels", id, context.accountId);
  if (channel === undefined) throw new ApiError("ChannelNotFoundException", `Channel ${value} was not found.`);
  return channel;
}

function checkName(name: string): void {
  if (!NAME.test(name))
    throw new ApiError(
      "InvalidParameterException",
      "Name must be 3-128 characters of letters, digits, '.', '_' or '-'.",
    );
}

/** Destinations must be the caller's live ActivityAuditLog stores (spec §7.5). */
function parseDestinations(deps: LakeOperationDeps, value: unknown, context: OperationContext): ChannelDestination[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > 200)
    throw new ApiError("InvalidParameterException", "Destinations must be a list of 1 to 200 destinations.");
  const out: ChannelDestination[] = [];
  for (const [i, item] of value.entries()) {
    const type = isPlainObject(item) ? item["Type"] : undefined;
    const location = isPlainObject(item) ? item["Location"] : undefined;
    if (type === "AWS_SERVICE")
      throw new ApiError("InvalidParameterException", "Destinations of type AWS_SERVICE are not supported by Cairn.");
    if (type !== "EVENT_DATA_STORE" || typeof location !== "string")
      throw new ApiError(
        "InvalidParameterException",
        `Destinations[${i}] must be {Type: EVENT_DATA_STORE, Location: <event data store ARN or id>}.`,
      );
    const store = requireActive(deps.resolve({ EventDataStore: location }, context));
    if (storeCategory(store) !== "ActivityAuditLog" || store.organizationEnabled)
      throw new ApiError(
        "InvalidEventDataStoreCategoryException",
        `Event data store ${store.arn} is not a non-organization store of category ActivityAuditLog; a channel can only send to those.`,
      );
    if (!out.some((d) => d.Location === store.arn)) out.push({ Type: "EVENT_DATA_STORE", Location: store.arn });
  }
  return out;
}

function view(channel: Channel): Record<string, unknown> {
  return {
    ChannelArn: channel.arn,
    Name: channel.name,
    Source: channel.source,
    Destinations: channel.destinations,
  };
}

/** Checks a channel resource policy document: ≤ 8192 chars, ≤ 20 statements, ≤ 50 principals, one action. */
function checkPolicy(text: string): void {
  const invalid = (why: string): ApiError => new ApiError("ResourcePolicyNotValidException", why);
  if (text.length > POLICY_CHARS_MAX) throw invalid(`The policy exceeds ${POLICY_CHARS_MAX} characters.`);
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch {
    throw invalid("The policy is not valid JSON.");
  }
  const statements = isPlainObject(policy) ? policy["Statement"] : undefined;
  const list = Array.isArray(statements) ? statements : isPlainObject(statements) ? [statements] : undefined;
  if (list === undefined || list.length === 0) throw invalid("The policy needs a Statement.");
  if (list.length > POLICY_STATEMENTS_MAX)
    throw invalid(`The policy has more than ${POLICY_STATEMENTS_MAX} statements.`);
  for (const statement of list) {
    if (!isPlainObject(statement)) throw invalid("Each statement must be an object.");
    const actions = ([] as unknown[]).concat(statement["Action"] ?? []);
    if (actions.length === 0 || actions.some((a) => a !== PUT_AUDIT_EVENTS))
      throw invalid(`A channel policy can only allow ${PUT_AUDIT_EVENTS}.`);
    if (statement["Effect"] !== "Allow" && statement["Effect"] !== "Deny")
      throw invalid("Effect must be Allow or Deny.");
    if (policyPrincipals(statement).length > POLICY_PRINCIPALS_MAX)
      throw invalid(`A statement has more than ${POLICY_PRINCIPALS_MAX} principals.`);
  }
}

function policyPrincipals(statement: Record<string, unknown>): string[] {
  const principal = statement["Principal"];
  if (principal === "*") return ["*"];
  const aws = isPlainObject(principal) ? principal["AWS"] : undefined;
  return ([] as unknown[]).concat(aws ?? []).filter((p): p is string => typeof p === "string");
}

/**
 * Whether the resource policy lets this caller PutAuditEvents: an Allow statement naming the account
 * (id, `arn:aws:iam::<acct>:root`) or the caller's ARN, with a matching `cloudtrail:ExternalId`
 * condition when it has one, and no matching Deny.
 */
export function policyAllows(
  policyText: string | undefined,
  caller: { accountId: string; arn: string },
  externalId: string | undefined,
): boolean {
  if (policyText === undefined) return false;
  const policy = JSON.parse(policyText) as { Statement: unknown };
  const statements = ([] as unknown[]).concat(policy.Statement).filter(isPlainObject);
  const matches = (statement: Record<string, unknown>): boolean => {
    const principals = policyPrincipals(statement);
    const named = principals.some(
      (p) => p === "*" || p === caller.accountId || p === `arn:aws:iam::${caller.accountId}:root` || p === caller.arn,
    );
    if (!named) return false;
    const condition = isPlainObject(statement["Condition"]) ? statement["Condition"] : {};
    for (const [operator, clause] of Object.entries(condition)) {
      if (!isPlainObject(clause)) return false;
      for (const [key, expected] of Object.entries(clause)) {
        if (key.toLowerCase() !== "cloudtrail:externalid" || !operator.startsWith("StringEquals")) return false;
        if (externalId === undefined || !([] as unknown[]).concat(expected).includes(externalId)) return false;
      }
    }
    return true;
  };
  if (statements.some((s) => s["Effect"] === "Deny" && matches(s))) return false;
  return statements.some((s) => s["Effect"] === "Allow" && matches(s));
}

export function createChannelOperations(deps: LakeOperationDeps): Array<[string, OperationHandler]> {
  const save = (channel: Channel): void => {
    deps.db.putDocument("channels", channel.id, channel.accountId, channel);
    deps.onChange();
  };
  const regional = (context: OperationContext): Channel[] =>
    deps.db.documents<Channel>("channels", context.accountId).filter((c) => c.region === context.region);
  const resources = (channel: Channel): Array<{ accountId: string; type: string; ARN: string }> => [
    { accountId: channel.accountId, type: "AWS::CloudTrail::Channel", ARN: channel.arn },
  ];

  const create: OperationHandler = async (input, context) => {
    const name = optionalString(input, "Name");
    if (name === undefined) throw new ApiError("InvalidParameterException", "Name is required.");
    checkName(name);
    const source = optionalString(input, "Source");
    if (source === undefined) throw new ApiError("InvalidParameterException", "Source is required.");
    if (source !== "Custom")
      throw new ApiError(
        "InvalidSourceException",
        `Source ${source} is not supported: Cairn channels take Custom sources (PutAuditEvents).`,
      );
    const existing = regional(context);
    if (existing.some((c) => c.name === name))
      throw new ApiError("ChannelAlreadyExistsException", `A channel named ${name} already exists.`);
    if (existing.length >= MAX_CHANNELS)
      throw new ApiError("ChannelMaxLimitExceededException", `An account can have at most ${MAX_CHANNELS} channels.`);
    const destinations = parseDestinations(deps, input["Destinations"], context);
    const id = randomUUID();
    const channel: Channel = {
      id,
      accountId: context.accountId,
      region: context.region,
      name,
      arn: `arn:aws:cloudtrail:${context.region}:${context.accountId}:channel/${id}`,
      source,
      destinations,
      tags: parseTags(input["Tags"]),
      createdMs: context.nowMs,
    };
    save(channel);
    const output = { ...view(channel), Tags: channel.tags };
    return { output, responseElements: output, resources: resources(channel) };
  };

  const get: OperationHandler = async (input, context) => {
    const channel = resolveChannel(deps.db, optionalString(input, "Channel"), context);
    return {
      output: {
        ...view(channel),
        SourceConfig: {
          ApplyToAllRegions: false,
          AdvancedEventSelectors: [{ FieldSelectors: [{ Field: "eventCategory", Equals: ["ActivityAuditLog"] }] }],
        },
        IngestionStatus: channel.ingestion ?? {},
      },
    };
  };

  const list: OperationHandler = async (input, context) => {
    const max = optionalInteger(input, "MaxResults") ?? 1000;
    if (max < 1 || max > 1000)
      throw new ApiError("InvalidMaxResultsException", "MaxResults must be between 1 and 1000.");
    const token = optionalString(input, "NextToken");
    const all = regional(context).sort((a, b) => a.createdMs - b.createdMs || a.id.localeCompare(b.id));
    const start = token === undefined ? 0 : Number.parseInt(token.replace(/^channels-/, ""), 10);
    if (!Number.isInteger(start) || start < 0 || start > all.length)
      throw new ApiError("InvalidNextTokenException", "The NextToken is invalid.");
    const page = all.slice(start, start + max).map((c) => ({ ChannelArn: c.arn, Name: c.name }));
    return {
      output: { Channels: page, ...(start + max < all.length ? { NextToken: `channels-${start + max}` } : {}) },
    };
  };

  const update: OperationHandler = async (input, context) => {
    const channel = resolveChannel(deps.db, optionalString(input, "Channel"), context);
    const name = optionalString(input, "Name");
    if (name !== undefined) {
      checkName(name);
      if (regional(context).some((c) => c.name === name && c.id !== channel.id))
        throw new ApiError("ChannelAlreadyExistsException", `A channel named ${name} already exists.`);
    }
    const destinations =
      input["Destinations"] === undefined || input["Destinations"] === null
        ? channel.destinations
        : parseDestinations(deps, input["Destinations"], context);
    const updated: Channel = { ...channel, ...(name !== undefined ? { name } : {}), destinations };
    save(updated);
    return { output: view(updated), responseElements: view(updated), resources: resources(updated) };
  };

  const remove: OperationHandler = async (input, context) => {
    const channel = resolveChannel(deps.db, optionalString(input, "Channel"), context);
    deps.db.deleteDocument("channels", channel.id);
    deps.onChange();
    return { output: {}, responseElements: null, resources: resources(channel) };
  };

  return [
    ["CreateChannel", create],
    ["GetChannel", get],
    ["ListChannels", list],
    ["UpdateChannel", update],
    ["DeleteChannel", remove],
    ...createChannelPolicyOperations(deps, save, resources),
  ];
}

/** Resource policies: channels only (event data store and dashboard policies are not supported yet). */
function createChannelPolicyOperations(
  deps: LakeOperationDeps,
  save: (channel: Channel) => void,
  resources: (channel: Channel) => Array<{ accountId: string; type: string; ARN: string }>,
): Array<[string, OperationHandler]> {
  const policyTarget = (input: Record<string, unknown>, context: OperationContext): Channel => {
    const arn = optionalString(input, "ResourceArn");
    if (arn === undefined) throw new ApiError("InvalidParameterException", "ResourceArn is required.");
    if (!arn.includes(":channel/"))
      throw new ApiError(
        "ResourceTypeNotSupportedException",
        "Cairn supports resource policies on channels only (not on event data stores or dashboards yet).",
      );
    return resolveChannel(deps.db, arn, context);
  };

  const putPolicy: OperationHandler = async (input, context) => {
    const channel = policyTarget(input, context);
    const policy = optionalString(input, "ResourcePolicy");
    if (policy === undefined) throw new ApiError("InvalidParameterException", "ResourcePolicy is required.");
    checkPolicy(policy);
    save({ ...channel, policy });
    const output = { ResourceArn: channel.arn, ResourcePolicy: policy };
    return { output, responseElements: output, resources: resources(channel) };
  };

  const getPolicy: OperationHandler = async (input, context) => {
    const channel = policyTarget(input, context);
    if (channel.policy === undefined)
      throw new ApiError("ResourcePolicyNotFoundException", `Channel ${channel.arn} has no resource policy.`);
    return { output: { ResourceArn: channel.arn, ResourcePolicy: channel.policy } };
  };

  const deletePolicy: OperationHandler = async (input, context) => {
    const channel = policyTarget(input, context);
    if (channel.policy === undefined)
      throw new ApiError("ResourcePolicyNotFoundException", `Channel ${channel.arn} has no resource policy.`);
    const { policy: _removed, ...rest } = channel;
    save(rest);
    return { output: {}, responseElements: null, resources: resources(channel) };
  };

  return [
    ["PutResourcePolicy", putPolicy],
    ["GetResourcePolicy", getPolicy],
    ["DeleteResourcePolicy", deletePolicy],
  ];
}

/** The channels that send to a store (DeleteEventDataStore refuses while there is one). */
export function channelsSendingTo(db: LakeDb, store: EventDataStore): Channel[] {
  return db
    .documents<Channel>("channels", store.accountId)
    .filter((c) => c.destinations.some((d) => d.Location === store.arn));
}
