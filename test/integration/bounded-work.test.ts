import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import {
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { cloudTrailCall, sendRaw } from "../helpers/signed-request.js";
import { pollUntil } from "../helpers/poll.js";

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const unknownKey = { accessKeyId: "AKIANOSUCHKEY0000000", secretAccessKey: "whatever" };
const MIB = 1024 * 1024;
const AGGREGATE_EVENT_NAME = "UnauthenticatedRequestsRefused";
const hasProc = existsSync("/proc/self/status") && existsSync("/proc/self/io");
if (!hasProc) process.stderr.write("SKIPPING the RSS measurement: this platform has no /proc.\n");

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

interface SignedCall {
  path: string;
  headers?: Record<string, string>;
  body: Buffer;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  signingDate?: Date;
  /** Leave out Content-Length from what is signed and sent (a chunked body). */
  chunked?: boolean;
}

/** The SigV4 headers of a call; the payload hash is given, so large bodies are hashed natively. */
async function signedHeaders(baseUrl: string, call: SignedCall): Promise<Record<string, string>> {
  const url = new URL(baseUrl);
  const [pathname, search = ""] = call.path.split("?");
  const signer = new SignatureV4({
    credentials: call.credentials ?? admin,
    region: "us-east-1",
    service: "cloudtrail",
    sha256: Sha256,
  });
  const signed = await signer.sign(
    {
      method: "POST",
      protocol: "http:",
      hostname: url.hostname,
      port: Number(url.port),
      path: pathname!,
      query: Object.fromEntries(new URLSearchParams(search)),
      headers: {
        host: url.host,
        "content-type": "application/json",
        "x-amz-content-sha256": createHash("sha256").update(call.body).digest("hex"),
        ...(call.chunked === true ? {} : { "content-length": String(call.body.length) }),
        ...call.headers,
      },
    },
    call.signingDate !== undefined ? { signingDate: call.signingDate } : {},
  );
  return signed.headers as Record<string, string>;
}

/**
 * Sends the headers and only `sentBytes` of a body of `declaredBytes` (or of a chunked one), and
 * resolves with the answer, if one comes while the rest of the body is still owed.
 */
function partialRequest(
  baseUrl: string,
  path: string,
  headers: Record<string, string>,
  sentBytes: number,
): { answer: Promise<Answer>; destroy: () => void } {
  const request = http.request(`${baseUrl}${path}`, { method: "POST", headers, agent: false });
  request.on("error", () => undefined);
  request.write(Buffer.alloc(sentBytes, 0x20));
  let timer: NodeJS.Timeout | undefined;
  const answer = new Promise<Answer>((resolve, reject) => {
    // A server that waits for the rest of the body never answers: fail instead of hanging.
    timer = setTimeout(() => reject(new Error(`No answer to ${path} while its body was owed.`)), 20_000);
    request.on("response", (response) => {
      clearTimeout(timer);
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text }));
    });
  });
  const destroy = (): void => {
    clearTimeout(timer);
    request.destroy();
  };
  return { answer, destroy };
}

/** The answer to a request of which only the headers and 1 KiB of its body were sent. */
async function answerWhileOwed(baseUrl: string, path: string, headers: Record<string, string>): Promise<Answer> {
  const partial = partialRequest(baseUrl, path, headers, 1024);
  try {
    return await partial.answer;
  } finally {
    partial.destroy();
  }
}

/** Sends a whole request and resolves with the answer, or with the error that ended the exchange. */
function wholeRequest(
  baseUrl: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  chunkBytes = 64 * 1024,
): Promise<Answer | { error: string }> {
  return new Promise((resolve) => {
    const request = http.request(`${baseUrl}${path}`, { method: "POST", headers, agent: false });
    let answer: Answer | undefined;
    let error: string | undefined;
    request.on("response", (response) => {
      let text = "";
      response.on("data", (chunk: Buffer) => (text += chunk.toString()));
      response.on("end", () => (answer = { status: response.statusCode ?? 0, headers: response.headers, text }));
    });
    request.on("error", (cause: NodeJS.ErrnoException) => (error = cause.code ?? cause.message));
    request.on("close", () => resolve(answer ?? { error: error ?? "closed without an answer" }));
    for (let offset = 0; offset < body.length; offset += chunkBytes)
      request.write(body.subarray(offset, offset + chunkBytes));
    request.end();
  });
}

