import type { MasterKey } from "../../lib/secret-envelope.js";
import {
  connectionSecretAssociatedData,
  publicConnectionOf,
  type ApiDestination,
  type AuthorizationType,
  type ConnectionAuth,
  type ConnectionState,
  type EventConnection,
  type EventRule,
  type EventTarget,
  type HttpMethod,
  type NewConnection,
  type RuleState,
} from "./event-rule-store.js";

/** The rows both backends store, and how they read back. Numbers may come back as strings (PostgreSQL BIGINT). */
export interface RuleRow {
  arn: string;
  account_id: string;
  region: string;
  name: string;
  event_pattern: string;
  state: string;
  description: string | null;
  role_arn: string | null;
  created_at_ms: number | string;
  updated_at_ms: number | string;
  generation: number | string;
}

export interface TargetRow {
  rule_arn: string;
  target_id: string;
  spec: string;
}

export interface ConnectionRow {
  arn: string;
  account_id: string;
  region: string;
  name: string;
  description: string | null;
  authorization_type: string;
  public_auth: string;
  secret_arn: string;
  created_at_ms: number | string;
  updated_at_ms: number | string;
  connection_state: string;
  state_reason: string | null;
  authorized_at_ms: number | string | null;
}

export interface DestinationRow {
  arn: string;
  account_id: string;
  region: string;
  name: string;
  description: string | null;
  connection_arn: string;
  invocation_endpoint: string;
  http_method: string;
  rate_limit: number | string | null;
  created_at_ms: number | string;
  updated_at_ms: number | string;
}

/** The columns a connection is read from: never its sealed secrets, except for connectionAuth. */
export const CONNECTION_COLUMNS =
  "arn, account_id, region, name, description, authorization_type, public_auth, secret_arn, created_at_ms, updated_at_ms, " +
  "connection_state, state_reason, authorized_at_ms";

/** A new connection's values in CONNECTION_COLUMNS order, then its sealed auth. */
export function connectionInsertValues(connection: NewConnection, masterKey: MasterKey): unknown[] {
  const { publicAuth, sealedAuth } = connectionRowValues(connection, masterKey);
  return [
    ...[connection.arn, connection.accountId, connection.region, connection.name],
    ...[connection.description ?? null, connection.authorizationType, publicAuth, connection.secretArn],
    ...[connection.createdAtMs, connection.updatedAtMs, connection.state, null],
    ...[connection.lastAuthorizedAtMs ?? null, sealedAuth],
  ];
}

/** The columns of an API destination, in the order the backends insert them. */
export const DESTINATION_COLUMNS =
  "arn, account_id, region, name, description, connection_arn, invocation_endpoint, http_method, rate_limit, created_at_ms, updated_at_ms";

export function ruleOfRow(row: RuleRow): EventRule {
  return {
    arn: row.arn,
    accountId: row.account_id,
    region: row.region,
    name: row.name,
    eventPattern: row.event_pattern,
    state: row.state as RuleState,
    ...(row.description !== null ? { description: row.description } : {}),
    ...(row.role_arn !== null ? { roleArn: row.role_arn } : {}),
    createdAtMs: Number(row.created_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
    generation: Number(row.generation),
  };
}

export function targetOfRow(row: Pick<TargetRow, "spec">): EventTarget {
  return JSON.parse(row.spec) as EventTarget;
}

/** What a connection row stores besides its scope and name: the public view as JSON, the auth sealed. */
export function connectionRowValues(
  connection: Pick<NewConnection, "arn" | "auth">,
  masterKey: MasterKey,
): { publicAuth: string; sealedAuth: string } {
  const { apiKeyName, username, invocationHttpParameters, oauth } = publicConnectionOf(connection);
  return {
    publicAuth: JSON.stringify({ apiKeyName, username, invocationHttpParameters, oauth }),
    sealedAuth: masterKey.seal(JSON.stringify(connection.auth), connectionSecretAssociatedData(connection.arn)),
  };
}

export function connectionOfRow(row: ConnectionRow): EventConnection {
  const shown = JSON.parse(row.public_auth) as Pick<
    EventConnection,
    "apiKeyName" | "username" | "invocationHttpParameters" | "oauth"
  >;
  return {
    arn: row.arn,
    accountId: row.account_id,
    region: row.region,
    name: row.name,
    ...(row.description !== null ? { description: row.description } : {}),
    authorizationType: row.authorization_type as AuthorizationType,
    ...shown,
    secretArn: row.secret_arn,
    createdAtMs: Number(row.created_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
    state: row.connection_state as ConnectionState,
    ...(row.state_reason !== null ? { stateReason: row.state_reason } : {}),
    ...(row.authorized_at_ms !== null ? { lastAuthorizedAtMs: Number(row.authorized_at_ms) } : {}),
  };
}

/** Opens a connection's sealed auth; throws SecretEnvelopeError when the key or the row is not the one that sealed it. */
export function openConnectionAuth(masterKey: MasterKey, arn: string, sealed: string): ConnectionAuth {
  return JSON.parse(masterKey.open(sealed, connectionSecretAssociatedData(arn))) as ConnectionAuth;
}

export function destinationOfRow(row: DestinationRow): ApiDestination {
  return {
    arn: row.arn,
    accountId: row.account_id,
    region: row.region,
    name: row.name,
    ...(row.description !== null ? { description: row.description } : {}),
    connectionArn: row.connection_arn,
    invocationEndpoint: row.invocation_endpoint,
    httpMethod: row.http_method as HttpMethod,
    ...(row.rate_limit !== null ? { invocationRateLimitPerSecond: Number(row.rate_limit) } : {}),
    createdAtMs: Number(row.created_at_ms),
    updatedAtMs: Number(row.updated_at_ms),
  };
}

/** The rules of `rows` with their targets, `targets` in any order. */
export function rulesWithTargets(
  rules: readonly RuleRow[],
  targets: readonly TargetRow[],
): Array<{ rule: EventRule; targets: EventTarget[] }> {
  const byRule = new Map<string, EventTarget[]>();
  for (const row of targets) byRule.set(row.rule_arn, [...(byRule.get(row.rule_arn) ?? []), targetOfRow(row)]);
  return rules.map((row) => ({ rule: ruleOfRow(row), targets: byRule.get(row.arn) ?? [] }));
}
