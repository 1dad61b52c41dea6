/** The methods an API destination may use (ApiDestinationHttpMethod). */
export type ApiDestinationHttpMethod = "POST" | "GET" | "HEAD" | "OPTIONS" | "PUT" | "PATCH" | "DELETE";

/** One key/value of a connection's parameters (ConnectionHeaderParameter and its kin), secret or not. */
export interface ConnectionParameter {
  readonly key: string;
  readonly value: string;
}

/** A connection's InvocationHttpParameters, or its OAuthHttpParameters. */
export interface ConnectionHttpParameters {
  readonly headerParameters?: readonly ConnectionParameter[];
  readonly queryStringParameters?: readonly ConnectionParameter[];
  readonly bodyParameters?: readonly ConnectionParameter[];
}

/** A connection's authorization, its secrets unsealed (the caller unseals them just before the call). */
export type ConnectionAuthorization =
  | { readonly type: "API_KEY"; readonly apiKeyName: string; readonly apiKeyValue: string }
  | { readonly type: "BASIC"; readonly username: string; readonly password: string }
  | {
      readonly type: "OAUTH_CLIENT_CREDENTIALS";
      readonly authorizationEndpoint: string;
      readonly httpMethod: "GET" | "POST" | "PUT";
      readonly clientId: string;
      readonly clientSecret: string;
      readonly oauthHttpParameters?: ConnectionHttpParameters;
    };

export interface ApiDestinationConnection {
  readonly arn: string;
  readonly authorization: ConnectionAuthorization;
  readonly invocationHttpParameters?: ConnectionHttpParameters;
}

/** An API destination with its connection: everything an invocation needs besides the event. */
export interface ApiDestination {
  readonly arn: string;
  /** May hold `*` wildcards, filled in order from the target's PathParameterValues. */
  readonly invocationEndpoint: string;
  readonly httpMethod: ApiDestinationHttpMethod;
  readonly invocationRateLimitPerSecond?: number;
  readonly connection: ApiDestinationConnection;
}

/**
 * A target's HttpParameters. Any value (not header names) may be a JSON path such as
 * `$.detail.eventName`, replaced by the event's value at that path.
 */
export interface TargetHttpParameters {
  readonly pathParameterValues?: readonly string[];
  readonly headerParameters?: Readonly<Record<string, string>>;
  readonly queryStringParameters?: Readonly<Record<string, string>>;
}

/** One call: the destination, the target's parameters, the transformed input and the original event. */
export interface ApiDestinationInvocation {
  readonly destination: ApiDestination;
  readonly httpParameters?: TargetHttpParameters;
  /** The target's input (transformTargetInput's body). */
  readonly body: string;
  /** The event as matched, for JSON paths in HttpParameters (they read the original event, not the input). */
  readonly event: unknown;
}

/**
 * How a call ended, classified as EventBridge classifies it: 2xx delivered; 429, 5xx, a timeout or
 * no connection retried (not before `notBeforeMs` when the endpoint sent Retry-After); 1xx, 3xx and
 * other 4xx not retried. `error` is one line without secrets, for a failure record.
 */
export type InvocationOutcome =
  | { readonly kind: "delivered"; readonly httpStatus: number }
  | { readonly kind: "retryable"; readonly httpStatus?: number; readonly error: string; readonly notBeforeMs?: number }
  | { readonly kind: "not-retryable"; readonly httpStatus?: number; readonly error: string };
