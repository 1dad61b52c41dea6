import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { CloudTrailClient, LookupEventsCommand, type LookupAttribute } from "@aws-sdk/client-cloudtrail";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import {
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { cloudTrailCall, ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";
import { parseCsv } from "../helpers/csv.js";
import { presignedUrl } from "../../src/client/presigned-url.js";

const CREDENTIALS = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const SOURCE = "export-test.example.com";
const COUNT = 130;

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

async function get(url: string): Promise<Answer> {
  const response = await fetch(url);
  return { status: response.status, headers: response.headers, text: await response.text() };
}

function errorOf(answer: Answer): { type: string; message: string } {
  const body = JSON.parse(answer.text) as { __type?: string; message?: string };
  return { type: body.__type ?? "", message: body.message ?? "" };
}

describe("GET /export-events: every matching event as one streamed file, presigned", () => {
  let server: ServerProcess;
  let client: CloudTrailClient;
  let records: RawRecord[];
  let ownCalls: RawRecord[];
  let target: { endpointUrl: string; region: string; credentials: typeof CREDENTIALS };

  const exportUrl = (query: Record<string, string | string[]>, expires = 300, signingDate = new Date()) =>
    presignedUrl(target, { path: "/export-events", query }, expires, signingDate);

  /** Every event LookupEvents answers for the search, page by page, as the SDK reads them. */
  async function lookupAll(attributes: LookupAttribute[]): Promise<string[]> {
    const ids: string[] = [];
    let token: string | undefined;
    do {
      const page = await client.send(
        new LookupEventsCommand({ LookupAttributes: attributes, ...(token ? { NextToken: token } : {}) }),
      );
      ids.push(...(page.Events ?? []).map((event) => event.EventId!));
      token = page.NextToken;
    } while (token);
    return ids;
  }

  before(async () => {
    server = await startServerProcess();
    target = { endpointUrl: server.url, region: "us-east-1", credentials: CREDENTIALS };
    client = new CloudTrailClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
    records = recentRecords(COUNT, { accountId: TEST_ACCOUNT_ID }).map((record, index) => ({
      ...record,
      eventSource: SOURCE,
      readOnly: index % 2 === 0,
      // Formula-looking text must come out as text in the CSV.
      ...(index === 7 ? { userAgent: '=HYPERLINK("http://evil.example","x")' } : {}),
    }));
    // The console's own reads (hidden on request) and one of its writes (never hidden), decision 0021.
    ownCalls = recentRecords(3, { accountId: TEST_ACCOUNT_ID }).map((record, index) => ({
      ...record,
      eventSource: SOURCE,
      eventName: index === 2 ? "ConsoleWriteProbe" : "ConsoleReadProbe",
      readOnly: index !== 2,
      userAgent: "aws-sdk-js/3.0 ua/2.1 cairn-console/1",
    }));
    const answer = await sendRaw(server.url, ingestCall([...records, ...ownCalls], CREDENTIALS));
    assert.equal(answer.status, 200, answer.text);
  });

  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("streams CSV with every matching event across LookupEvents' pages, as an attachment", async () => {
    const answer = await get(await exportUrl({ format: "csv", attribute: `EventSource:${SOURCE}` }));
    assert.equal(answer.status, 200, answer.text);
    assert.match(answer.headers.get("content-type") ?? "", /^text\/csv/);
    assert.match(answer.headers.get("content-disposition") ?? "", /^attachment; filename="cairn-events-.*\.csv"$/);
    assert.equal(answer.headers.get("transfer-encoding"), "chunked");
    const rows = parseCsv(answer.text);
    assert.equal(rows[0]![0], "eventTime");
    const idColumn = rows[0]!.indexOf("eventId");
    const expected = await lookupAll([{ AttributeKey: "EventSource", AttributeValue: SOURCE }]);
    assert.equal(expected.length, COUNT + ownCalls.length);
    assert.deepEqual(
      rows.slice(1).map((row) => row[idColumn]),
      expected,
    );
    const agents = rows.slice(1).map((row) => row[rows[0]!.indexOf("userAgent")]);
    assert.ok(agents.includes(`'=HYPERLINK("http://evil.example","x")`), "formula text neutralised");
  });

  it("streams JSON and NDJSON with the records exactly as stored", async () => {
    const expected = await lookupAll([{ AttributeKey: "EventSource", AttributeValue: SOURCE }]);
    const json = await get(await exportUrl({ format: "json", attribute: `EventSource:${SOURCE}` }));
    assert.equal(json.status, 200, json.text);
    const parsed = JSON.parse(json.text) as { Records: RawRecord[] };
    assert.deepEqual(
      parsed.Records.map((record) => record["eventID"]),
      expected,
    );
    const ndjson = await get(await exportUrl({ format: "ndjson", attribute: `EventSource:${SOURCE}` }));
    const lines = ndjson.text.split("\n").filter((line) => line !== "");
    const byId = new Map([...records, ...ownCalls].map((record) => [record["eventID"], record]));
    assert.equal(lines.length, expected.length);
    for (const line of lines) {
      const record = JSON.parse(line) as RawRecord;
      assert.equal(record["eventSource"], SOURCE);
      assert.equal(record["eventName"], byId.get(record["eventID"])!["eventName"]);
    }
  });

  it("applies LookupEvents' filters, the read-only attribute and the time window", async () => {
    const readOnly = await get(
      await exportUrl({ format: "ndjson", attribute: [`EventSource:${SOURCE}`, "ReadOnly:false"] }),
    );
    const ids = readOnly.text
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => (JSON.parse(line) as RawRecord)["eventID"]);
    assert.deepEqual(
      ids,
      await lookupAll([
        { AttributeKey: "EventSource", AttributeValue: SOURCE },
        { AttributeKey: "ReadOnly", AttributeValue: "false" },
      ]),
    );
    assert.equal(ids.length, COUNT / 2 + 1);
    const future = await get(
      await exportUrl({
        format: "csv",
        attribute: `EventSource:${SOURCE}`,
        startTime: String(Math.floor(Date.now() / 1000) + 3600),
      }),
    );
    assert.equal(future.status, 400);
    assert.equal(errorOf(future).type, "InvalidTimeRangeException");
    const past = await get(
      await exportUrl({
        format: "csv",
        attribute: `EventSource:${SOURCE}`,
        startTime: "2020-01-01T00:00:00Z",
        endTime: "2020-01-02T00:00:00Z",
      }),
    );
    assert.equal(past.status, 200);
    assert.equal(parseCsv(past.text).length, 1, "the header only");
  });

  it("leaves out the console's own reads on request, never its writes (decision 0021)", async () => {
    const answer = await get(
      await exportUrl({ format: "ndjson", attribute: `EventSource:${SOURCE}`, hideOwn: "true" }),
    );
    const names = answer.text
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => (JSON.parse(line) as RawRecord)["eventName"]);
    assert.equal(names.length, COUNT + 1);
    assert.ok(!names.includes("ConsoleReadProbe"));
    assert.ok(names.includes("ConsoleWriteProbe"));
  });

  it("accepts the Authorization header too, and records each export as ExportEvents", async () => {
    const answer = await sendRaw(server.url, {
      ...CREDENTIALS,
      method: "GET",
      path: "/export-events",
      query: { format: "ndjson", attribute: "EventName:ConsoleWriteProbe" },
    });
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.text.split("\n").filter((line) => line !== "").length, 1);
    const recorded = await client.send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "ExportEvents" }] }),
    );
    const last = JSON.parse(recorded.Events![0]!.CloudTrailEvent!) as RawRecord;
    assert.equal(last["eventSource"], "cloudtrail.amazonaws.com");
    assert.equal(last["readOnly"], true);
    assert.deepEqual((last["requestParameters"] as RawRecord)["lookupAttributes"], [
      { attributeKey: "EventName", attributeValue: "ConsoleWriteProbe" },
    ]);
    assert.ok(recorded.Events!.length >= 5, "every export so far is on record");
  });

  it("refuses an expired URL, a tampered one and one valid longer than AWS allows", async () => {
    const query = { format: "csv", attribute: `EventSource:${SOURCE}` };
    const expired = await get(await exportUrl(query, 300, new Date(Date.now() - 600_000)));
    assert.equal(expired.status, 403);
    assert.equal(errorOf(expired).type, "InvalidSignatureException");
    assert.match(
      errorOf(expired).message,
      /^Signature expired: the presigned URL signed at \d{8}T\d{6}Z for 300 seconds/,
    );

    const good = new URL(await exportUrl(query));
    const widened = new URL(good);
    widened.searchParams.set("attribute", "EventSource:cloudtrail.amazonaws.com");
    const signature = new URL(good);
    const original = signature.searchParams.get("X-Amz-Signature")!;
    signature.searchParams.set("X-Amz-Signature", `${original[0] === "a" ? "b" : "a"}${original.slice(1)}`);
    const longer = new URL(good);
    longer.searchParams.set("X-Amz-Expires", "3600");
    for (const tampered of [widened, signature, longer]) {
      const answer = await get(tampered.toString());
      assert.equal(answer.status, 403, tampered.toString());
      assert.equal(errorOf(answer).type, "InvalidSignatureException");
      assert.match(errorOf(answer).message, /signature we calculated does not match/);
    }
    const week = new URL(good);
    week.searchParams.set("X-Amz-Expires", "604801");
    const tooLong = await get(week.toString());
    assert.equal(tooLong.status, 400);
    assert.deepEqual(errorOf(tooLong), {
      type: "IncompleteSignatureException",
      message: "X-Amz-Expires must be less than a week (in seconds) that is 604800.",
    });
    const noRegion = new URL(good);
    noRegion.searchParams.set(
      "X-Amz-Credential",
      noRegion.searchParams.get("X-Amz-Credential")!.replace(/\/us-east-1\//, "/US_EAST/"),
    );
    assert.deepEqual(errorOf(await get(noRegion.toString())), {
      type: "InvalidSignatureException",
      message: "Credential should be scoped to a valid region.",
    });
    const partial = new URL(good);
    partial.searchParams.delete("X-Amz-SignedHeaders");
    assert.equal(errorOf(await get(partial.toString())).type, "IncompleteSignatureException");
    // Signed an hour ahead: not yet valid, however long it would last.
    const future = await get(await exportUrl(query, 7200, new Date(Date.now() + 3_600_000)));
    assert.equal(future.status, 403);
    assert.match(errorOf(future).message, /^Signature not yet current/);
    // Both mechanisms at once is refused, as AWS does.
    const both = await sendRaw(server.url, {
      ...CREDENTIALS,
      method: "GET",
      path: "/export-events",
      query: Object.fromEntries(good.searchParams),
    });
    assert.equal(both.status, 400);
    assert.match(String(both.json()["message"]), /^Only one auth mechanism allowed/);
    // The refusals of a known key are on record as its ExportEvents calls, with the error.
    const refused = await client.send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "ExportEvents" }] }),
    );
    const codes = refused.Events!.map((event) => (JSON.parse(event.CloudTrailEvent!) as RawRecord)["errorCode"]);
    assert.ok(codes.includes("InvalidSignatureException"), codes.join(","));
    assert.ok(codes.includes("IncompleteSignatureException"), codes.join(","));
  });

  it("keeps serving after a client leaves in the middle of a stream", async () => {
    const response = await fetch(await exportUrl({ format: "ndjson" }));
    assert.equal(response.status, 200);
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.ok(first.value !== undefined && first.value.length > 0);
    await reader.cancel();
    const after = await get(await exportUrl({ format: "ndjson", attribute: "EventName:ConsoleWriteProbe" }));
    assert.equal(after.status, 200);
    assert.equal(after.text.split("\n").filter((line) => line !== "").length, 1);
  });

  it("answers AccessDeniedException to a caller without cloudtrail:LookupEvents, and lets one with it export", async () => {
    const iam = new IAMClient({ endpoint: server.url, region: "us-east-1", credentials: CREDENTIALS, maxAttempts: 1 });
    await iam.send(new CreateUserCommand({ UserName: "exporter" }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: "exporter" }));
    const credentials = { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
    const url = () =>
      presignedUrl(
        { endpointUrl: server.url, region: "us-east-1", credentials },
        { path: "/export-events", query: { format: "csv" } },
        300,
        new Date(),
      );
    const denied = await get(await url());
    assert.equal(denied.status, 403);
    assert.equal(errorOf(denied).type, "AccessDeniedException");
    assert.match(
      errorOf(denied).message,
      new RegExp(`arn:aws:iam::${TEST_ACCOUNT_ID}:user/exporter is not authorized to perform: cloudtrail:LookupEvents`),
    );
    await iam.send(
      new PutUserPolicyCommand({
        UserName: "exporter",
        PolicyName: "lookup",
        PolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "cloudtrail:LookupEvents", Resource: "*" }],
        }),
      }),
    );
    const allowed = await get(await url());
    assert.equal(allowed.status, 200, allowed.text);
  });

  it("answers bad filters with a 400 naming the fault, never a 500", async () => {
    const cases: [Record<string, string | string[]>, string][] = [
      [{ format: "xml" }, "ValidationException"],
      [{ format: "csv", attribute: "NoSuchKey:x" }, "InvalidLookupAttributesException"],
      [{ format: "csv", attribute: "EventName" }, "ValidationException"],
      [{ format: "csv", attribute: "EventName:" }, "InvalidLookupAttributesException"],
      [{ format: "csv", startTime: "yesterday" }, "ValidationException"],
      [
        { format: "csv", startTime: "2026-01-02T00:00:00Z", endTime: "2026-01-01T00:00:00Z" },
        "InvalidTimeRangeException",
      ],
      [{ format: "csv", hideOwn: "maybe" }, "ValidationException"],
      [{ format: ["csv", "json"] }, "ValidationException"],
      [{ format: "csv", limit: "10" }, "ValidationException"],
      [{ format: "csv", attribute: `EventName:${"x".repeat(2001)}` }, "InvalidLookupAttributesException"],
    ];
    for (const [query, type] of cases) {
      const answer = await get(await exportUrl(query));
      assert.equal(answer.status, 400, `${JSON.stringify(query)}: ${answer.text}`);
      assert.equal(errorOf(answer).type, type, JSON.stringify(query));
      assert.ok(errorOf(answer).message.length > 0);
    }
  });

  it("takes presigned URLs on this endpoint only: the API refuses them", async () => {
    const url = new URL(await presignedUrl(target, { path: "/", query: {} }, 300, new Date()));
    const answer = await sendRaw(server.url, {
      ...cloudTrailCall("DescribeTrails", {}, CREDENTIALS),
      unsigned: true,
      query: Object.fromEntries(url.searchParams),
    });
    assert.equal(answer.status, 400);
    assert.equal(answer.json()["__type"], "IncompleteSignatureException");
    const unsigned = await get(`${server.url}/export-events?format=csv`);
    assert.equal(unsigned.status, 403);
    assert.equal(errorOf(unsigned).type, "MissingAuthenticationTokenException");
  });
});
