/**
 * Lake channels (spec §7.5): Create/Get/List/Update/DeleteChannel, and Put/Get/DeleteResourcePolicy
 * on channels. A channel of source `Custom` feeds PutAuditEvents (put-audit-events.ts) into its
 * destination event data stores, which must be ActivityAuditLog stores. Channels are JSON documents
 * in lake.db; the store router reads them to route audit events (store-router.ts).
 */
import { randomUUID } from "node:crypto";
import { ApiError } from "../../lib/api-error.js";
import { optionalInteger, optionalString } from "../input.js";
import { isPlainObject } from "../../lib/plain-object.js";
import type { OperationContext, OperationHandler } from "../operation.js";
import { inWriteTurn, parseTags, requireActive, type LakeOperationDeps } from "./eds-input.js";
import {
  channelIdOf,
  storeCategory,
  type Channel,
  type ChannelDestination,
  type EventDataStore,
  type LakeCatalog,
} from "../../lake/catalog/index.js";
import { policyPrincipals } from "../../auth/resource-policy.js";

const NAME = /^[a-zA-Z0-9._-]{3,128}$/;
const MAX_CHANNELS = 25;
const POLICY_CHARS_MAX = 8192;
const POLICY_STATEMENTS_MAX = 20;
const POLICY_PRINCIPALS_MAX = 50;
const PUT_AUDIT_EVENTS = "cloudtrail-data:PutAuditEvents";

/** A channel by id, whatever its account. */
export function channelById(catalog: LakeCatalog, id: string): Promise<Channel | undefined> {
  return catalog.findDocument<Channel>("channels", id);
}

