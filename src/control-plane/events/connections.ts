import { ApiError } from "../../lib/api-error.js";
import { isPlainObject } from "../../lib/plain-object.js";
import type {
  AuthorizationType,
  ConnectionAuth,
  ConnectionParameter,
  EventConnection,
  InvocationHttpParameters,
} from "../../stores/event-rules/index.js";
import type { OperationContext } from "../operation.js";
import {
  constraintError,
  enumString,
  epochSeconds,
  optionalList,
  optionalObject,
  optionalString,
  pageAfter,
  pageLimit,
  pageOf,
  requiredObject,
  requiredString,
  type StringShape,
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

/** EventBridge's quota of connections per account and region. */
const CONNECTIONS_MAX = 3000;
const AUTHORIZATION_TYPES: readonly AuthorizationType[] = ["BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY"];
/** `AuthHeaderParameters` of the model: a header name or value without control characters or `:`. */
const AUTH_HEADER: StringShape = {
  min: 1,
  max: 512,
  // Control characters are what the pattern excludes, so it must name them.
  // eslint-disable-next-line no-control-regex
  pattern: /^[ \t]*[^\x00-\x1F:\x7F]+([ \t]+[^\x00-\x1F:\x7F]+)*[ \t]*$/,
  patternText: "^[ \\t]*[^\\x00-\\x1F:\\x7F]+([ \\t]+[^\\x00-\\x1F:\\x7F]+)*[ \\t]*$",
};
const PARAMETER_LISTS = ["HeaderParameters", "QueryStringParameters", "BodyParameters"] as const;
/** Members of CreateConnection Cairn cannot honour: refused rather than silently dropped. */
const UNSUPPORTED = ["InvocationConnectivityParameters", "KmsKeyIdentifier"];

/** Connections are authorised on arn:aws:events:<region>:<account>:connection/<name> (the service authorization reference's form). */
const connectionResource = namedResource("connection", "Name");

function notFound(name: string, describing: boolean): ApiError {
  const prefix = describing ? "Failed to describe the connection(s). " : "";
  return new ApiError("ResourceNotFoundException", `${prefix}Connection '${name}' does not exist.`);
}

function parametersOf(list: unknown[], at: string): ConnectionParameter[] {
  if (list.length > 100) throw constraintError(at, "…", "Member must have length less than or equal to 100");
  return list.map((item, index) => {
    const member = `${at}.${index + 1}.member`;
    if (!isPlainObject(item)) throw new ApiError("SerializationException", `Member '${member}' must be an object.`);
    const key = requiredString(item, `${member}.Key`, { min: 1, max: 512 });
    const value = requiredString(item, `${member}.Value`, { max: 512 });
    const secret = item["IsValueSecret"];
    if (secret !== undefined && secret !== null && typeof secret !== "boolean") {
      throw new ApiError("SerializationException", `Member '${member}.IsValueSecret' must be a boolean.`);
    }
    return { key, value, isValueSecret: secret === true };
  });
}

function invocationParametersOf(auth: Record<string, unknown>): InvocationHttpParameters | undefined {
  const parameters = optionalObject(auth, "InvocationHttpParameters");
  if (parameters === undefined) return undefined;
  const out: Record<string, ConnectionParameter[]> = {};
  for (const member of PARAMETER_LISTS) {
    const at = `AuthParameters.InvocationHttpParameters.${member}`;
    const list = optionalList(parameters, at);
    if (list !== undefined) out[member.charAt(0).toLowerCase() + member.slice(1)] = parametersOf(list, at);
  }
  return out;
}

/** The auth CreateConnection is given, secrets included (they go to the store, which seals them). */
function authOf(type: AuthorizationType, auth: Record<string, unknown>): ConnectionAuth {
  if (type === "OAUTH_CLIENT_CREDENTIALS") {
    throw new ApiError(
      "ValidationException",
      "Cairn does not support OAUTH_CLIENT_CREDENTIALS connections yet: use API_KEY or BASIC.",
    );
  }
  if (optionalObject(auth, "ConnectivityParameters") !== undefined || auth["OAuthParameters"] != null) {
    throw new ApiError("ValidationException", `Only the auth parameters of ${type} may be given with it.`);
  }
  const member = type === "API_KEY" ? "ApiKeyAuthParameters" : "BasicAuthParameters";
  const other = type === "API_KEY" ? "BasicAuthParameters" : "ApiKeyAuthParameters";
  if (auth[other] != null)
    throw new ApiError("ValidationException", `Only the auth parameters of ${type} may be given with it.`);
  const given = optionalObject(auth, member);
  if (given === undefined) {
    throw new ApiError(
      "ValidationException",
      `AuthParameters.${member} must be specified for authorization type ${type}.`,
    );
  }
  const at = `AuthParameters.${member}`;
  const invocationHttpParameters = invocationParametersOf(auth);
  const extra = invocationHttpParameters !== undefined ? { invocationHttpParameters } : {};
  if (type === "API_KEY") {
    const name = requiredString(given, `${at}.ApiKeyName`, AUTH_HEADER);
    return {
      authorizationType: type,
      apiKey: { name, value: requiredString(given, `${at}.ApiKeyValue`, AUTH_HEADER) },
      ...extra,
    };
  }
  const username = requiredString(given, `${at}.Username`, AUTH_HEADER);
  return {
    authorizationType: type,
    basic: { username, password: requiredString(given, `${at}.Password`, AUTH_HEADER) },
    ...extra,
  };
}

async function createConnection(deps: EventsDependencies, input: Record<string, unknown>, context: OperationContext) {
  const name = nameOf(input);
  const description = optionalString(input, "Description", { max: 512 });
  const type = enumString(input, "AuthorizationType", AUTHORIZATION_TYPES, true)!;
  const auth = authOf(type, requiredObject(input, "AuthParameters"));
  const unsupported = UNSUPPORTED.find((member) => input[member] !== undefined && input[member] !== null);
  if (unsupported !== undefined) throw new ApiError("ValidationException", `Cairn does not support ${unsupported}.`);
  const scope = scopeOf(context);
  if ((await deps.store.countConnections(scope)) >= CONNECTIONS_MAX) throw limitExceeded();
  const id = deps.newId();
  const { connection, created } = await deps.store.createConnection({
    ...scope,
    arn: `${resourceArn(scope, "connection", name)}/${id}`,
    name,
    ...(description !== undefined ? { description } : {}),
    authorizationType: type,
    secretArn: `arn:aws:secretsmanager:${scope.region}:${scope.accountId}:secret:events!connection/${name}/${id}`,
    createdAtMs: context.nowMs,
    updatedAtMs: context.nowMs,
    auth,
  });
  if (!created) throw new ApiError("ResourceAlreadyExistsException", `Connection ${name} already exists.`);
  return written(connectionSummary(connection, "AUTHORIZED"));
}

function connectionSummary(connection: EventConnection, state: string): Record<string, unknown> {
  return {
    ConnectionArn: connection.arn,
    ConnectionState: state,
    CreationTime: epochSeconds(connection.createdAtMs),
    LastModifiedTime: epochSeconds(connection.updatedAtMs),
    LastAuthorizedTime: epochSeconds(connection.updatedAtMs),
  };
}

function parametersOutput(parameters: InvocationHttpParameters): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const member of PARAMETER_LISTS) {
    const list = parameters[(member.charAt(0).toLowerCase() + member.slice(1)) as keyof InvocationHttpParameters];
    if (list === undefined) continue;
    out[member] = list.map((p) => ({
      Key: p.key,
      ...(p.value !== undefined ? { Value: p.value } : {}),
      IsValueSecret: p.isValueSecret,
    }));
  }
  return out;
}

