/**
 * EventBridge rules, their targets, connections and API destinations (docs/reference/events.md), per
 * account and region: every ARN carries both, and every lookup by name takes the scope, so one
 * account never finds another's. test/contract/event-rule-store.suite.ts is the contract, run per
 * backend.
 *
 * Connection secrets (API key values, passwords, secret header/query/body parameters) are sealed
 * with the master key before they are written (src/lib/secret-envelope.ts, bound to the connection
 * ARN) and opened only by `connectionAuth`, which the delivery engine calls; every other method
 * hands back the connection without them, as DescribeConnection shows it.
 *
 * For the delivery engine: `activeRules()` lists every rule that is not DISABLED, in every account,
 * with its targets; `revision()` grows with every write to the store, so a poller reloads only when
 * it moved; a rule's `generation` is the revision of its last change (its state, pattern or
 * targets); `apiDestination(arn)` and `connectionAuth(arn)` resolve an API-destination target.
 */
export interface EventRuleStore {
  /**
   * Creates the rule, or replaces the definition of the rule with its ARN (PutRule is an upsert):
   * its targets and creation time are kept. Resolves to the stored rule and whether it was new.
   */
  putRule(rule: RuleDefinition, nowMs: number): Promise<{ rule: EventRule; created: boolean }>;
  getRule(arn: string): Promise<EventRule | undefined>;
  /** The scope's rules whose names start with `prefix`, in name byte order, after `afterName`, at most `limit`. */
  listRules(scope: EventScope, page: NamePage): Promise<EventRule[]>;
  countRules(scope: EventScope): Promise<number>;
  /** Sets the rule's state; false when there is no such rule. */
  setRuleState(arn: string, state: RuleState, nowMs: number): Promise<boolean>;
  /** Deletes the rule unless it has targets; "absent" when there was none. */
  deleteRule(arn: string): Promise<"deleted" | "has-targets" | "absent">;

  /**
   * Adds or replaces (by id) the rule's targets, all or none: "limit" when the rule would then
   * have more than `maxTargets` targets, "absent" when there is no such rule.
   */
  putTargets(ruleArn: string, targets: readonly EventTarget[], maxTargets: number): Promise<"ok" | "limit" | "absent">;
  /** The rule's targets in id byte order, after `afterId`, at most `limit`; undefined when no such rule. */
  listTargets(ruleArn: string, afterId: string | undefined, limit: number): Promise<EventTarget[] | undefined>;
  /** Removes the targets with these ids; resolves to the ids that existed, or undefined when no such rule. */
  removeTargets(ruleArn: string, ids: readonly string[]): Promise<string[] | undefined>;

  /** Stores the connection, its secrets sealed; `created` false (nothing written) when the scope has one of that name. */
  createConnection(connection: NewConnection): Promise<{ connection: EventConnection; created: boolean }>;
  getConnection(scope: EventScope, name: string): Promise<EventConnection | undefined>;
  /** As listRules; only those in `state` when given. */
  listConnections(scope: EventScope, page: NamePage, state?: ConnectionState): Promise<EventConnection[]>;
  countConnections(scope: EventScope): Promise<number>;
  /** Deletes the connection and its sealed secrets; the deleted one, or undefined when there was none. */
  deleteConnection(scope: EventScope, name: string): Promise<EventConnection | undefined>;
  /**
   * Changes what `change` gives (a new `auth` is sealed and replaces the old one whole); undefined
   * when the scope has no connection of that name.
   */
  updateConnection(
    scope: EventScope,
    name: string,
    change: ConnectionChange,
    nowMs: number,
  ): Promise<EventConnection | undefined>;
  /**
   * The connection's authorization with its secrets, opened: for the delivery engine only (never an
   * API answer). Undefined when no connection has exactly this ARN (a re-created connection has a
   * new one). Rejects when the sealed value does not open with this store's master key.
   */
  connectionAuth(connectionArn: string): Promise<ConnectionAuth | undefined>;
  /**
   * Sets the state of the connection with exactly this ARN (an OAuth connection's authorization
   * ended) and its reason, and the time it was last authorized when `state` is AUTHORIZED; with
   * `ifUpdatedAtMs`, only while the connection was not changed since (an authorization of older
   * credentials must not decide the state of newer ones). Not a change of the connection: its
   * LastModifiedTime and the store's revision stay. False when nothing was set.
   */
  setConnectionState(arn: string, change: ConnectionStateChange): Promise<boolean>;

  /** Stores the API destination; `created` false (nothing written) when the scope has one of that name. */
  createApiDestination(destination: ApiDestination): Promise<{ destination: ApiDestination; created: boolean }>;
  getApiDestination(scope: EventScope, name: string): Promise<ApiDestination | undefined>;
  /** By its full ARN (a target's `arn`): undefined when none has exactly this ARN. */
  apiDestination(arn: string): Promise<ApiDestination | undefined>;
  /** As listRules; only those using `connectionArn` when given. */
  listApiDestinations(scope: EventScope, page: NamePage, connectionArn?: string): Promise<ApiDestination[]>;
  countApiDestinations(scope: EventScope): Promise<number>;
  /** Changes what `change` gives; undefined when the scope has no API destination of that name. */
  updateApiDestination(
    scope: EventScope,
    name: string,
    change: ApiDestinationChange,
    nowMs: number,
  ): Promise<ApiDestination | undefined>;
  /** Deletes the API destination; false when there was none. */
  deleteApiDestination(scope: EventScope, name: string): Promise<boolean>;

