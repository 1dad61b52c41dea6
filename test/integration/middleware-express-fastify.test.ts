import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import {
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { freePort } from "../storage/moto-server.js";
import { pollUntil } from "../helpers/poll.js";
import { startExpressApp, startFastifyApp, type TestApp } from "../capture/middleware-apps.js";

/**
 * Issue 4 item 5 (`cairn/middleware`), end to end: a real Express app and a real Fastify app on
 * 127.0.0.1 record their calls into a real `cairn server`, checked through LookupEvents.
 */
const REGION = "us-east-1";

type EventRecord = Record<string, unknown> & {
  userIdentity?: Record<string, unknown>;
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
};

describe("cairn/middleware: Express and Fastify apps recording into a real cairn server", () => {
  let server: ServerProcess;
  let serverPort: number;
  let expressApp: TestApp;
  let fastifyApp: TestApp;

  const lookup = async (eventSource: string, eventName: string, count = 1): Promise<EventRecord[]> => {
    const client = new CloudTrailClient({
      endpoint: server.url,
      region: REGION,
      credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
      maxAttempts: 1,
    });
    let events: EventRecord[] = [];
    try {
      return await pollUntil(
        async () => {
          const answer = await client
            .send(
              new LookupEventsCommand({
                LookupAttributes: [{ AttributeKey: "EventSource", AttributeValue: eventSource }],
              }),
            )
            .catch(() => ({ Events: [] }));
          events = (answer.Events ?? [])
            .map((event) => JSON.parse(event.CloudTrailEvent ?? "{}") as EventRecord)
            .filter((event) => event["eventName"] === eventName);
          return events.length >= count && events;
        },
        {
          timeoutMs: 15_000,
          intervalMs: 200,
          message: () => `${count} ${eventName} events of ${eventSource}; found ${JSON.stringify(events)}`,
        },
      );
    } finally {
      client.destroy();
    }
  };

  const call = (app: TestApp, path: string, init: RequestInit = {}, user = "alice"): Promise<Response> =>
    fetch(`${app.url}${path}`, {
      ...init,
      headers: { "x-user": user, "content-type": "application/json", "user-agent": "orders-cli/1.0" },
    });

  before(async () => {
    serverPort = await freePort();
    server = await startServerProcess({ args: ["--port", String(serverPort)] });
    const common = {
      serverUrl: server.url,
      credentials: { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY },
      region: REGION,
      log: () => undefined,
    };
    expressApp = await startExpressApp({
      ...common,
      eventSource: "orders.example.com",
      spoolPath: join(server.dataDir, "express-spool.ndjson"),
    });
    fastifyApp = await startFastifyApp({
      ...common,
      eventSource: "billing.example.com",
      spoolPath: join(server.dataDir, "fastify-spool.ndjson"),
    });
  });

  after(async () => {
    await expressApp?.stop();
    await fastifyApp?.stop();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  for (const [framework, eventSource, createName] of [
    ["Express", "orders.example.com", "POST /orders"],
    ["Fastify", "billing.example.com", "CreateOrder"],
  ] as const) {
    const app = (): TestApp => (framework === "Express" ? expressApp : fastifyApp);

    it(`${framework}: a write call becomes an event with the resolver's identity and the JSON answer`, async () => {
      const response = await call(app(), "/orders?priority=high", {
        method: "POST",
        body: JSON.stringify({ item: "book", Quantity: 2 }),
      });
      assert.equal(response.status, 201);
      const requestId = response.headers.get("x-amzn-requestid");
      assert.match(requestId ?? "", /^[0-9a-f-]{36}$/);
      const [event] = await lookup(eventSource, createName);
      assert.ok(event, `no ${createName} event`);
      assert.equal(event["eventSource"], eventSource);
      assert.equal(event["eventType"], "AwsApiCall");
      assert.equal(event["awsRegion"], REGION);
      assert.equal(event["sourceIPAddress"], "127.0.0.1");
      assert.equal(event["userAgent"], "orders-cli/1.0");
      assert.equal(event["requestID"], requestId);
      assert.equal(event["readOnly"], false);
      assert.equal(event["managementEvent"], true);
      assert.equal(event["eventCategory"], "Management");
      assert.equal(event["recipientAccountId"], TEST_ACCOUNT_ID);
      assert.deepEqual(event.userIdentity, {
        type: "IAMUser",
        principalId: "AIDAALICE",
        arn: `arn:aws:iam::${TEST_ACCOUNT_ID}:user/alice`,
        accountId: TEST_ACCOUNT_ID,
        userName: "alice",
      });
      assert.deepEqual(event.requestParameters, { priority: "high", item: "book", quantity: 2 });
      assert.equal(event.responseElements?.["item"], "book");
    });

    it(`${framework}: GET is readOnly (responseElements null); a 404 and a 500 become errorCode events`, async () => {
      assert.equal((await call(app(), "/orders/o-9")).status, 200);
      assert.equal((await call(app(), "/orders/missing", {}, "bob")).status, 404);
      assert.equal((await call(app(), "/boom")).status, 500);
      const gets = await lookup(eventSource, "GET /orders/:orderId", 2);
      const found = gets.find((event) => event["errorCode"] === undefined);
      const missing = gets.find((event) => event["errorCode"] !== undefined);
      assert.ok(found && missing, JSON.stringify(gets));
      assert.equal(found["readOnly"], true);
      assert.equal(found.responseElements, null);
      assert.deepEqual(found.requestParameters, { orderId: "o-9" });
      assert.equal(missing["errorCode"], "OrderNotFound");
      assert.equal(missing["errorMessage"], "Order missing does not exist.");
      assert.equal(missing.userIdentity?.["userName"], "bob");
      const [boom] = await lookup(eventSource, "GET /boom");
      assert.equal(boom?.["errorCode"], "InternalServerError");
    });

    it(`${framework}: a password in the body is logged as ****`, async () => {
      const response = await call(app(), "/login", {
        method: "POST",
        body: JSON.stringify({ user: "alice", password: "hunter2-secret" }),
      });
      assert.equal(response.status, 200);
      const [event] = await lookup(eventSource, "POST /login");
      assert.ok(event);
      assert.deepEqual(event.requestParameters, { user: "alice", password: "****" });
      assert.ok(!JSON.stringify(event).includes("hunter2-secret"));
    });
  }

  it("calls made while the server restarts are delivered once it is back, the apps serving throughout", async () => {
    await server.stop();
    for (const app of [expressApp, fastifyApp]) {
      for (const id of ["r-1", "r-2", "r-3"]) assert.equal((await call(app, `/orders/${id}`, {}, "carol")).status, 200);
    }
    server = await startServerProcess({ dataDir: server.dataDir, args: ["--port", String(serverPort)] });
    for (const eventSource of ["orders.example.com", "billing.example.com"]) {
      const events = (await lookup(eventSource, "GET /orders/:orderId", 5)).filter(
        (event) => event.userIdentity?.["userName"] === "carol",
      );
      assert.deepEqual(events.map((event) => event.requestParameters?.["orderId"]).sort(), ["r-1", "r-2", "r-3"]);
    }
  });
});
