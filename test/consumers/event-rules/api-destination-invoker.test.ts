import { after, before, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ApiDestinationInvoker } from "../../../src/consumers/event-rules/api-destination-invoker.js";
import type {
  ApiDestination,
  ApiDestinationInvocation,
  ConnectionAuthorization,
} from "../../../src/consumers/event-rules/api-destination-types.js";
import { TokenBucket } from "../../../src/consumers/event-rules/token-bucket.js";
import { answer, startHttpReceiver, type HttpReceiver } from "../../helpers/http-receiver.js";

const API_KEY: ConnectionAuthorization = { type: "API_KEY", apiKeyName: "x-api-key", apiKeyValue: "s3cr3t-key-value" };
const EVENT = {
  version: "0",
  id: "0f0e0d0c-0000-5000-8000-000000000001",
  "detail-type": "AWS API Call via CloudTrail",
  source: "aws.cloudtrail",
  detail: { eventName: "StopLogging", requestParameters: { name: "audit trail" } },
};

/** A clock the test moves; no assertion depends on real time passing. */
function fakeClock(startMs = Date.parse("2026-12-01T10:00:00Z")) {
  let nowMs = startMs;
  return { nowMs: () => nowMs, advance: (ms: number) => void (nowMs += ms) };
}

function destination(url: string, overrides: Partial<ApiDestination> = {}, authorization = API_KEY): ApiDestination {
  return {
    arn: "arn:aws:events:us-east-1:111122223333:api-destination/pager/0b1c",
    invocationEndpoint: url,
    httpMethod: "POST",
    connection: { arn: "arn:aws:events:us-east-1:111122223333:connection/hooks/9a8b", authorization },
    ...overrides,
  };
}

function invocation(target: ApiDestination, extra: Partial<ApiDestinationInvocation> = {}): ApiDestinationInvocation {
  return { destination: target, body: JSON.stringify(EVENT), event: EVENT, ...extra };
}

