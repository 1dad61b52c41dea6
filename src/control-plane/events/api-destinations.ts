import { ApiError } from "../../lib/api-error.js";
import type { ApiDestination, HttpMethod } from "../../stores/event-rules/index.js";
import type { OperationContext } from "../operation.js";
import {
  constraintError,
  enumString,
  epochSeconds,
  optionalInteger,
  optionalString,
  pageAfter,
  pageLimit,
  pageOf,
  requiredString,
} from "./events-input.js";
import {
  bound,
  limitExceeded,
  nameOf,
  namedResource,
  NO_RESOURCE,
  read,
  resourceArn,
  scopeOf,
  written,
  type EventsDependencies,
  type EventsOperation,
} from "./events-operation.js";

/** EventBridge's quotas: API destinations per account and region, invocations per second per destination. */
const API_DESTINATIONS_MAX = 3000;
const RATE_LIMIT_MAX = 300;
const HTTP_METHODS: readonly HttpMethod[] = ["POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"];
const CONNECTION_ARN = /^arn:aws:events:([a-z0-9-]+):(\d{12}):connection\/([.\-_A-Za-z0-9]+)\/[-A-Za-z0-9]+$/;

/** API destinations are authorised on arn:aws:events:<region>:<account>:api-destination/<name>. */
const apiDestinationResource = namedResource("api-destination", "Name");

function notFound(name: string): ApiError {
  return new ApiError("ResourceNotFoundException", `An api-destination '${name}' does not exist.`);
}

/**
 * The endpoint events are sent to (or an OAuth connection's authorization endpoint, `member`): an
 * https:// URL as EventBridge requires, or http:// for a receiver on a local network (Cairn runs
 * beside its receivers). Credentials in the URL are refused: the call's record would show them; a
 * connection holds them sealed instead.
 */
export function endpointOf(input: Record<string, unknown>, member = "InvocationEndpoint", at = member): string {
  const endpoint = requiredString(input, at, { min: 1, max: 2048 });
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw constraintError(at, endpoint, "Member must be an http:// or https:// URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw constraintError(at, endpoint, "Member must be an http:// or https:// URL");
  }
  if (url.username !== "" || url.password !== "") {
    throw new ApiError(
      "ValidationException",
      `${member} must not hold credentials: put them in the connection, where they are kept sealed.`,
    );
  }
  return endpoint;
}

async function connectionArnOf(deps: EventsDependencies, input: Record<string, unknown>, context: OperationContext) {
  const arn = requiredString(input, "ConnectionArn", { min: 1, max: 1600 });
  const match = CONNECTION_ARN.exec(arn);
  if (match === null) {
    throw constraintError(
      "ConnectionArn",
      arn,
      "Member must satisfy regular expression pattern: ^arn:aws([a-z]|\\-)*:events:([a-z]|\\d|\\-)*:([0-9]{12})?:connection\\/[\\.\\-_A-Za-z0-9]+\\/[\\-A-Za-z0-9]+$",
    );
  }
  const [, region, account, name] = match;
  const connection =
    region === context.region && account === context.accountId
      ? await deps.store.getConnection(scopeOf(context), name!)
      : undefined;
  if (connection?.arn !== arn) throw new ApiError("ResourceNotFoundException", `Connection '${name}' does not exist.`);
  return arn;
}

async function createApiDestination(
  deps: EventsDependencies,
  input: Record<string, unknown>,
  context: OperationContext,
) {
  const name = nameOf(input);
  const description = optionalString(input, "Description", { max: 512 });
  const invocationEndpoint = endpointOf(input);
  const httpMethod = enumString(input, "HttpMethod", HTTP_METHODS, true)!;
  const rate = optionalInteger(input, "InvocationRateLimitPerSecond", { min: 1, max: RATE_LIMIT_MAX });
  const connectionArn = await connectionArnOf(deps, input, context);
  const scope = scopeOf(context);
  if ((await deps.store.countApiDestinations(scope)) >= API_DESTINATIONS_MAX) throw limitExceeded();
  const { destination, created } = await deps.store.createApiDestination({
    ...scope,
    arn: `${resourceArn(scope, "api-destination", name)}/${deps.newId()}`,
    name,
    ...(description !== undefined ? { description } : {}),
    connectionArn,
    invocationEndpoint,
    httpMethod,
    ...(rate !== undefined ? { invocationRateLimitPerSecond: rate } : {}),
    createdAtMs: context.nowMs,
    updatedAtMs: context.nowMs,
  });
  if (!created) throw new ApiError("ResourceAlreadyExistsException", `An api-destination '${name}' already exists.`);
  return written(destinationSummary(destination));
}

