import { connect } from "node:net";
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  startServerProcess,
  removeDataDir,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { cloudTrailCall, ingestCall, sendRaw, type RawResponse } from "../helpers/signed-request.js";
import { recentRecords } from "../helpers/sample-records.js";

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };

function assertAwsError(response: RawResponse, status: number, type: string): void {
  assert.equal(response.status, status, response.text);
  const body = response.json();
  assert.equal(body["__type"], type, response.text);
  assert.equal(typeof body["message"], "string");
  assert.ok(response.headers.get("x-amzn-requestid"), "x-amzn-RequestId header");
  assert.equal(response.headers.get("x-amzn-errortype"), type);
}

async function lookupByEventId(server: ServerProcess, eventId: string): Promise<unknown[]> {
  const response = await sendRaw(
    server.url,
    cloudTrailCall("LookupEvents", { LookupAttributes: [{ AttributeKey: "EventId", AttributeValue: eventId }] }, admin),
  );
  assert.equal(response.status, 200, response.text);
  return response.json()["Events"] as unknown[];
}

describe("hostile input against a real server", () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess();
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("refuses unsigned, unknown-key, wrongly signed and expired requests with AWS's codes", async () => {
    assertAwsError(
      await sendRaw(server.url, { ...cloudTrailCall("LookupEvents", {}, admin), unsigned: true }),
      403,
      "MissingAuthenticationTokenException",
    );
    assertAwsError(
      await sendRaw(
        server.url,
        cloudTrailCall("LookupEvents", {}, { accessKeyId: "AKIAUNKNOWNKEY000000", secretAccessKey: "x" }),
      ),
      403,
      "UnrecognizedClientException",
    );
    assertAwsError(
      await sendRaw(
        server.url,
        cloudTrailCall("LookupEvents", {}, { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: "wrong-secret" }),
      ),
      403,
      "InvalidSignatureException",
    );
    const expired = await sendRaw(
      server.url,
      cloudTrailCall("LookupEvents", {}, admin, { signingDate: new Date(Date.now() - 16 * 60 * 1000) }),
    );
    assertAwsError(expired, 403, "InvalidSignatureException");
    assert.match(String(expired.json()["message"]), /Signature expired/);
    const future = await sendRaw(
      server.url,
      cloudTrailCall("LookupEvents", {}, admin, { signingDate: new Date(Date.now() + 16 * 60 * 1000) }),
    );
    assertAwsError(future, 403, "InvalidSignatureException");
    assertAwsError(
      await sendRaw(server.url, {
        ...cloudTrailCall("LookupEvents", {}, admin),
        headers: { authorization: "AWS4-HMAC-SHA256 garbage", "x-amz-target": "CloudTrail_20131101.LookupEvents" },
        unsigned: true,
      }),
      400,
      "IncompleteSignatureException",
    );
  });

  it("rejects a body altered after signing", async () => {
    const request = cloudTrailCall("LookupEvents", { MaxResults: 5 }, admin);
    const { Sha256 } = await import("@aws-crypto/sha256-js");
    const { SignatureV4 } = await import("@smithy/signature-v4");
    const url = new URL(server.url);
    const signer = new SignatureV4({ credentials: admin, region: "us-east-1", service: "cloudtrail", sha256: Sha256 });
    const signed = await signer.sign({
      method: "POST",
      protocol: "http:",
      hostname: url.hostname,
      port: Number(url.port),
      path: "/",
      headers: { host: url.host, ...request.headers },
      body: String(request.body),
    });
    const headers = Object.fromEntries(Object.entries(signed.headers).filter(([k]) => k !== "host")) as Record<
      string,
      string
    >;
    const response = await fetch(server.url, { method: "POST", headers, body: JSON.stringify({ MaxResults: 6 }) });
    assert.equal(response.status, 403);
    assert.equal(((await response.json()) as Record<string, unknown>)["__type"], "InvalidSignatureException");
  });

  it("answers malformed JSON, wrong types and unknown targets with AWS-shaped 400s", async () => {
    assertAwsError(
      await sendRaw(server.url, cloudTrailCall("LookupEvents", "{not json", admin)),
      400,
      "SerializationException",
    );
    assertAwsError(
      await sendRaw(server.url, cloudTrailCall("LookupEvents", "[1,2,3]", admin)),
      400,
      "SerializationException",
    );
    assertAwsError(
      await sendRaw(server.url, cloudTrailCall("LookupEvents", { MaxResults: "ten" }, admin)),
      400,
      "SerializationException",
    );
    assertAwsError(
      await sendRaw(server.url, cloudTrailCall("LookupEvents", { LookupAttributes: "EventName" }, admin)),
      400,
      "SerializationException",
    );
    assertAwsError(
      await sendRaw(server.url, cloudTrailCall("LookupEvents", { StartTime: { a: 1 } }, admin)),
      400,
      "SerializationException",
    );
    assertAwsError(
      await sendRaw(server.url, cloudTrailCall("NoSuchOperation", {}, admin)),
      400,
      "UnknownOperationException",
    );
    const shortTarget = await sendRaw(server.url, {
      ...admin,
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "CloudTrail_20131101.LookupEvents" },
      body: JSON.stringify({ MaxResults: 1 }),
    });
    assert.equal(shortTarget.status, 200, "the short Smithy target form is accepted");
    assertAwsError(
      await sendRaw(server.url, {
        ...admin,
        headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "DynamoDB_20120810.GetItem" },
        body: "{}",
      }),
      400,
      "UnknownOperationException",
    );
  });

  it("refuses huge bodies with 413 and keeps serving", async () => {
    const huge = JSON.stringify({ NextToken: "x".repeat(2 * 1024 * 1024) });
    assertAwsError(
      await sendRaw(server.url, cloudTrailCall("LookupEvents", huge, admin)),
      413,
      "RequestEntityTooLargeException",
    );
    const ok = await sendRaw(server.url, cloudTrailCall("LookupEvents", { MaxResults: 1 }, admin));
    assert.equal(ok.status, 200);
  });

  it("ingest: reports each bad record by index, stores the good ones, and stores nothing from a refused call", async () => {
    const [good] = recentRecords(1, { accountId: TEST_ACCOUNT_ID });
    const response = await sendRaw(
      server.url,
      ingestCall([good, 42, null, { eventName: "X" }, { ...good, eventID: "other", eventTime: "eventTime" }], admin),
    );
    assert.equal(response.status, 200, response.text);
    const body = response.json() as {
      accepted: number;
      failed: Array<{ index: number; errorCode: string; message: string }>;
    };
    assert.equal(body.accepted, 1);
    assert.deepEqual(
      body.failed.map((f) => f.index),
      [1, 2, 3, 4],
    );
    for (const failure of body.failed) assert.ok(failure.errorCode.length > 0 && failure.message.length > 0);
    assert.equal((await lookupByEventId(server, good!["eventID"] as string)).length, 1);

    const [unsigned] = recentRecords(1, { accountId: TEST_ACCOUNT_ID });
    assertAwsError(
      await sendRaw(server.url, { ...ingestCall([unsigned], admin), unsigned: true }),
      403,
      "MissingAuthenticationTokenException",
    );
    assert.equal(
      (await lookupByEventId(server, unsigned!["eventID"] as string)).length,
      0,
      "nothing from a refused call",
    );
    assertAwsError(
      await sendRaw(server.url, { ...ingestCall([], admin), body: '{"Records": [' }),
      400,
      "SerializationException",
    );
    assertAwsError(
      await sendRaw(server.url, { ...ingestCall([], admin), body: '{"NotRecords": []}' }),
      400,
      "SerializationException",
    );
    assertAwsError(
      await sendRaw(server.url, {
        ...ingestCall([], admin),
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
        body: "not gzip",
      }),
      400,
      "SerializationException",
    );
  });

  it("answers a request that is not well-formed HTTP with an AWS-shaped 400 and closes the connection", async () => {
    const { port } = new URL(server.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () => socket.end("NOT-HTTP /\\ \r\nwhat\r\n\r\n"));
      let text = "";
      socket.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(answer, /x-amzn-ErrorType: SerializationException/);
    assert.match(answer, /\{"__type":"SerializationException","message":"The request is not well-formed HTTP\."\}$/);
  });

  it("is still healthy after all of that", async () => {
    const response = await fetch(`${server.url}/health`);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { status: string };
    assert.equal(body.status, "ok");
  });
});