describe("ApiDestinationInvoker against a real local HTTP endpoint", () => {
  let receiver: HttpReceiver;
  let invoker: ApiDestinationInvoker;
  const clock = fakeClock();

  before(async () => {
    receiver = await startHttpReceiver();
  });
  after(() => receiver.close());
  beforeEach(() => {
    receiver.requests.length = 0;
    receiver.answerWith(answer(200));
    invoker = new ApiDestinationInvoker({ clock, timeoutMs: 2_000 });
  });

  it("200: delivered, with EventBridge's headers, the API key, and the merged HTTP parameters", async () => {
    const target = destination(`${receiver.url}/hooks/*/events/*`, {
      connection: {
        arn: "arn:aws:events:us-east-1:111122223333:connection/hooks/9a8b",
        authorization: API_KEY,
        invocationHttpParameters: {
          headerParameters: [{ key: "X-Team", value: "connection" }],
          queryStringParameters: [{ key: "source", value: "connection" }],
        },
      },
    });
    const outcome = await invoker.invoke(
      invocation(target, {
        httpParameters: {
          pathParameterValues: ["cairn", "$.detail.requestParameters.name"],
          headerParameters: { "X-Team": "target", "X-Event": "$.detail.eventName" },
          queryStringParameters: { source: "target", name: "$.detail.eventName" },
        },
      }),
    );
    assert.deepEqual(outcome, { kind: "delivered", httpStatus: 200 });
    const [request] = receiver.requests;
    assert.ok(request !== undefined);
    assert.equal(request.method, "POST");
    const url = new URL(request.url, receiver.url);
    assert.equal(url.pathname, "/hooks/cairn/events/audit%20trail");
    assert.equal(url.searchParams.get("source"), "connection", "the connection's parameters win");
    assert.equal(url.searchParams.get("name"), "StopLogging");
    assert.equal(request.headers["x-team"], "connection");
    assert.equal(request.headers["x-event"], "StopLogging");
    assert.equal(request.headers["x-api-key"], "s3cr3t-key-value");
    assert.equal(request.headers["user-agent"], "Amazon/EventBridge/ApiDestinations");
    assert.equal(request.headers["content-type"], "application/json; charset=utf-8");
    assert.equal(request.headers["range"], "bytes=0-1048575");
    // The Fetch standard appends "identity" to the Accept-Encoding of a request with a Range header.
    assert.match(request.headers["accept-encoding"] ?? "", /^gzip,deflate(, identity)?$/);
    assert.deepEqual(JSON.parse(request.body), EVENT);
  });

  it("429 then 200: retryable not before its Retry-After, then delivered", async () => {
    receiver.answerWith(answer(429, { "retry-after": "7" }), answer(200));
    const first = await invoker.invoke(invocation(destination(receiver.url)));
    assert.deepEqual(first, {
      kind: "retryable",
      httpStatus: 429,
      error: "HTTP 429",
      notBeforeMs: clock.nowMs() + 7_000,
    });
    assert.deepEqual(await invoker.invoke(invocation(destination(receiver.url))), {
      kind: "delivered",
      httpStatus: 200,
    });
    assert.equal(receiver.requests.length, 2);
  });

  it("500 and 503 are retryable; a negative Retry-After stops the retries", async () => {
    receiver.answerWith(answer(500), answer(503), answer(503, { "retry-after": "-1" }));
    assert.deepEqual(await invoker.invoke(invocation(destination(receiver.url))), {
      kind: "retryable",
      httpStatus: 500,
      error: "HTTP 500",
    });
    assert.deepEqual(await invoker.invoke(invocation(destination(receiver.url))), {
      kind: "retryable",
      httpStatus: 503,
      error: "HTTP 503",
    });
    assert.deepEqual(await invoker.invoke(invocation(destination(receiver.url))), {
      kind: "not-retryable",
      httpStatus: 503,
      error: "HTTP 503 with a negative Retry-After",
    });
  });

  it("401, 403, 404, 400 and a redirect are not retried; the error kept holds no secret", async () => {
    for (const status of [401, 403, 404, 400, 302]) {
      receiver.answerWith(answer(status, status === 302 ? { location: "http://127.0.0.1:1/elsewhere" } : {}));
      const outcome = await invoker.invoke(invocation(destination(receiver.url)));
      assert.deepEqual(outcome, { kind: "not-retryable", httpStatus: status, error: `HTTP ${status}` });
    }
    assert.equal(receiver.requests.length, 5, "the redirect is not followed");
    // The one line a failure keeps names the status only, never the key it was called with.
    const last = await invoker.invoke(invocation(destination(receiver.url)));
    assert.ok(last.kind === "not-retryable");
    assert.doesNotMatch(last.error, /s3cr3t/);
  });

  it("an endpoint slower than the timeout: retryable", async () => {
    receiver.answerWith(() => {
      // Never answers; the receiver's close ends the connection.
    });
    const slow = new ApiDestinationInvoker({ clock, timeoutMs: 200 });
    assert.deepEqual(await slow.invoke(invocation(destination(receiver.url))), {
      kind: "retryable",
      error: "timed out after 200 ms",
    });
  });

  it("BASIC authorization, GET without a body, the connection's body parameters merged into a JSON body", async () => {
    const basic: ConnectionAuthorization = { type: "BASIC", username: "cairn", password: "pa:ss" };
    await invoker.invoke(invocation(destination(receiver.url, { httpMethod: "GET" }, basic)));
    const [get] = receiver.requests;
    assert.equal(get?.method, "GET");
    assert.equal(get?.body, "");
    assert.equal(get?.headers.authorization, `Basic ${Buffer.from("cairn:pa:ss").toString("base64")}`);
    const withBody = destination(receiver.url, {
      httpMethod: "PUT",
      connection: {
        arn: "arn:aws:events:us-east-1:111122223333:connection/hooks/9a8b",
        authorization: basic,
        invocationHttpParameters: { bodyParameters: [{ key: "routing_key", value: "R0UT1NG" }] },
      },
    });
    await invoker.invoke(invocation(withBody, { body: '{"summary":"StopLogging"}' }));
    await invoker.invoke(invocation(withBody, { body: '"a text template"' }));
    assert.deepEqual(JSON.parse(receiver.requests[1]?.body ?? ""), { summary: "StopLogging", routing_key: "R0UT1NG" });
    assert.equal(receiver.requests[2]?.body, '"a text template"', "a body that is not a JSON object is sent as it is");
  });

  it("parameters cannot set framing headers; a request the client refuses is not retried", async () => {
    const outcome = await invoker.invoke(
      invocation(destination(receiver.url), {
        httpParameters: {
          headerParameters: { "Transfer-Encoding": "chunked", Host: "elsewhere", "X-Line": "$.detail.multi" },
        },
        event: { ...EVENT, detail: { multi: "one\r\nInjected: yes" } },
      }),
    );
    assert.deepEqual(outcome, { kind: "delivered", httpStatus: 200 });
    const [request] = receiver.requests;
    assert.equal(request?.headers["transfer-encoding"], undefined);
    assert.equal(request?.headers.host, new URL(receiver.url).host);
    assert.equal(request?.headers["x-line"], "oneInjected: yes");
    assert.equal(request?.headers["injected"], undefined);
    assert.notEqual(request?.headers.connection, "close", "the connection is kept for the next call");
    const refused = await invoker.invoke(
      invocation(destination(receiver.url, {}, { type: "API_KEY", apiKeyName: "Upgrade", apiKeyValue: "h2c" })),
    );
    assert.equal(refused.kind, "not-retryable");
    assert.equal(receiver.requests.length, 1);
  });

  it("a shutdown ends every call in flight as retryable, more calls than an AbortSignal's listener limit", async () => {
    const started: number[] = [];
    receiver.answerWith(() => {
      // Never answers; the shutdown ends the call.
      started.push(1);
    });
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const shutdown = new AbortController();
      const closing = new ApiDestinationInvoker({ clock, shutdown: shutdown.signal });
      const calls = Array.from({ length: 16 }, () => closing.invoke(invocation(destination(receiver.url))));
      while (started.length < 16) await new Promise((resolve) => setImmediate(resolve));
      shutdown.abort();
      for (const outcome of await Promise.all(calls))
        assert.deepEqual(outcome, { kind: "retryable", error: "the server is shutting down" });
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        warnings.filter((warning) => warning.name === "MaxListenersExceededWarning"),
        [],
      );
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("a shutdown ends the call as retryable", async () => {
    const shutdown = new AbortController();
    shutdown.abort();
    const closing = new ApiDestinationInvoker({ clock, shutdown: shutdown.signal });
    assert.deepEqual(await closing.invoke(invocation(destination(receiver.url))), {
      kind: "retryable",
      error: "the server is shutting down",
    });
  });
});

describe("ApiDestinationInvoker: no endpoint listening", () => {
  it("connection refused: retryable", async () => {
    const gone = await startHttpReceiver();
    await gone.close();
    const outcome = await new ApiDestinationInvoker({ timeoutMs: 2_000 }).invoke(invocation(destination(gone.url)));
    assert.deepEqual(outcome, { kind: "retryable", error: "ECONNREFUSED" });
  });
});

describe("ApiDestinationInvoker: OAuth client credentials", () => {
  let authServer: HttpReceiver;
  let endpoint: HttpReceiver;
  let issued = 0;
  const valid = new Set<string>();
  const clock = fakeClock();

  before(async () => {
    authServer = await startHttpReceiver();
    endpoint = await startHttpReceiver();
    authServer.answerWith((_request, response) => {
      const token = `token-${++issued}`;
      valid.add(token);
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: 3600 }));
    });
    endpoint.answerWith((request, response) => {
      const token = request.headers.authorization?.replace(/^Bearer /, "") ?? "";
      response.writeHead(valid.has(token) ? 200 : 401);
      response.end();
    });
  });
  after(async () => {
    await authServer.close();
    await endpoint.close();
  });

  function oauth(
    overrides: Partial<Extract<ConnectionAuthorization, { type: "OAUTH_CLIENT_CREDENTIALS" }>> = {},
  ): ConnectionAuthorization {
    return {
      type: "OAUTH_CLIENT_CREDENTIALS",
      authorizationEndpoint: `${authServer.url}/oauth2/token`,
      httpMethod: "POST",
      clientId: "cairn-client",
      clientSecret: "client-s3cret",
      oauthHttpParameters: { bodyParameters: [{ key: "scope", value: "events.write" }] },
      ...overrides,
    };
  }

  it("fetches a token with the client credentials, caches it until it nears expiry, then fetches another", async () => {
    const invoker = new ApiDestinationInvoker({ clock, timeoutMs: 2_000 });
    const target = destination(endpoint.url, {}, oauth());
    assert.deepEqual(await invoker.invoke(invocation(target)), { kind: "delivered", httpStatus: 200 });
    assert.deepEqual(await invoker.invoke(invocation(target)), { kind: "delivered", httpStatus: 200 });
    assert.equal(authServer.requests.length, 1, "the token is reused");
    const [tokenRequest] = authServer.requests;
    assert.equal(tokenRequest?.method, "POST");
    assert.equal(tokenRequest?.url, "/oauth2/token");
    assert.equal(
      tokenRequest?.headers.authorization,
      `Basic ${Buffer.from("cairn-client:client-s3cret").toString("base64")}`,
    );
    assert.equal(tokenRequest?.headers["content-type"], "application/x-www-form-urlencoded");
    assert.deepEqual(Object.fromEntries(new URLSearchParams(tokenRequest?.body)), {
      grant_type: "client_credentials",
      scope: "events.write",
    });
    assert.equal(endpoint.requests[0]?.headers.authorization, "Bearer token-1");

    clock.advance(3_600_000 - 59_000); // within a minute of expiry: refreshed before use
    assert.deepEqual(await invoker.invoke(invocation(target)), { kind: "delivered", httpStatus: 200 });
    assert.equal(authServer.requests.length, 2);
    assert.equal(endpoint.requests.at(-1)?.headers.authorization, "Bearer token-2");
  });

  it("concurrent calls share one token request; a GET authorization endpoint gets the form in its query", async () => {
    const invoker = new ApiDestinationInvoker({ clock, timeoutMs: 2_000 });
    const before = authServer.requests.length;
    const target = destination(endpoint.url, {}, oauth({ httpMethod: "GET", clientId: "get-client" }));
    const outcomes = await Promise.all([1, 2, 3].map(() => invoker.invoke(invocation(target))));
    assert.deepEqual(
      outcomes.map((outcome) => outcome.kind),
      ["delivered", "delivered", "delivered"],
    );
    assert.equal(authServer.requests.length, before + 1);
    const tokenRequest = authServer.requests.at(-1);
    assert.equal(tokenRequest?.method, "GET");
    const query = new URL(tokenRequest?.url ?? "", authServer.url).searchParams;
    assert.equal(query.get("grant_type"), "client_credentials");
    assert.equal(query.get("scope"), "events.write");
    assert.equal(tokenRequest?.body, "");
  });

  it("a token the endpoint refuses (401) is dropped and the call made again with a new one", async () => {
    const invoker = new ApiDestinationInvoker({ clock, timeoutMs: 2_000 });
    const target = destination(endpoint.url, {}, oauth());
    await invoker.invoke(invocation(target));
    const fetched = authServer.requests.length;
    valid.clear(); // the endpoint revokes every token
    assert.deepEqual(await invoker.invoke(invocation(target)), { kind: "delivered", httpStatus: 200 });
    assert.equal(authServer.requests.length, fetched + 1);
  });

  it("the authorization endpoint failing: 5xx retryable, 4xx not, never the secret in the error", async () => {
    const invoker = new ApiDestinationInvoker({ clock, timeoutMs: 2_000 });
    authServer.answerWith(answer(500), answer(401));
    const target = destination(endpoint.url, {}, oauth({ clientId: "another-client" }));
    const first = await invoker.invoke(invocation(target));
    assert.deepEqual(first, { kind: "retryable", error: "The authorization endpoint answered HTTP 500." });
    const second = await invoker.invoke(invocation(target));
    assert.deepEqual(second, { kind: "not-retryable", error: "The authorization endpoint answered HTTP 401." });
  });
});