async function signedIngest(server: ServerProcess, body: Buffer, chunked = false): Promise<Answer | { error: string }> {
  const headers = await signedHeaders(server.url, { path: "/ingest", body, chunked });
  return wholeRequest(server.url, "/ingest", withoutHost(headers), body);
}

function withoutHost(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => name !== "host"));
}

/** An /ingest body of `bytes` that holds no record: valid JSON padded with whitespace. */
function paddedIngestBody(bytes: number): Buffer {
  const body = Buffer.alloc(bytes, 0x20);
  body.write('{"Records":[]');
  body.write("}", bytes - 1);
  return body;
}

function errorType(answer: Answer): string | undefined {
  return answer.headers["x-amzn-errortype"] as string | undefined;
}

function processFacts(pid: number): { rssKb: number; hwmKb: number; readBytes: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)?.[1]);
  const readBytes = Number(/rchar: (\d+)/.exec(readFileSync(`/proc/${pid}/io`, "utf8"))?.[1]);
  return { rssKb: field("VmRSS"), hwmKb: field("VmHWM"), readBytes };
}

async function headSeq(server: ServerProcess): Promise<number> {
  const health = (await (await fetch(`${server.url}/health`)).json()) as { journal: { headSeq: number } };
  return health.journal.headSeq;
}

async function inflightBytes(server: ServerProcess): Promise<number> {
  const health = (await (await fetch(`${server.url}/health`)).json()) as { requestBodies: { inflightBytes: number } };
  return health.requestBodies.inflightBytes;
}

async function lookup(server: ServerProcess, eventName: string): Promise<Array<Record<string, unknown>>> {
  const records: Array<Record<string, unknown>> = [];
  let nextToken: string | undefined;
  do {
    const response = await sendRaw(
      server.url,
      cloudTrailCall(
        "LookupEvents",
        {
          LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: eventName }],
          MaxResults: 50,
          ...(nextToken !== undefined ? { NextToken: nextToken } : {}),
        },
        admin,
      ),
    );
    assert.equal(response.status, 200, response.text);
    const page = response.json() as { Events: Array<{ CloudTrailEvent: string }>; NextToken?: string };
    records.push(...page.Events.map((event) => JSON.parse(event.CloudTrailEvent) as Record<string, unknown>));
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return records;
}

/** Runs `count` calls, `concurrency` at a time. */
async function inParallel(count: number, concurrency: number, call: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await call(next++);
    }),
  );
}

