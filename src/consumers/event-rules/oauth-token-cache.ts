import { createHash } from "node:crypto";
import type { ApiDestinationConnection, ConnectionAuthorization } from "./api-destination-types.js";
import { httpCall, NoAnswerError } from "./http-call.js";

type OAuthAuthorization = Extract<ConnectionAuthorization, { type: "OAUTH_CLIENT_CREDENTIALS" }>;

/** EventBridge refreshes a token that expires within 60 s before using it. */
const REFRESH_BEFORE_EXPIRY_MS = 60_000;
/** A token answer is small; more than this is not read. */
const TOKEN_ANSWER_BYTES_MAX = 64 * 1024;
/** Bounds the cache: one entry per connection in use. */
const CACHED_TOKENS_MAX = 10_000;

/** Why no token could be had: `retryable` when the authorization endpoint may answer later (429, 5xx, no answer). */
export class OAuthTokenError extends Error {
  override readonly name = "OAuthTokenError";
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

interface CachedToken {
  readonly accessToken: string;
  /** Undefined when the endpoint gave no expires_in: kept until the destination refuses it (401/407). */
  readonly expiresAtMs: number | undefined;
}

/**
 * A connection's identity for the cache: its ARN and a digest of what the token depends on, so
 * that updating the connection's credentials or endpoint fetches a new token.
 */
function cacheKey(connection: ApiDestinationConnection, auth: OAuthAuthorization): string {
  const digest = createHash("sha256")
    .update(
      JSON.stringify([
        auth.authorizationEndpoint,
        auth.httpMethod,
        auth.clientId,
        auth.clientSecret,
        auth.oauthHttpParameters ?? null,
      ]),
    )
    .digest("hex");
  return `${connection.arn}|${digest}`;
}

/**
 * The token request of the client credentials grant (RFC 6749 §4.4): the client authenticates with
 * HTTP Basic, the form body says `grant_type=client_credentials` (unless the connection's
 * OAuthHttpParameters set it) plus the connection's body parameters; with GET they go in the query.
 */
function tokenRequest(auth: OAuthAuthorization): {
  url: URL;
  init: { method: string; headers: Record<string, string>; body?: string };
} {
  const url = new URL(auth.authorizationEndpoint);
  const parameters = auth.oauthHttpParameters;
  for (const { key, value } of parameters?.queryStringParameters ?? []) url.searchParams.set(key, value);
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  for (const { key, value } of parameters?.bodyParameters ?? []) form.set(key, value);
  const headers: Record<string, string> = {
    "user-agent": "Amazon/EventBridge/ApiDestinations",
    accept: "application/json",
  };
  for (const { key, value } of parameters?.headerParameters ?? []) headers[key.toLowerCase()] = value;
  headers["authorization"] = `Basic ${Buffer.from(`${auth.clientId}:${auth.clientSecret}`).toString("base64")}`;
  if (auth.httpMethod === "GET") {
    for (const [key, value] of form) url.searchParams.set(key, value);
    return { url, init: { method: "GET", headers } };
  }
  headers["content-type"] = "application/x-www-form-urlencoded";
  return { url, init: { method: auth.httpMethod, headers, body: form.toString() } };
}

function tokenOf(text: string, nowMs: number): CachedToken {
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    throw new OAuthTokenError("The authorization endpoint did not answer JSON.", false);
  }
  const { access_token: accessToken, expires_in: expiresIn } = (answer ?? {}) as {
    access_token?: unknown;
    expires_in?: unknown;
  };
  if (typeof accessToken !== "string" || accessToken === "") {
    throw new OAuthTokenError("The authorization endpoint answered no access_token.", false);
  }
  const seconds = typeof expiresIn === "string" ? Number(expiresIn) : expiresIn;
  const expiresAtMs = typeof seconds === "number" && Number.isFinite(seconds) ? nowMs + seconds * 1_000 : undefined;
  return { accessToken, expiresAtMs };
}

/**
 * OAuth access tokens per connection, fetched with the client credentials and kept until they
 * are within a minute of expiring or the destination refuses them. Concurrent calls for one
 * connection share one fetch.
 */
export class OAuthTokenCache {
  private readonly tokens = new Map<string, CachedToken>();
  private readonly pending = new Map<string, Promise<CachedToken>>();

  constructor(private readonly options: { timeoutMs: number; nowMs: () => number; shutdown?: AbortSignal }) {}

  /**
   * A usable access token for the connection; throws OAuthTokenError when none can be had.
   * `fetched` is called when this call fetched a new token (not for a cached one).
   */
  async accessToken(
    connection: ApiDestinationConnection,
    auth: OAuthAuthorization,
    fetched?: () => void,
  ): Promise<string> {
    const key = cacheKey(connection, auth);
    const cached = this.tokens.get(key);
    if (
      cached !== undefined &&
      (cached.expiresAtMs === undefined || cached.expiresAtMs - REFRESH_BEFORE_EXPIRY_MS > this.options.nowMs())
    ) {
      return cached.accessToken;
    }
    let fetching = this.pending.get(key);
    if (fetching === undefined) {
      fetching = this.fetchToken(auth).finally(() => this.pending.delete(key));
      this.pending.set(key, fetching);
      void fetching.then(fetched, () => undefined);
    }
    const token = await fetching;
    if (this.tokens.size >= CACHED_TOKENS_MAX && !this.tokens.has(key))
      this.tokens.delete(this.tokens.keys().next().value!);
    this.tokens.set(key, token);
    return token.accessToken;
  }

  /** Drops the connection's token: the destination answered 401 or 407, so the next call fetches a new one. */
  forget(connection: ApiDestinationConnection, auth: OAuthAuthorization): void {
    this.tokens.delete(cacheKey(connection, auth));
  }

  private async fetchToken(auth: OAuthAuthorization): Promise<CachedToken> {
    const { url, init } = tokenRequest(auth);
    let answer;
    try {
      answer = await httpCall(url, init, { ...this.options, bodyBytesMax: TOKEN_ANSWER_BYTES_MAX });
    } catch (error) {
      const reason = error instanceof NoAnswerError ? error.message : "no answer";
      throw new OAuthTokenError(`The authorization endpoint did not answer: ${reason}.`, true);
    }
    if (answer.status < 200 || answer.status > 299) {
      const retryable = answer.status === 429 || answer.status >= 500;
      throw new OAuthTokenError(`The authorization endpoint answered HTTP ${answer.status}.`, retryable);
    }
    return tokenOf(answer.text, this.options.nowMs());
  }
}
