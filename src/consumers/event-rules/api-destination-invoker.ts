import { setTimeout as sleepFor } from "node:timers/promises";
import { systemClock, type Clock } from "../../lib/clock.js";
import { prepareRequest, type PreparedRequest } from "./api-destination-request.js";
import type {
  ApiDestination,
  ApiDestinationConnection,
  ApiDestinationInvocation,
  InvocationOutcome,
} from "./api-destination-types.js";
import { httpCall, NoAnswerError, type HttpAnswer } from "./http-call.js";
import { OAuthTokenCache, OAuthTokenError } from "./oauth-token-cache.js";
import { retryAfterNotBefore } from "./retry-schedule.js";
import { TokenBucket } from "./token-bucket.js";

/** EventBridge gives an API destination 5 seconds to answer. */
const INVOCATION_TIMEOUT_MS = 5_000;
/** The answer's body is not used: not kept (a short one is read to its end so its connection is reused). */
const ANSWER_BYTES_MAX = 0;
/** Bounds the rate-limit buckets kept in memory. */
const RATE_LIMITED_DESTINATIONS_MAX = 10_000;

export interface ApiDestinationInvokerOptions {
  /** Per call, the token request included; EventBridge's 5 s unless a test needs less. */
  readonly timeoutMs?: number;
  readonly clock?: Clock;
  /** Aborted as the server closes: a call in flight or waiting for the rate limit ends as retryable. */
  readonly shutdown?: AbortSignal;
  /** How to wait for the rate limit; tests pass one that moves their clock. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /**
   * Told how each OAuth token request of a delivery ended, so the connection's state follows
   * (EventBridge deauthorizes a connection whose authorization endpoint refuses its credentials).
   */
  readonly onAuthorization?: (connectionArn: string, result: AuthorizationResult) => void;
}

/** How an OAuth connection's token request ended; `retryable` when the endpoint may answer later. */
export type AuthorizationResult =
  { readonly ok: true } | { readonly ok: false; readonly error: string; readonly retryable: boolean };

type Authorized =
  | { readonly ok: true; readonly headers: Record<string, string> }
  | { readonly ok: false; readonly outcome: InvocationOutcome };

/** The status classes EventBridge retries: 429 and 5xx (its "API destination error codes"). */
function isRetryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/**
 * Calls API destinations as EventBridge does: the connection's authorization (an API key header,
 * HTTP Basic, or an OAuth client-credentials token fetched and cached per connection), the target's
 * and connection's HTTP parameters, EventBridge's headers, 5 s per call, the destination's
 * InvocationRateLimitPerSecond, and the answer classified (InvocationOutcome). It never retries by
 * itself (the consumer does, on its schedule) except once with a fresh token when a cached OAuth
 * token is refused.
 */
export class ApiDestinationInvoker {
  private readonly timeoutMs: number;
  private readonly clock: Clock;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly tokens: OAuthTokenCache;