function destinationSummary(destination: ApiDestination): Record<string, unknown> {
  return {
    ApiDestinationArn: destination.arn,
    ApiDestinationState: "ACTIVE",
    CreationTime: epochSeconds(destination.createdAtMs),
    LastModifiedTime: epochSeconds(destination.updatedAtMs),
  };
}

/** UpdateApiDestination: the members given replace the stored ones; a new connection must exist. */
async function updateApiDestination(
  deps: EventsDependencies,
  input: Record<string, unknown>,
  context: OperationContext,
) {
  const name = nameOf(input);
  const description = optionalString(input, "Description", { max: 512 });
  const invocationEndpoint = input["InvocationEndpoint"] == null ? undefined : endpointOf(input);
  const httpMethod = enumString(input, "HttpMethod", HTTP_METHODS, false);
  const rate = optionalInteger(input, "InvocationRateLimitPerSecond", { min: 1, max: RATE_LIMIT_MAX });
  const connectionArn = input["ConnectionArn"] == null ? undefined : await connectionArnOf(deps, input, context);
  const change = {
    ...(description !== undefined ? { description } : {}),
    ...(invocationEndpoint !== undefined ? { invocationEndpoint } : {}),
    ...(httpMethod !== undefined ? { httpMethod } : {}),
    ...(rate !== undefined ? { invocationRateLimitPerSecond: rate } : {}),
    ...(connectionArn !== undefined ? { connectionArn } : {}),
  };
  const updated = await deps.store.updateApiDestination(scopeOf(context), name, change, context.nowMs);
  if (updated === undefined) throw notFound(name);
  return written(destinationSummary(updated));
}

function destinationOutput(destination: ApiDestination): Record<string, unknown> {
  return {
    ApiDestinationArn: destination.arn,
    Name: destination.name,
    ...(destination.description !== undefined ? { Description: destination.description } : {}),
    ApiDestinationState: "ACTIVE",
    ConnectionArn: destination.connectionArn,
    InvocationEndpoint: destination.invocationEndpoint,
    HttpMethod: destination.httpMethod,
    ...(destination.invocationRateLimitPerSecond !== undefined
      ? { InvocationRateLimitPerSecond: destination.invocationRateLimitPerSecond }
      : {}),
    CreationTime: epochSeconds(destination.createdAtMs),
    LastModifiedTime: epochSeconds(destination.updatedAtMs),
  };
}

async function describeApiDestination(
  deps: EventsDependencies,
  input: Record<string, unknown>,
  context: OperationContext,
) {
  const name = nameOf(input);
  const destination = await deps.store.getApiDestination(scopeOf(context), name);
  if (destination === undefined) throw notFound(name);
  return read(destinationOutput(destination));
}

async function listApiDestinations(
  deps: EventsDependencies,
  input: Record<string, unknown>,
  context: OperationContext,
) {
  const prefix = optionalString(input, "NamePrefix", { min: 1, max: 64 });
  const connectionArn = optionalString(input, "ConnectionArn", { min: 1, max: 1600 });
  const limit = pageLimit(input);
  const afterName = pageAfter(input);
  const page = { ...(prefix !== undefined ? { prefix } : {}), ...(afterName !== undefined ? { afterName } : {}) };
  const rows = await deps.store.listApiDestinations(scopeOf(context), { ...page, limit: limit + 1 }, connectionArn);
  const { items, next } = pageOf(rows, limit, (destination) => destination.name);
  return read({
    ApiDestinations: items.map((destination) => {
      const { Description: _description, ...summary } = destinationOutput(destination);
      return summary;
    }),
    ...(next !== undefined ? { NextToken: next } : {}),
  });
}

async function deleteApiDestination(
  deps: EventsDependencies,
  input: Record<string, unknown>,
  context: OperationContext,
) {
  const name = nameOf(input);
  if (!(await deps.store.deleteApiDestination(scopeOf(context), name))) throw notFound(name);
  return written({});
}

/** CreateApiDestination, DescribeApiDestination, UpdateApiDestination, ListApiDestinations, DeleteApiDestination. */
export function apiDestinationOperations(deps: EventsDependencies): Record<string, EventsOperation> {
  return {
    CreateApiDestination: bound(deps, createApiDestination, apiDestinationResource),
    DescribeApiDestination: bound(deps, describeApiDestination, apiDestinationResource),
    UpdateApiDestination: bound(deps, updateApiDestination, apiDestinationResource),
    ListApiDestinations: bound(deps, listApiDestinations, NO_RESOURCE),
    DeleteApiDestination: bound(deps, deleteApiDestination, apiDestinationResource),
  };
}
