import { ApiError } from "../../lib/api-error.js";
import type {
  AuthorizationType,
  ConnectionAuth,
  ConnectionState,
  EventConnection,
  InvocationHttpParameters,
} from "../../stores/event-rules/index.js";
import { AUTH_HEADER, httpParametersOf, oauthOf, oauthOutput, parametersOutput } from "./connection-oauth.js";
import type { OperationContext } from "../operation.js";
import {
  enumString,
  epochSeconds,
  optionalObject,
  optionalString,
  pageAfter,
  pageLimit,
  pageOf,
  requiredObject,
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

/** EventBridge's quota of connections per account and region. */
const CONNECTIONS_MAX = 3000;
const AUTHORIZATION_TYPES: readonly AuthorizationType[] = ["BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY"];
/** The model's ConnectionState enum, for ListConnections' filter. */
const LISTED_STATES = [
  "CREATING",
  "UPDATING",
  "DELETING",
  "AUTHORIZED",
  "DEAUTHORIZED",
  "AUTHORIZING",
  "DEAUTHORIZING",
  "ACTIVE",
  "FAILED_CONNECTIVITY",
] as const;
/** The states a connection is kept in on Cairn. */
const KEPT_STATES: readonly ConnectionState[] = ["AUTHORIZING", "AUTHORIZED", "DEAUTHORIZED"];
/** Members of CreateConnection Cairn cannot honour: refused rather than silently dropped. */
const UNSUPPORTED = ["InvocationConnectivityParameters", "KmsKeyIdentifier"];

/** Connections are authorised on arn:aws:events:<region>:<account>:connection/<name> (the service authorization reference's form). */
const connectionResource = namedResource("connection", "Name");

function notFound(name: string, describing: boolean): ApiError {
  const prefix = describing ? "Failed to describe the connection(s). " : "";
  return new ApiError("ResourceNotFoundException", `${prefix}Connection '${name}' does not exist.`);
}

function invocationParametersOf(auth: Record<string, unknown>): InvocationHttpParameters | undefined {
  return httpParametersOf(auth, "InvocationHttpParameters", "AuthParameters.InvocationHttpParameters");
}

const TYPE_MEMBERS: Record<AuthorizationType, string> = {
  API_KEY: "ApiKeyAuthParameters",
  BASIC: "BasicAuthParameters",
  OAUTH_CLIENT_CREDENTIALS: "OAuthParameters",
};

/**
 * The auth CreateConnection (or UpdateConnection, with the current OAuth auth to update member by
 * member) is given, secrets included (they go to the store, which seals them).
 */
function authOf(type: AuthorizationType, auth: Record<string, unknown>, current?: ConnectionAuth): ConnectionAuth {
  const currentOAuth = current?.oauth;
  if (optionalObject(auth, "ConnectivityParameters") !== undefined) {
    throw new ApiError("ValidationException", `Only the auth parameters of ${type} may be given with it.`);
  }
  const member = TYPE_MEMBERS[type];
  for (const other of Object.values(TYPE_MEMBERS)) {
    if (other !== member && auth[other] != null)
      throw new ApiError("ValidationException", `Only the auth parameters of ${type} may be given with it.`);
  }
  const given = optionalObject(auth, member) ?? (currentOAuth !== undefined ? {} : undefined);
  if (given === undefined) {
    throw new ApiError(
      "ValidationException",
      `AuthParameters.${member} must be specified for authorization type ${type}.`,
    );
  }
  const at = `AuthParameters.${member}`;
  const invocationHttpParameters = invocationParametersOf(auth);
  const extra = invocationHttpParameters !== undefined ? { invocationHttpParameters } : {};
  if (type === "OAUTH_CLIENT_CREDENTIALS") {
    const kept = invocationHttpParameters ?? current?.invocationHttpParameters;
    const parameters = kept !== undefined ? { invocationHttpParameters: kept } : {};
    return { authorizationType: type, oauth: oauthOf(given, currentOAuth), ...parameters };
  }
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
  const state: ConnectionState = type === "OAUTH_CLIENT_CREDENTIALS" ? "AUTHORIZING" : "AUTHORIZED";
  const { connection, created } = await deps.store.createConnection({
    ...scope,
    arn: `${resourceArn(scope, "connection", name)}/${id}`,
    name,
    ...(description !== undefined ? { description } : {}),
    authorizationType: type,
    secretArn: `arn:aws:secretsmanager:${scope.region}:${scope.accountId}:secret:events!connection/${name}/${id}`,
    createdAtMs: context.nowMs,
    updatedAtMs: context.nowMs,
    state,
    ...(state === "AUTHORIZED" ? { lastAuthorizedAtMs: context.nowMs } : {}),
    auth,
  });
  if (!created) throw new ApiError("ResourceAlreadyExistsException", `Connection ${name} already exists.`);
  if (state === "AUTHORIZING") deps.authorizeConnection?.(connection);
  return written(connectionSummary(connection, state));
}

function connectionSummary(connection: EventConnection, state: string): Record<string, unknown> {
  return {
    ConnectionArn: connection.arn,
    ConnectionState: state,
    CreationTime: epochSeconds(connection.createdAtMs),
    LastModifiedTime: epochSeconds(connection.updatedAtMs),
    ...lastAuthorized(connection),
  };
}

function lastAuthorized(connection: EventConnection): Record<string, unknown> {
  const at = connection.lastAuthorizedAtMs;
  return at !== undefined ? { LastAuthorizedTime: epochSeconds(at) } : {};
}

/** DescribeConnection's answer: never a secret (API key value, password, secret parameter values). */
function connectionOutput(connection: EventConnection): Record<string, unknown> {
  const parameters = connection.invocationHttpParameters;
  return {
    ConnectionArn: connection.arn,
    Name: connection.name,
    ...(connection.description !== undefined ? { Description: connection.description } : {}),
    ConnectionState: connection.state,
    ...(connection.stateReason !== undefined ? { StateReason: connection.stateReason } : {}),
    AuthorizationType: connection.authorizationType,
    SecretArn: connection.secretArn,
    AuthParameters: {
      ...(connection.apiKeyName !== undefined ? { ApiKeyAuthParameters: { ApiKeyName: connection.apiKeyName } } : {}),
      ...(connection.username !== undefined ? { BasicAuthParameters: { Username: connection.username } } : {}),
      ...(connection.oauth !== undefined ? { OAuthParameters: oauthOutput(connection.oauth) } : {}),
      ...(parameters !== undefined ? { InvocationHttpParameters: parametersOutput(parameters) } : {}),
    },
    CreationTime: epochSeconds(connection.createdAtMs),
    LastModifiedTime: epochSeconds(connection.updatedAtMs),
    ...lastAuthorized(connection),
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
  const state = enumString(input, "ConnectionState", LISTED_STATES, false);
  const limit = pageLimit(input);
  const afterName = pageAfter(input);
  // The states Cairn's connections are never in (CREATING, DELETING, ACTIVE…) list none.
  const kept = KEPT_STATES.find((kept) => kept === state);
  const rows =
    state !== undefined && kept === undefined
      ? []
      : await deps.store.listConnections(
          scopeOf(context),
          {
            ...(prefix !== undefined ? { prefix } : {}),
            ...(afterName !== undefined ? { afterName } : {}),
            limit: limit + 1,
          },
          kept,
        );
  const page = pageOf(rows, limit, (connection) => connection.name);
  return read({
    Connections: page.items.map((connection) => {
      const {
        ConnectionArn,
        Name,
        ConnectionState,
        StateReason,
        AuthorizationType,
        CreationTime,
        LastModifiedTime,
        LastAuthorizedTime,
      } = connectionOutput(connection);
      return {
        ConnectionArn,
        Name,
        ConnectionState,
        StateReason,
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
  const newType = type ?? current.authorizationType;
  const currentAuth =
    given !== undefined && newType === "OAUTH_CLIENT_CREDENTIALS" && current.authorizationType === newType
      ? await deps.store.connectionAuth(current.arn)
      : undefined;
  const auth = given === undefined ? undefined : authOf(newType, given, currentAuth);
  const state: ConnectionState = newType === "OAUTH_CLIENT_CREDENTIALS" ? "AUTHORIZING" : "AUTHORIZED";
  const change = {
    ...(description !== undefined ? { description } : {}),
    ...(auth !== undefined ? { auth, state } : {}),
  };
  const updated = await deps.store.updateConnection(scope, name, change, context.nowMs);
  if (updated === undefined) throw notFound(name, false);
  if (updated.state === "AUTHORIZING" && auth !== undefined) deps.authorizeConnection?.(updated);
  return written(connectionSummary(updated, updated.state));
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