describe("bounded work for unauthenticated and malformed traffic (real server)", () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess();
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("3,000 unauthenticated refusals add a handful of journal records, whose counts add up to 3,000", async () => {
    const before = await headSeq(server);
    const lookupHeaders = {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": "CloudTrail_20131101.LookupEvents",
    };
    const unknownKeyHeaders = Object.fromEntries(
      Object.entries(
        await signedHeaders(server.url, {
          path: "/",
          headers: lookupHeaders,
          body: Buffer.from("{}"),
          credentials: unknownKey,
        }),
      ).filter(([name]) => name !== "host" && name !== "content-length"),
    );
    const seen = new Map<string, number>();
    await inParallel(3000, 20, async (index) => {
      const headers = index % 2 === 0 ? lookupHeaders : unknownKeyHeaders;
      const response = await fetch(server.url, { method: "POST", headers, body: "{}" });
      await response.text();
      const key = `${response.status} ${response.headers.get("x-amzn-errortype")}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    });
    assert.deepEqual(
      Object.fromEntries(seen),
      { "403 MissingAuthenticationTokenException": 1500, "403 UnrecognizedClientException": 1500 },
      "each call is refused with AWS's code",
    );
    // A clean stop writes the current window; the restarted server reads the same journal.
    await server.stop();
    server = await startServerProcess({ dataDir: server.dataDir });
    const added = (await headSeq(server)) - before;
    const aggregates = await lookup(server, AGGREGATE_EVENT_NAME);
    process.stdout.write(`3,000 refusals added ${added} journal record(s): ${aggregates.length} aggregate(s).\n`);
    assert.ok(added >= 2 && added <= 6, `a record per code per minute, not per request (added ${added})`);
    assert.equal(aggregates.length, added, "every record added is an aggregate");
    const totals = new Map<string, number>();
    for (const record of aggregates) {
      const data = record["additionalEventData"] as {
        refusedRequestCount: number;
        windowStart: string;
        windowEnd: string;
      };
      assert.equal(record["sourceIPAddress"], "127.0.0.1");
      assert.deepEqual(record["userIdentity"], { type: "Unknown" });
      assert.ok(data.windowStart <= String(record["eventTime"]) && String(record["eventTime"]) <= data.windowEnd);
      const code = String(record["errorCode"]);
      totals.set(code, (totals.get(code) ?? 0) + data.refusedRequestCount);
    }
    assert.deepEqual(Object.fromEntries(totals), {
      MissingAuthenticationTokenException: 1500,
      UnrecognizedClientException: 1500,
    });
  });

  it("answers every signed route from the headers, before the body is sent", async () => {
    const unsigned = { "content-type": "application/json" };
    const routes: Array<[string, number, string]> = [
      ["/", 900 * 1024, "__type"],
      ["/ingest", 30 * MIB, "__type"],
      ["/PutAuditEvents?channelArn=arn:aws:cloudtrail:us-east-1:111122223333:channel/x", 2 * MIB, "message"],
    ];
    for (const [path, declared, member] of routes) {
      const answer = await answerWhileOwed(server.url, path, { ...unsigned, "content-length": String(declared) });
      assert.equal(answer.status, 403, `${path}: ${answer.text}`);
      assert.equal(errorType(answer), "MissingAuthenticationTokenException", path);
      assert.equal(typeof (JSON.parse(answer.text) as Record<string, unknown>)[member], "string", path);
      assert.equal(answer.headers.connection, "close", `${path}: the unread body's connection is closed`);
    }
    const tail = await fetch(`${server.url}/tail`);
    assert.equal(tail.status, 403);
    assert.equal(tail.headers.get("x-amzn-errortype"), "MissingAuthenticationTokenException");
    const expired = await signedHeaders(server.url, {
      path: "/ingest",
      body: paddedIngestBody(8 * MIB),
      signingDate: new Date(Date.now() - 20 * 60 * 1000),
    });
    const staleAnswer = await answerWhileOwed(server.url, "/ingest", withoutHost(expired));
    assert.equal(staleAnswer.status, 403, staleAnswer.text);
    assert.match(staleAnswer.text, /Signature expired/);
    const unknownAnswer = await answerWhileOwed(server.url, "/nowhere", {
      ...unsigned,
      "content-length": String(8 * MIB),
    });
    assert.equal(unknownAnswer.status, 404);
    assert.equal(errorType(unknownAnswer), "UnknownOperationException");
  });

  it(
    "20 concurrent unsigned 30 MB bodies neither grow the server's memory nor get read",
    { skip: hasProc ? false : "no /proc here" },
    async () => {
      const pid = server.child.pid!;
      const body = Buffer.alloc(30 * MIB, 0x20);
      const start = processFacts(pid);
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () =>
          wholeRequest(server.url, "/ingest", { "content-type": "application/json" }, body, MIB),
        ),
      );
      const end = processFacts(pid);
      const peakGrowthMb = (end.hwmKb - start.rssKb) / 1024;
      const readMb = (end.readBytes - start.readBytes) / MIB;
      const refused = outcomes.filter((o) => "status" in o && o.status === 403).length;
      process.stdout.write(
        `20 x 30 MB unsigned: ${refused} answered 403 (the rest saw the connection closed); server RSS ${Math.round(start.rssKb / 1024)} MB before, peak ${Math.round(end.hwmKb / 1024)} MB (growth ${peakGrowthMb.toFixed(1)} MB); ${readMb.toFixed(1)} MB read of 600 MB sent.\n`,
      );
      for (const outcome of outcomes) {
        if ("status" in outcome) assert.equal(errorType(outcome), "MissingAuthenticationTokenException");
      }
      assert.ok(peakGrowthMb < 200, `peak RSS growth ${peakGrowthMb.toFixed(1)} MB`);
      assert.ok(readMb < 200, `the bodies were not read: ${readMb.toFixed(1)} MB read`);
      const ok = await sendRaw(server.url, cloudTrailCall("LookupEvents", { MaxResults: 1 }, admin));
      assert.equal(ok.status, 200, "a signed call is still served");
    },
  );

  it("a known key with a bad or stale signature is still recorded individually, as that caller", async () => {
    const marker = `bounded-work-${randomUUID()}`;
    const call = cloudTrailCall("LookupEvents", {}, { ...admin, secretAccessKey: "not-the-secret" });
    const badSignature = await sendRaw(server.url, { ...call, headers: { ...call.headers, "user-agent": marker } });
    assert.equal(badSignature.status, 403);
    const staleCall = cloudTrailCall("LookupEvents", {}, admin, { signingDate: new Date(Date.now() - 20 * 60 * 1000) });
    const stale = await sendRaw(server.url, { ...staleCall, headers: { ...staleCall.headers, "user-agent": marker } });
    assert.equal(stale.status, 403);
    const strangerCall = cloudTrailCall("LookupEvents", {}, unknownKey);
    await sendRaw(server.url, { ...strangerCall, headers: { ...strangerCall.headers, "user-agent": marker } });
    const mine = (await lookup(server, "LookupEvents")).filter((record) => record["userAgent"] === marker);
    assert.deepEqual(
      mine.map((record) => [record["errorCode"], (record["userIdentity"] as { type: string }).type]).sort(),
      [
        ["InvalidSignatureException", "Root"],
        ["InvalidSignatureException", "Root"],
      ],
      "both known-key refusals, as the admin; the unknown key's is only counted",
    );
    assert.ok(mine.some((record) => String(record["errorMessage"]).startsWith("Signature expired")));
  });
});