  /** Every rule not DISABLED, of every account and region, with its targets (the delivery engine's view). */
  activeRules(): Promise<RuleWithTargets[]>;
  /** A number that grows with every write to the store (rules, targets, connections, destinations). */
  revision(): Promise<number>;
  /** Releases the store's resources; closing again does nothing. Every other method rejects once closed. */
  close(): Promise<void>;
}

export interface EventScope {
  readonly accountId: string;
  readonly region: string;
}

export interface NamePage {
  readonly prefix?: string;
  readonly afterName?: string;
  readonly limit: number;
}

export type RuleState = "ENABLED" | "DISABLED" | "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

/** What PutRule sets. Only the default event bus exists, so it is not stored. */
export interface RuleDefinition extends EventScope {
  /** arn:aws:events:<region>:<account>:rule/<name> */
  readonly arn: string;
  readonly name: string;
  /** The pattern as given (validated by the caller with src/event-patterns). */
  readonly eventPattern: string;
  readonly state: RuleState;
  readonly description?: string;
  readonly roleArn?: string;
}

export interface EventRule extends RuleDefinition {
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
  /** The store's revision at the rule's last change (definition, state or targets). */
  readonly generation: number;
}

export interface RuleWithTargets {
  readonly rule: EventRule;
  readonly targets: readonly EventTarget[];
}

/** A target as PutTargets takes it (the members Cairn keeps), validated by the caller. */
export interface EventTarget {
  readonly id: string;
  /** An API destination ARN or an SNS topic ARN. */
  readonly arn: string;
  readonly roleArn?: string;
  readonly input?: string;
  readonly inputPath?: string;
  readonly inputTransformer?: {
    readonly inputPathsMap?: Readonly<Record<string, string>>;
    readonly inputTemplate: string;
  };
  readonly retryPolicy?: {
    readonly maximumRetryAttempts?: number;
    readonly maximumEventAgeInSeconds?: number;
  };
  readonly httpParameters?: {
    readonly pathParameterValues?: readonly string[];
    readonly headerParameters?: Readonly<Record<string, string>>;
    readonly queryStringParameters?: Readonly<Record<string, string>>;
  };
  /** Accepted and kept; Cairn does not send failed events anywhere (docs/reference/events.md). */
  readonly deadLetterArn?: string;
}

export type AuthorizationType = "API_KEY" | "BASIC" | "OAUTH_CLIENT_CREDENTIALS";

/** One extra header, query-string or body parameter a connection adds to every invocation. */
export interface ConnectionParameter {
  readonly key: string;
  /** Absent where the connection is shown without its secrets and `isValueSecret` is true. */
  readonly value?: string;
  readonly isValueSecret: boolean;
}

export interface InvocationHttpParameters {
  readonly headerParameters?: readonly ConnectionParameter[];
  readonly queryStringParameters?: readonly ConnectionParameter[];
  readonly bodyParameters?: readonly ConnectionParameter[];
}

/** An OAUTH_CLIENT_CREDENTIALS connection's token request: where, how, and the client's credentials. */
export interface OAuthAuth {
  readonly authorizationEndpoint: string;
  readonly httpMethod: "GET" | "POST" | "PUT";
  readonly clientId: string;
  readonly clientSecret: string;
  /** Parameters sent with the token request, secret ones as the invocation parameters are. */
  readonly oauthHttpParameters?: InvocationHttpParameters;
}

/** A connection's authorization, secrets included: what `connectionAuth` opens. */
export interface ConnectionAuth {
  readonly authorizationType: AuthorizationType;
  readonly apiKey?: { readonly name: string; readonly value: string };
  readonly basic?: { readonly username: string; readonly password: string };
  readonly oauth?: OAuthAuth;
  readonly invocationHttpParameters?: InvocationHttpParameters;
}

/**
 * AUTHORIZED for API_KEY and BASIC from their creation; an OAuth connection is AUTHORIZING until its
 * first token request ends, then AUTHORIZED, or DEAUTHORIZED when the endpoint refused it.
 */
export type ConnectionState = "AUTHORIZING" | "AUTHORIZED" | "DEAUTHORIZED";

export interface ConnectionStateChange {
  readonly state: ConnectionState;
  /** Why (DEAUTHORIZED): one line without secrets. */
  readonly reason?: string;
  readonly nowMs: number;
  readonly ifUpdatedAtMs?: number;
}