  constructor(private readonly options: ApiDestinationInvokerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? INVOCATION_TIMEOUT_MS;
    this.clock = options.clock ?? systemClock;
    this.sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, signal === undefined ? {} : { signal }));
    this.tokens = new OAuthTokenCache({
      timeoutMs: this.timeoutMs,
      nowMs: () => this.clock.nowMs(),
      ...(options.shutdown === undefined ? {} : { shutdown: options.shutdown }),
    });
  }

  async invoke(invocation: ApiDestinationInvocation): Promise<InvocationOutcome> {
    let request: PreparedRequest;
    try {
      request = prepareRequest(invocation);
    } catch {
      return { kind: "not-retryable", error: "The invocation endpoint with its path parameters is not a valid URL." };
    }
    if (!(await this.waitForRateLimit(invocation.destination))) {
      return { kind: "retryable", error: "the server is shutting down" };
    }
    const outcome = await this.attempt(invocation.destination, request);
    if (outcome.refusedCachedToken) return (await this.attempt(invocation.destination, request)).outcome;
    return outcome.outcome;
  }

  /**
   * Authorizes an OAuth connection as EventBridge does after CreateConnection: one token request
   * (the token kept for the deliveries that follow). Other connections need none.
   */
  async authorizeConnection(connection: ApiDestinationConnection): Promise<AuthorizationResult> {
    const auth = connection.authorization;
    if (auth.type !== "OAUTH_CLIENT_CREDENTIALS") return { ok: true };
    try {
      await this.tokens.accessToken(connection, auth);
      return { ok: true };
    } catch (error) {
      if (!(error instanceof OAuthTokenError)) throw error;
      return { ok: false, error: error.message, retryable: error.retryable };
    }
  }

  /** Waits for a token of the destination's rate limit; false when the server shuts down meanwhile. */
  private async waitForRateLimit(destination: ApiDestination): Promise<boolean> {
    const rate = destination.invocationRateLimitPerSecond;
    if (rate === undefined) return true;
    let bucket = this.buckets.get(destination.arn);
    if (bucket === undefined || bucket.ratePerSecond !== rate) {
      // One bucket per destination in use; a deleted destination's goes first once the map is full.
      if (this.buckets.size >= RATE_LIMITED_DESTINATIONS_MAX) this.buckets.delete(this.buckets.keys().next().value!);
      bucket = new TokenBucket(rate, this.clock.nowMs());
      this.buckets.set(destination.arn, bucket);
    }
    for (let waitMs = bucket.take(this.clock.nowMs()); waitMs > 0; waitMs = bucket.take(this.clock.nowMs())) {
      if (this.options.shutdown?.aborted === true) return false;
      try {
        await this.sleep(waitMs, this.options.shutdown);
      } catch {
        return false;
      }
    }
    return true;
  }

  private async attempt(
    destination: ApiDestination,
    request: PreparedRequest,
  ): Promise<{ outcome: InvocationOutcome; refusedCachedToken: boolean }> {
    const authorized = await this.authorize(destination);
    if (!authorized.ok) return { outcome: authorized.outcome, refusedCachedToken: false };
    let answer: HttpAnswer;
    try {
      answer = await httpCall(
        request.url,
        {
          method: request.method,
          headers: { ...request.headers, ...authorized.headers },
          ...(request.body === undefined ? {} : { body: request.body }),
        },
        {
          timeoutMs: this.timeoutMs,
          bodyBytesMax: ANSWER_BYTES_MAX,
          ...(this.options.shutdown === undefined ? {} : { shutdown: this.options.shutdown }),
        },
      );
    } catch (error) {
      const noAnswer = error instanceof NoAnswerError ? error : new NoAnswerError("no answer", true);
      return {
        outcome: { kind: noAnswer.retryable ? "retryable" : "not-retryable", error: noAnswer.message },
        refusedCachedToken: false,
      };
    }
    return this.classify(destination, answer);
  }

  private async authorize(destination: ApiDestination): Promise<Authorized> {
    const auth = destination.connection.authorization;
    switch (auth.type) {
      case "API_KEY":
        return { ok: true, headers: { [auth.apiKeyName.toLowerCase()]: auth.apiKeyValue } };
      case "BASIC":
        return {
          ok: true,
          headers: { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}` },
        };
      case "OAUTH_CLIENT_CREDENTIALS":
        try {
          const token = await this.tokens.accessToken(destination.connection, auth, () =>
            this.options.onAuthorization?.(destination.connection.arn, { ok: true }),
          );
          return { ok: true, headers: { authorization: `Bearer ${token}` } };
        } catch (error) {
          if (!(error instanceof OAuthTokenError)) throw error;
          const { message, retryable } = error;
          this.options.onAuthorization?.(destination.connection.arn, { ok: false, error: message, retryable });
          return { ok: false, outcome: { kind: retryable ? "retryable" : "not-retryable", error: message } };
        }
    }
  }

  /**
   * EventBridge refreshes an OAuth token when the destination answers 401 or 407; Cairn then tries
   * once more at once with a fresh token, and a second refusal is not retried like any other 4xx.
   */
  private classify(
    destination: ApiDestination,
    answer: HttpAnswer,
  ): { outcome: InvocationOutcome; refusedCachedToken: boolean } {
    const status = answer.status;
    if (status >= 200 && status <= 299)
      return { outcome: { kind: "delivered", httpStatus: status }, refusedCachedToken: false };
    const auth = destination.connection.authorization;
    const error = `HTTP ${status}`;
    if ((status === 401 || status === 407) && auth.type === "OAUTH_CLIENT_CREDENTIALS") {
      this.tokens.forget(destination.connection, auth);
      return { outcome: { kind: "not-retryable", httpStatus: status, error }, refusedCachedToken: true };
    }
    if (!isRetryableStatus(status))
      return { outcome: { kind: "not-retryable", httpStatus: status, error }, refusedCachedToken: false };
    const notBefore = retryAfterNotBefore(answer.headers.get("retry-after"), this.clock.nowMs());
    if (notBefore === "stop") {
      return {
        outcome: { kind: "not-retryable", httpStatus: status, error: `${error} with a negative Retry-After` },
        refusedCachedToken: false,
      };
    }
    return {
      outcome: {
        kind: "retryable",
        httpStatus: status,
        error,
        ...(notBefore === undefined ? {} : { notBeforeMs: notBefore }),
      },
      refusedCachedToken: false,
    };
  }
}