describe("the in-flight body budget (real server, 4 MiB budget)", () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess({ env: { CAIRN_MAX_INFLIGHT_BODY_BYTES: String(4 * MIB) } });
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("refuses a body that does not fit with 503 before reading it, serves small calls, and releases on abort", async () => {
    const held = await signedHeaders(server.url, { path: "/ingest", body: paddedIngestBody(3 * MIB) });
    const holder = partialRequest(server.url, "/ingest", withoutHost(held), 64 * 1024);
    await pollUntil(async () => (await inflightBytes(server)) === 3 * MIB, {
      message: "the upload's declared 3 MiB to be held",
    });
    const twoMib = paddedIngestBody(2 * MIB);
    const refused = await signedIngest(server, twoMib);
    assert.ok("status" in refused, JSON.stringify(refused));
    assert.equal(refused.status, 503, refused.text);
    assert.equal(errorType(refused), "ServiceUnavailableException");
    assert.equal((JSON.parse(refused.text) as Record<string, unknown>)["__type"], "ServiceUnavailableException");
    assert.equal(refused.headers["retry-after"], "1");
    assert.equal(refused.headers.connection, "close");

    const small = await sendRaw(server.url, cloudTrailCall("LookupEvents", { MaxResults: 1 }, admin));
    assert.equal(small.status, 200, "a small signed call still fits");
    const chunked = await signedIngest(server, twoMib, true);
    assert.ok("status" in chunked, `a chunked body is answered too (${JSON.stringify(chunked)})`);
    assert.equal(chunked.status, 503, chunked.text);
    const tooLarge = await signedIngest(server, paddedIngestBody(5 * MIB));
    assert.ok("status" in tooLarge);
    assert.equal(errorType(tooLarge), "RequestEntityTooLargeException", "larger than the whole budget: 413");

    holder.destroy();
    await pollUntil(async () => (await inflightBytes(server)) === 0, {
      message: "the aborted upload's bytes released",
    });
    const accepted = await signedIngest(server, twoMib);
    assert.ok("status" in accepted, JSON.stringify(accepted));
    assert.equal(accepted.status, 200, accepted.text);
    assert.deepEqual(JSON.parse(accepted.text), { accepted: 0, duplicates: 0, failed: [] });
    await pollUntil(async () => (await inflightBytes(server)) === 0, { message: "a served body's bytes released" });

    const ingestRecords = await lookup(server, "Ingest");
    const refusals = ingestRecords.filter((record) => record["errorCode"] === "ServiceUnavailableException");
    assert.ok(refusals.length >= 2, "the known caller's refusals are recorded individually");
    for (const record of refusals) assert.equal((record["userIdentity"] as { type: string }).type, "Root");
  });
});