async function resolveChannel(
  catalog: LakeCatalog,
  value: string | undefined,
  context: OperationContext,
): Promise<Channel> {
  if (value === undefined) throw new ApiError("InvalidParameterException", "Channel is required.");
  const id = channelIdOf(value);
  if (id === undefined)
    throw new ApiError("ChannelARNInvalidException", `The value ${value} is not a valid channel ARN or id.`);
  const channel = await catalog.document<Channel>("channels", id, context.accountId);
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
async function parseDestinations(
  deps: LakeOperationDeps,
  value: unknown,
  context: OperationContext,
): Promise<ChannelDestination[]> {
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
    const store = requireActive(await deps.resolve({ EventDataStore: location }, context));
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

export function createChannelOperations(deps: LakeOperationDeps): Array<[string, OperationHandler]> {
  return [
    ["CreateChannel", inWriteTurn(deps, createChannelOperation(deps))],
    ["GetChannel", getChannelOperation(deps)],
    ["ListChannels", listChannelsOperation(deps)],
    ["UpdateChannel", inWriteTurn(deps, updateChannelOperation(deps))],
    ["DeleteChannel", inWriteTurn(deps, deleteChannelOperation(deps))],
    ...createChannelPolicyOperations(deps),
  ];
}

async function saveChannel(deps: LakeOperationDeps, channel: Channel): Promise<void> {
  await deps.catalog.putDocument("channels", channel);
  await deps.onChange();
}

/** The caller's channels in the region it called. */
async function regionalChannels(deps: LakeOperationDeps, context: OperationContext): Promise<Channel[]> {
  return (await deps.catalog.documents<Channel>("channels", context.accountId)).filter(
    (c) => c.region === context.region,
  );
}

function channelResources(channel: Channel): Array<{ accountId: string; type: string; ARN: string }> {
  return [{ accountId: channel.accountId, type: "AWS::CloudTrail::Channel", ARN: channel.arn }];
}

function createChannelOperation(deps: LakeOperationDeps): OperationHandler {
  return async (input, context) => {
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
    const existing = await regionalChannels(deps, context);
    if (existing.some((c) => c.name === name))
      throw new ApiError("ChannelAlreadyExistsException", `A channel named ${name} already exists.`);
    if (existing.length >= MAX_CHANNELS)
      throw new ApiError("ChannelMaxLimitExceededException", `An account can have at most ${MAX_CHANNELS} channels.`);
    const destinations = await parseDestinations(deps, input["Destinations"], context);
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
    await saveChannel(deps, channel);
    const output = { ...view(channel), Tags: channel.tags };
    return { output, responseElements: output, resources: channelResources(channel) };
  };
}

function getChannelOperation(deps: LakeOperationDeps): OperationHandler {
  return async (input, context) => {
    const channel = await resolveChannel(deps.catalog, optionalString(input, "Channel"), context);
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
}

function listChannelsOperation(deps: LakeOperationDeps): OperationHandler {
  return async (input, context) => {
    const max = optionalInteger(input, "MaxResults") ?? 1000;
    if (max < 1 || max > 1000)
      throw new ApiError("InvalidMaxResultsException", "MaxResults must be between 1 and 1000.");
    const token = optionalString(input, "NextToken");
    const all = (await regionalChannels(deps, context)).sort(
      (a, b) => a.createdMs - b.createdMs || a.id.localeCompare(b.id),
    );
    const start = token === undefined ? 0 : Number.parseInt(token.replace(/^channels-/, ""), 10);
    if (!Number.isInteger(start) || start < 0 || start > all.length)
      throw new ApiError("InvalidNextTokenException", "The NextToken is invalid.");
    const page = all.slice(start, start + max).map((c) => ({ ChannelArn: c.arn, Name: c.name }));
    return {
      output: { Channels: page, ...(start + max < all.length ? { NextToken: `channels-${start + max}` } : {}) },
    };
  };
}

function updateChannelOperation(deps: LakeOperationDeps): OperationHandler {
  return async (input, context) => {
    const channel = await resolveChannel(deps.catalog, optionalString(input, "Channel"), context);
    const name = optionalString(input, "Name");
    if (name !== undefined) {
      checkName(name);
      if ((await regionalChannels(deps, context)).some((c) => c.name === name && c.id !== channel.id))
        throw new ApiError("ChannelAlreadyExistsException", `A channel named ${name} already exists.`);
    }
    const destinations =
      input["Destinations"] === undefined || input["Destinations"] === null
        ? channel.destinations
        : await parseDestinations(deps, input["Destinations"], context);
    const updated: Channel = { ...channel, ...(name !== undefined ? { name } : {}), destinations };
    await saveChannel(deps, updated);
    return { output: view(updated), responseElements: view(updated), resources: channelResources(updated) };
  };
}

function deleteChannelOperation(deps: LakeOperationDeps): OperationHandler {
  return async (input, context) => {
    const channel = await resolveChannel(deps.catalog, optionalString(input, "Channel"), context);
    await deps.catalog.deleteDocument("channels", channel.id, channel.accountId);
    await deps.onChange();
    return { output: {}, responseElements: null, resources: channelResources(channel) };
  };
}

/** Resource policies: channels only (event data store and dashboard policies are not supported yet). */
function createChannelPolicyOperations(deps: LakeOperationDeps): Array<[string, OperationHandler]> {
  const policyTarget = async (input: Record<string, unknown>, context: OperationContext): Promise<Channel> => {
    const arn = optionalString(input, "ResourceArn");
    if (arn === undefined) throw new ApiError("InvalidParameterException", "ResourceArn is required.");
    if (!arn.includes(":channel/"))
      throw new ApiError(
        "ResourceTypeNotSupportedException",
        "Cairn supports resource policies on channels only (not on event data stores or dashboards yet).",
      );
    return resolveChannel(deps.catalog, arn, context);
  };

  const putPolicy: OperationHandler = async (input, context) => {
    const channel = await policyTarget(input, context);
    const policy = optionalString(input, "ResourcePolicy");
    if (policy === undefined) throw new ApiError("InvalidParameterException", "ResourcePolicy is required.");
    checkPolicy(policy);
    await saveChannel(deps, { ...channel, policy });
    const output = { ResourceArn: channel.arn, ResourcePolicy: policy };
    return { output, responseElements: output, resources: channelResources(channel) };
  };

  const getPolicy: OperationHandler = async (input, context) => {
    const channel = await policyTarget(input, context);
    if (channel.policy === undefined)
      throw new ApiError("ResourcePolicyNotFoundException", `Channel ${channel.arn} has no resource policy.`);
    return { output: { ResourceArn: channel.arn, ResourcePolicy: channel.policy } };
  };

  const deletePolicy: OperationHandler = async (input, context) => {
    const channel = await policyTarget(input, context);
    if (channel.policy === undefined)
      throw new ApiError("ResourcePolicyNotFoundException", `Channel ${channel.arn} has no resource policy.`);
    const { policy: _removed, ...rest } = channel;
    await saveChannel(deps, rest);
    return { output: {}, responseElements: null, resources: channelResources(channel) };
  };

  return [
    ["PutResourcePolicy", inWriteTurn(deps, putPolicy)],
    ["GetResourcePolicy", getPolicy],
    ["DeleteResourcePolicy", inWriteTurn(deps, deletePolicy)],
  ];
}

/** The channels that send to a store (DeleteEventDataStore refuses while there is one). */
export async function channelsSendingTo(catalog: LakeCatalog, store: EventDataStore): Promise<Channel[]> {
  return (await catalog.documents<Channel>("channels", store.accountId)).filter((c) =>
    c.destinations.some((d) => d.Location === store.arn),
  );
}