/** A connection as DescribeConnection shows it: no secret in it. */
export interface EventConnection extends EventScope {
  /** arn:aws:events:<region>:<account>:connection/<name>/<uuid> */
  readonly arn: string;
  readonly name: string;
  readonly description?: string;
  readonly authorizationType: AuthorizationType;
  /** The API key's header name, when API_KEY. */
  readonly apiKeyName?: string;
  /** The user name, when BASIC. */
  readonly username?: string;
  /** The invocation parameters with every secret value left out. */
  readonly invocationHttpParameters?: InvocationHttpParameters;
  /** The OAuth token request without the client secret and secret parameter values, when OAUTH_CLIENT_CREDENTIALS. */
  readonly oauth?: Omit<OAuthAuth, "clientSecret">;
  readonly state: ConnectionState;
  readonly stateReason?: string;
  /** When its credentials were last known good; absent while an OAuth connection was never authorized. */
  readonly lastAuthorizedAtMs?: number;
  /** The name DescribeConnection gives the secret (Cairn keeps it sealed in this store, not in Secrets Manager). */
  readonly secretArn: string;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

/** What a connection's row shows of its auth (DescribeConnection's AuthParameters), no secret in it. */
type PublicAuth = "apiKeyName" | "username" | "invocationHttpParameters" | "oauth";

export interface NewConnection extends Omit<EventConnection, PublicAuth | "stateReason"> {
  readonly auth: ConnectionAuth;
}

export interface ConnectionChange {
  readonly description?: string;
  /** The new authorization, secrets included; its `authorizationType` becomes the connection's. */
  readonly auth?: ConnectionAuth;
  /** The state the new authorization starts in (required with `auth`); the reason is cleared. */
  readonly state?: ConnectionState;
}

export type HttpMethod = "POST" | "GET" | "HEAD" | "OPTIONS" | "PUT" | "PATCH" | "DELETE";

export interface ApiDestination extends EventScope {
  /** arn:aws:events:<region>:<account>:api-destination/<name>/<uuid> */
  readonly arn: string;
  readonly name: string;
  readonly description?: string;
  readonly connectionArn: string;
  readonly invocationEndpoint: string;
  readonly httpMethod: HttpMethod;
  readonly invocationRateLimitPerSecond?: number;
  readonly createdAtMs: number;
  readonly updatedAtMs: number;
}

export type ApiDestinationChange = Partial<
  Pick<
    ApiDestination,
    "description" | "connectionArn" | "invocationEndpoint" | "httpMethod" | "invocationRateLimitPerSecond"
  >
>;

/** The connection as DescribeConnection shows it: the auth without its secrets. */
export function publicConnectionOf<T extends Pick<NewConnection, "auth">>(
  connection: T,
): Omit<T, "auth"> & Pick<EventConnection, PublicAuth> {
  const { auth, ...rest } = connection;
  const parameters = auth.invocationHttpParameters;
  return {
    ...rest,
    ...(auth.apiKey !== undefined ? { apiKeyName: auth.apiKey.name } : {}),
    ...(auth.basic !== undefined ? { username: auth.basic.username } : {}),
    ...(auth.oauth !== undefined ? { oauth: publicOAuthOf(auth.oauth) } : {}),
    ...(parameters !== undefined ? { invocationHttpParameters: withoutSecretValues(parameters) } : {}),
  };
}

function publicOAuthOf(oauth: OAuthAuth): Omit<OAuthAuth, "clientSecret"> {
  const { clientSecret: _secret, oauthHttpParameters, ...rest } = oauth;
  return {
    ...rest,
    ...(oauthHttpParameters !== undefined ? { oauthHttpParameters: withoutSecretValues(oauthHttpParameters) } : {}),
  };
}

function withoutSecretValues(parameters: InvocationHttpParameters): InvocationHttpParameters {
  const strip = (list: readonly ConnectionParameter[] | undefined) =>
    list?.map((parameter) => (parameter.isValueSecret ? { key: parameter.key, isValueSecret: true } : parameter));
  const out: Record<string, readonly ConnectionParameter[]> = {};
  for (const member of ["headerParameters", "queryStringParameters", "bodyParameters"] as const) {
    const list = strip(parameters[member]);
    if (list !== undefined) out[member] = list;
  }
  return out;
}

/** What a sealed connection secret is bound to: its connection's ARN, so it opens on no other row. */
export function connectionSecretAssociatedData(connectionArn: string): string {
  return `events-connection/${connectionArn}`;
}

const ACCOUNT_ID = /^\d{12}$/;

/** Throws on a scope that is not an account id and a region: a caller bug, never an input to store. */
export function assertEventScope(scope: EventScope): void {
  if (!ACCOUNT_ID.test(scope.accountId)) throw new Error(`Not an account id: ${JSON.stringify(scope.accountId)}.`);
  if (!/^[a-z0-9-]{1,32}$/.test(scope.region)) throw new Error(`Not a region: ${JSON.stringify(scope.region)}.`);
}

/** The error every method of a closed store rejects with. */
export function closedStoreError(): Error {
  return new Error("The EventBridge rule store is closed.");
}
