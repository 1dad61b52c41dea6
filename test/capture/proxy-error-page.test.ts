import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { awsCliMissingReason, runAws } from "../helpers/aws-cli.js";
import { removeDataDir, startServerProcess, TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";
import { addPrincipal } from "../helpers/principals.js";
import { pollUntil } from "../helpers/poll.js";
import { journalRecords } from "./proxy-process.js";

/**
 * Issue 12: an upstream that answers an HTML error page instead of an AWS error. The AWS CLI → the
 * in-process capture proxy → a real HTTP server answering S3 calls with an HTML 500 (a title with
 * markup and entities) and DynamoDB calls with a 502 page without a title. The records say what happened.
 */
const skip = awsCliMissingReason();
const PAGE_500 =
  "<!DOCTYPE html><html><head><title>\n  500 <b>Internal</b> Server Error &amp; co &#8212; upstream\n</title></head>" +
  "<body><h1>Something broke</h1><script>alert(1)</script></body></html>";
const PAGE_502 = "<html><body><h1>502 Bad Gateway</h1></body></html>";

describe("cairn proxy: an upstream's HTML error page becomes errorCode and errorMessage", { skip }, () => {
  let upstream: Server;
  let server: ServerProcess | undefined;
  let proxyUrl = "";
  let alice: { accessKeyId: string; secretAccessKey: string };

  before(async () => {
    upstream = createServer((incoming, response) => {
      incoming.resume();
      incoming.once("end", () => {
        const dynamo = String(incoming.headers["x-amz-target"] ?? "").startsWith("DynamoDB");
        response.writeHead(dynamo ? 502 : 500, { "content-type": "text/html; charset=utf-8" });
        response.end(dynamo ? PAGE_502 : PAGE_500);
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", () => resolve()));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    server = await startServerProcess({ args: ["--proxy-upstream", upstreamUrl, "--proxy-port", "0"] });
    const started = server;
    proxyUrl = await pollUntil(() => /capture proxy:\s+(http:\/\/\S+)/.exec(started.output())?.[1], {
      message: () => `a capture proxy line in the banner:\n${started.output()}`,
    });
    alice = await addPrincipal(server.dataDir, { name: "alice", accountId: TEST_ACCOUNT_ID });
  });

  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
    upstream?.closeAllConnections();
    await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  });

  const viaProxy = (args: string[]) =>
    runAws(server!.dataDir, [...args, "--endpoint-url", proxyUrl], {
      AWS_ACCESS_KEY_ID: alice.accessKeyId,
      AWS_SECRET_ACCESS_KEY: alice.secretAccessKey,
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_MAX_ATTEMPTS: "1",
    });

  const recorded = (eventName: string) =>
    pollUntil(
      async () => (await journalRecords(server!.url, server!.dataDir)).find((r) => r["eventName"] === eventName),
      { message: () => `a ${eventName} record. Server output:\n${server?.output()}` },
    );

  it("an HTML 500 (rest-xml): the status as errorCode, the page's title as plain text as errorMessage", async () => {
    const failed = await viaProxy(["s3api", "list-buckets"]);
    assert.notEqual(failed.code, 0, "the CLI sees the upstream's 500");
    const record = await recorded("ListBuckets");
    assert.equal(record["errorCode"], "InternalServerError");
    assert.equal(record["errorMessage"], "500 Internal Server Error & co \u2014 upstream");
    assert.equal(record["responseElements"], null);
  });

  it("a 502 page without a title (json protocol): the status text as errorMessage", async () => {
    const failed = await viaProxy(["dynamodb", "list-tables"]);
    assert.notEqual(failed.code, 0, "the CLI sees the upstream's 502");
    const record = await recorded("ListTables");
    assert.equal(record["errorCode"], "BadGateway");
    assert.equal(record["errorMessage"], "Bad Gateway");
  });
});