describe("InvocationRateLimitPerSecond", () => {
  it("a token bucket: a second's burst, then one call per 1/rate seconds", () => {
    const bucket = new TokenBucket(2, 0);
    assert.equal(bucket.take(0), 0);
    assert.equal(bucket.take(0), 0);
    assert.equal(bucket.take(0), 500);
    assert.equal(bucket.take(250), 250);
    assert.equal(bucket.take(500), 0);
    assert.equal(bucket.take(10_000), 0);
    assert.equal(bucket.take(10_000), 0, "refills up to one second's worth only");
    assert.equal(bucket.take(10_000), 500);
    assert.throws(() => new TokenBucket(0, 0), RangeError);
  });

  it("the invoker waits for the destination's bucket before calling", async () => {
    const receiver = await startHttpReceiver();
    try {
      const clock = fakeClock();
      const waits: number[] = [];
      const invoker = new ApiDestinationInvoker({
        clock,
        timeoutMs: 2_000,
        sleep: async (ms) => {
          waits.push(ms);
          clock.advance(ms);
        },
      });
      const limited = destination(receiver.url, { invocationRateLimitPerSecond: 2 });
      const outcomes = [];
      for (let i = 0; i < 3; i++) outcomes.push(await invoker.invoke(invocation(limited)));
      assert.deepEqual(
        outcomes.map((outcome) => outcome.kind),
        ["delivered", "delivered", "delivered"],
      );
      assert.deepEqual(waits, [500]);
      assert.equal(receiver.requests.length, 3);
    } finally {
      await receiver.close();
    }
  });
});

describe("ApiDestinationInvoker keeps connections for the next call", () => {
  let server: Server;
  let url: string;
  let connections = 0;
  let answerBytes = 0;

  before(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        response.writeHead(200, { "content-type": "text/plain" });
        response.end("x".repeat(answerBytes));
      });
    });
    server.on("connection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("an answer too long to drain closes its connection; calls in turn with short answers share one", async () => {
    const invoker = new ApiDestinationInvoker();
    answerBytes = 256 * 1024;
    connections = 0;
    for (let i = 0; i < 4; i++)
      assert.deepEqual(await invoker.invoke(invocation(destination(url))), { kind: "delivered", httpStatus: 200 });
    assert.ok(connections >= 4, `a cancelled answer's connection is not used again (${connections} for 4 calls)`);
    answerBytes = 2;
    connections = 0;
    for (let i = 0; i < 10; i++)
      assert.deepEqual(await invoker.invoke(invocation(destination(url))), { kind: "delivered", httpStatus: 200 });
    // fetch may open another connection while one is being handed back to its pool: fewer, not one.
    assert.ok(connections < 10, `10 calls in turn opened ${connections} connections`);
  });
});