/** DescribeConnection's answer: never a secret (API key value, password, secret parameter values). */
function connectionOutput(connection: EventConnection): Record<string, unknown> {
  const parameters = connection.invocationHttpParameters;
  return {
    ConnectionArn: connection.arn,
    Name: connection.name,
    ...(connection.description !== undefined ? { Description: connection.description } : {}),
    ConnectionState: "AUTHORIZED",
    AuthorizationType: connection.authorizationType,
    SecretArn: connection.secretArn,
    AuthParameters: {
      ...(connection.apiKeyName !== undefined ? { ApiKeyAuthParameters: { ApiKeyName: connection.apiKeyName } } : {}),
      ...(connection.username !== undefined ? { BasicAuthParameters: { Username: connection.username } } : {}),
      ...(parameters !== undefined ? { InvocationHttpParameters: parametersOutput(parameters) } : {}),
    },
    CreationTime: epochSeconds(connection.createdAtMs),
    LastModifiedTime: epochSeconds(connection.updatedAtMs),
    LastAuthorizedTime: epochSeconds(connection.updatedAtMs),
  };
}

async function describeConnection(deps: EventsDependencies, input: Record<string, unknown>, context: OperationContext) {
  const name = nameOf(input);
  const connection = await deps.store.getConnection(scopeOf(context), name);
  if (connection === undefined) throw notFound(name, true);
  return read(connectionOutput(connection));
}

