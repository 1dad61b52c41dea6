import type {
  ApiDestination as StoredDestination,
  ConnectionAuth,
  ConnectionParameter as StoredParameter,
  EventRuleStore,
  EventTarget,
} from "../../stores/event-rules/index.js";
import type { ApiDestinationInvoker } from "./api-destination-invoker.js";
import type {
  ApiDestination,
  ApiDestinationConnection,
  ConnectionAuthorization,
  ConnectionHttpParameters,
  ConnectionParameter,
  InvocationOutcome,
} from "./api-destination-types.js";

/** Delivers one target's input for one event; the dispatcher decides what the outcome means. */
export interface TargetSender {
  send(target: EventTarget, body: string, event: unknown): Promise<InvocationOutcome>;
}

/** Publishes a message to an SNS topic on Cairn (the SNS module's publisher), classified as an invocation. */
export type TopicPublisher = (topicArn: string, message: string) => Promise<InvocationOutcome>;

/**
 * Sends to the targets Cairn can deliver: API destinations (through the invoker, with the
 * connection's secrets opened just before the call) and, when a publisher is given, SNS topics on
 * Cairn. A target whose destination or connection was deleted meanwhile fails for good.
 */
export class RuleTargetSender implements TargetSender {
  constructor(
    private readonly deps: {
      readonly store: Pick<EventRuleStore, "apiDestination" | "connectionAuth">;
      readonly invoker: Pick<ApiDestinationInvoker, "invoke">;
      readonly publish?: TopicPublisher;
    },
  ) {}

  async send(target: EventTarget, body: string, event: unknown): Promise<InvocationOutcome> {
    if (target.arn.split(":")[5]?.startsWith("api-destination/")) {
      const destination = await this.destination(target.arn);
      if (typeof destination === "string") return { kind: "not-retryable", error: destination };
      const httpParameters = target.httpParameters;
      return this.deps.invoker.invoke({ destination, body, event, ...(httpParameters ? { httpParameters } : {}) });
    }
    if (target.arn.startsWith("arn:aws:sns:") && this.deps.publish !== undefined)
      return this.deps.publish(target.arn, body);
    return { kind: "not-retryable", error: "Cairn cannot deliver to this kind of target." };
  }

  private async destination(arn: string): Promise<ApiDestination | string> {
    const stored = await this.deps.store.apiDestination(arn);
    if (stored === undefined) return "The API destination no longer exists.";
    const auth = await this.deps.store.connectionAuth(stored.connectionArn);
    if (auth === undefined) return "The API destination's connection no longer exists.";
    const connection = invokerConnection(stored.connectionArn, auth);
    if (connection === undefined) return "The connection's authorization type cannot be used.";
    return invokerDestination(stored, connection);
  }
}

function invokerDestination(stored: StoredDestination, connection: ApiDestinationConnection): ApiDestination {
  return {
    arn: stored.arn,
    invocationEndpoint: stored.invocationEndpoint,
    httpMethod: stored.httpMethod,
    ...(stored.invocationRateLimitPerSecond !== undefined
      ? { invocationRateLimitPerSecond: stored.invocationRateLimitPerSecond }
      : {}),
    connection,
  };
}

function authorizationOf(auth: ConnectionAuth): ConnectionAuthorization | undefined {
  if (auth.authorizationType === "API_KEY" && auth.apiKey !== undefined)
    return { type: "API_KEY", apiKeyName: auth.apiKey.name, apiKeyValue: auth.apiKey.value };
  if (auth.authorizationType === "BASIC" && auth.basic !== undefined)
    return { type: "BASIC", username: auth.basic.username, password: auth.basic.password };
  const oauth = auth.oauth;
  if (auth.authorizationType === "OAUTH_CLIENT_CREDENTIALS" && oauth !== undefined) {
    const parameters = oauth.oauthHttpParameters;
    return {
      type: "OAUTH_CLIENT_CREDENTIALS",
      authorizationEndpoint: oauth.authorizationEndpoint,
      httpMethod: oauth.httpMethod,
      clientId: oauth.clientId,
      clientSecret: oauth.clientSecret,
      ...(parameters !== undefined ? { oauthHttpParameters: httpParametersOf(parameters) } : {}),
    };
  }
  return undefined;
}

/** The connection as the invoker takes it (its secrets opened), or undefined when its auth cannot be used. */
export function invokerConnection(arn: string, auth: ConnectionAuth): ApiDestinationConnection | undefined {
  const authorization = authorizationOf(auth);
  if (authorization === undefined) return undefined;
  const parameters = auth.invocationHttpParameters;
  return {
    arn,
    authorization,
    ...(parameters !== undefined ? { invocationHttpParameters: httpParametersOf(parameters) } : {}),
  };
}

function httpParametersOf(
  parameters: NonNullable<ConnectionAuth["invocationHttpParameters"]>,
): ConnectionHttpParameters {
  const list = (stored: readonly StoredParameter[] | undefined): ConnectionParameter[] | undefined =>
    stored?.map((parameter) => ({ key: parameter.key, value: parameter.value ?? "" }));
  const out: Record<string, ConnectionParameter[]> = {};
  for (const member of ["headerParameters", "queryStringParameters", "bodyParameters"] as const) {
    const converted = list(parameters[member]);
    if (converted !== undefined) out[member] = converted;
  }
  return out;
}