async function listConnections(deps: EventsDependencies, input: Record<string, unknown>, context: OperationContext) {
  const prefix = optionalString(input, "NamePrefix", { min: 1, max: 64 });
  const state = optionalString(input, "ConnectionState");
  const limit = pageLimit(input);
  const afterName = pageAfter(input);
  // Every connection on Cairn is AUTHORIZED (its credentials are used as given, nothing to authorize).
  const rows =
    state !== undefined && state !== "AUTHORIZED"
      ? []
      : await deps.store.listConnections(scopeOf(context), {
          ...(prefix !== undefined ? { prefix } : {}),
          ...(afterName !== undefined ? { afterName } : {}),
          limit: limit + 1,
        });
  const page = pageOf(rows, limit, (connection) => connection.name);
  return read({
    Connections: page.items.map((connection) => {
      const {
        ConnectionArn,
        Name,
        ConnectionState,
        AuthorizationType,
        CreationTime,
        LastModifiedTime,
        LastAuthorizedTime,
      } = connectionOutput(connection);
      return {
        ConnectionArn,
        Name,
        ConnectionState,
        AuthorizationType,
        CreationTime,
        LastModifiedTime,
        LastAuthorizedTime,
      };
    }),
    ...(page.next !== undefined ? { NextToken: page.next } : {}),
  });
}

/**
 * UpdateConnection: a new Description, and AuthParameters that replace the authorization whole (the
 * type's key or credentials and the invocation parameters, re-sealed); a changed AuthorizationType
 * needs its AuthParameters.
 */
async function updateConnection(deps: EventsDependencies, input: Record<string, unknown>, context: OperationContext) {
  const name = nameOf(input);
  const description = optionalString(input, "Description", { max: 512 });
  const type = enumString(input, "AuthorizationType", AUTHORIZATION_TYPES, false);
  const given = optionalObject(input, "AuthParameters");
  const unsupported = UNSUPPORTED.find((member) => input[member] !== undefined && input[member] !== null);
  if (unsupported !== undefined) throw new ApiError("ValidationException", `Cairn does not support ${unsupported}.`);
  const scope = scopeOf(context);
  const current = await deps.store.getConnection(scope, name);
  if (current === undefined) throw notFound(name, false);
  if (type !== undefined && type !== current.authorizationType && given === undefined) {
    throw new ApiError(
      "ValidationException",
      `AuthParameters must be specified to change the authorization type to ${type}.`,
    );
  }
  const auth = given === undefined ? undefined : authOf(type ?? current.authorizationType, given);
  const change = { ...(description !== undefined ? { description } : {}), ...(auth !== undefined ? { auth } : {}) };
  const updated = await deps.store.updateConnection(scope, name, change, context.nowMs);
  if (updated === undefined) throw notFound(name, false);
  return written(connectionSummary(updated, "AUTHORIZED"));
}

async function deleteConnection(deps: EventsDependencies, input: Record<string, unknown>, context: OperationContext) {
  const name = nameOf(input);
  const deleted = await deps.store.deleteConnection(scopeOf(context), name);
  if (deleted === undefined) throw notFound(name, false);
  return written(connectionSummary(deleted, "DELETING"));
}

/** CreateConnection, DescribeConnection, UpdateConnection, ListConnections, DeleteConnection. */
export function connectionOperations(deps: EventsDependencies): Record<string, EventsOperation> {
  return {
    CreateConnection: bound(deps, createConnection, connectionResource),
    DescribeConnection: bound(deps, describeConnection, connectionResource),
    UpdateConnection: bound(deps, updateConnection, connectionResource),
    ListConnections: bound(deps, listConnections, NO_RESOURCE),
    DeleteConnection: bound(deps, deleteConnection, connectionResource),
  };
}
