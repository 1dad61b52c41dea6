import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CloudTrailClient,
  LookupEventsCommand,
  paginateLookupEvents,
  type Event as LookupEvent,
  type LookupAttributeKey,
  type LookupEventsCommandInput,
} from "@aws-sdk/client-cloudtrail";
import {
  startServerProcess,
  removeDataDir,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";
import { addPrincipal } from "../helpers/principals.js";

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };

function client(server: ServerProcess, credentials = admin, region = "us-east-1"): CloudTrailClient {
  return new CloudTrailClient({ endpoint: server.url, region, credentials, maxAttempts: 1 });
}

async function lookupAll(ct: CloudTrailClient, input: LookupEventsCommandInput): Promise<LookupEvent[]> {
  const events: LookupEvent[] = [];
  for await (const page of paginateLookupEvents({ client: ct, pageSize: 50 }, input))
    events.push(...(page.Events ?? []));
  return events;
}

describe("LookupEvents through @aws-sdk/client-cloudtrail against a real server", () => {
  let server: ServerProcess;
  let ct: CloudTrailClient;
  let ingested: RawRecord[];

  before(async () => {
    server = await startServerProcess();
    ct = client(server);
    ingested = recentRecords(600, { accountId: TEST_ACCOUNT_ID });
    const response = await sendRaw(server.url, ingestCall(ingested, admin, { gzip: true }));
    assert.equal(response.status, 200, response.text);
    const body = response.json() as { accepted: number; failed: unknown[] };
    assert.equal(body.accepted, 600);
    assert.deepEqual(body.failed, []);
  });

  after(async () => {
    ct?.destroy();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("records its own LookupEvents calls (self-audit) and returns them", async () => {
    await ct.send(new LookupEventsCommand({ MaxResults: 1 }));
    const result = await ct.send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "LookupEvents" }] }),
    );
    const events = result.Events ?? [];
    assert.ok(events.length >= 1, "the first LookupEvents call must be visible");
    const record = JSON.parse(events[0]!.CloudTrailEvent!) as RawRecord;
    assert.equal(record["eventSource"], "cloudtrail.amazonaws.com");
    assert.equal(record["eventName"], "LookupEvents");
    assert.equal(record["readOnly"], true);
    assert.equal(record["responseElements"], null);
    assert.equal(record["eventVersion"], "1.11");
    assert.equal(record["eventType"], "AwsApiCall");
    assert.equal(record["eventCategory"], "Management");
    assert.equal(record["recipientAccountId"], TEST_ACCOUNT_ID);
    assert.equal(record["sourceIPAddress"], "127.0.0.1");
    assert.match(String(record["userAgent"]), /aws-sdk-js/);
    const identity = record["userIdentity"] as RawRecord;
    assert.equal(identity["type"], "Root");
    assert.equal(identity["arn"], `arn:aws:iam::${TEST_ACCOUNT_ID}:root`);
    assert.equal(identity["accessKeyId"], TEST_ACCESS_KEY_ID);
    assert.equal(events[0]!.Username, "root");
    assert.equal(events[0]!.ReadOnly, "true");
    assert.equal(events[0]!.EventSource, "cloudtrail.amazonaws.com");
    assert.ok(events[0]!.EventTime instanceof Date);
  });

  it("pages through more than 500 events exactly once, newest first", async () => {
    const ids = new Set(ingested.map((r) => r["eventID"] as string));
    const events = await lookupAll(ct, {});
    const seen = events.map((e) => e.EventId!).filter((id) => ids.has(id));
    assert.equal(seen.length, 600);
    assert.equal(new Set(seen).size, 600);
    for (let i = 1; i < events.length; i++) {
      assert.ok(events[i - 1]!.EventTime!.getTime() >= events[i]!.EventTime!.getTime(), "newest first");
    }
  });

  it("filters by every lookup attribute exactly as a scan of the ingested records would", async () => {
    const sample = ingested[7]!;
    const identity = sample["userIdentity"] as RawRecord;
    const cases: Array<[LookupAttributeKey, string, (r: RawRecord) => boolean]> = [
      ["EventId", sample["eventID"] as string, (r) => r["eventID"] === sample["eventID"]],
      ["EventName", sample["eventName"] as string, (r) => r["eventName"] === sample["eventName"]],
      ["EventSource", sample["eventSource"] as string, (r) => r["eventSource"] === sample["eventSource"]],
      ["ReadOnly", "false", (r) => r["readOnly"] === false],
      [
        "AccessKeyId",
        identity["accessKeyId"] as string,
        (r) => (r["userIdentity"] as RawRecord)["accessKeyId"] === identity["accessKeyId"],
      ],
    ];
    for (const [key, value, predicate] of cases) {
      const events = await lookupAll(ct, { LookupAttributes: [{ AttributeKey: key, AttributeValue: value }] });
      const ours = events.filter((e) => ingested.some((r) => r["eventID"] === e.EventId));
      assert.equal(ours.length, ingested.filter(predicate).length, `${key}=${value}`);
      for (const event of events) assert.ok(event.CloudTrailEvent, "CloudTrailEvent is present");
    }
  });

  it("filters by Username, ResourceType and ResourceName using the derived values", async () => {
    const withResource = ingested.find(
      (r) => Array.isArray(r["resources"]) && (r["resources"] as RawRecord[]).length > 0,
    );
    assert.ok(withResource, "the sample set has records with resources");
    const resource = (withResource["resources"] as RawRecord[])[0]!;
    const byType = await lookupAll(ct, {
      LookupAttributes: [{ AttributeKey: "ResourceType", AttributeValue: resource["type"] as string }],
    });
    assert.ok(byType.some((e) => e.EventId === withResource["eventID"]));
    assert.ok(byType.every((e) => (e.Resources ?? []).some((res) => res.ResourceType === resource["type"])));
    const byName = await lookupAll(ct, {
      LookupAttributes: [{ AttributeKey: "ResourceName", AttributeValue: resource["ARN"] as string }],
    });
    assert.ok(byName.some((e) => e.EventId === withResource["eventID"]));
    const first = (
      await ct.send(
        new LookupEventsCommand({
          LookupAttributes: [{ AttributeKey: "EventId", AttributeValue: withResource["eventID"] as string }],
        }),
      )
    ).Events![0]!;
    assert.ok(first.Username, "derived username present");
    const byUser = await lookupAll(ct, {
      LookupAttributes: [{ AttributeKey: "Username", AttributeValue: first.Username! }],
    });
    assert.ok(byUser.some((e) => e.EventId === withResource["eventID"]));
    assert.ok(byUser.every((e) => e.Username === first.Username));
  });

  it("honours inclusive time ranges", async () => {
    const sample = ingested[100]!;
    const at = new Date(sample["eventTime"] as string);
    const events = await lookupAll(ct, { StartTime: at, EndTime: at });
    assert.ok(events.some((e) => e.EventId === sample["eventID"]));
    assert.ok(events.every((e) => e.EventTime!.getTime() === at.getTime()));
  });

  it("answers every LookupEvents error with the modelled exception", async () => {
    const expectError = async (input: LookupEventsCommandInput, name: string): Promise<void> => {
      await assert.rejects(ct.send(new LookupEventsCommand(input)), (error: Error) => {
        assert.equal(error.name, name);
        return true;
      });
    };
    await expectError({ MaxResults: 0 }, "InvalidMaxResultsException");
    await expectError({ MaxResults: 51 }, "InvalidMaxResultsException");
    await expectError(
      { StartTime: new Date(2_000_000_000_000), EndTime: new Date(1_000_000_000_000) },
      "InvalidTimeRangeException",
    );
    await expectError(
      { LookupAttributes: [{ AttributeKey: "Bogus" as LookupAttributeKey, AttributeValue: "x" }] },
      "InvalidLookupAttributesException",
    );
    await expectError(
      { LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "x".repeat(2001) }] },
      "InvalidLookupAttributesException",
    );
    await expectError({ EventCategory: "management" as "insight" }, "InvalidEventCategoryException");
    await expectError({ NextToken: "not-a-token" }, "InvalidNextTokenException");
    const page = await ct.send(new LookupEventsCommand({ MaxResults: 5 }));
    assert.ok(page.NextToken);
    await expectError(
      {
        MaxResults: 5,
        NextToken: page.NextToken,
        LookupAttributes: [{ AttributeKey: "ReadOnly", AttributeValue: "true" }],
      },
      "InvalidNextTokenException",
    );
    const failed = await lookupAll(ct, {
      LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "LookupEvents" }],
    });
    assert.ok(
      failed.some((e) => JSON.parse(e.CloudTrailEvent!).errorCode === "InvalidMaxResultsException"),
      "refused calls are audited with errorCode",
    );
  });

  it("ANDs several lookup attributes (Cairn extension)", async () => {
    const sample = ingested[3]!;
    const events = await lookupAll(ct, {
      LookupAttributes: [
        { AttributeKey: "EventName", AttributeValue: sample["eventName"] as string },
        { AttributeKey: "EventSource", AttributeValue: sample["eventSource"] as string },
      ],
    });
    const expected = ingested.filter(
      (r) => r["eventName"] === sample["eventName"] && r["eventSource"] === sample["eventSource"],
    );
    assert.equal(events.filter((e) => ingested.some((r) => r["eventID"] === e.EventId)).length, expected.length);
  });

  it("isolates accounts and regions", async () => {
    const other = await addPrincipal(server.dataDir, { name: "outsider", accountId: "444455556666" });
    const outsider = client(server, other);
    const theirs = await lookupAll(outsider, {});
    assert.ok(!theirs.some((e) => ingested.some((r) => r["eventID"] === e.EventId)), "no events of another account");
    assert.ok(theirs.every((e) => JSON.parse(e.CloudTrailEvent!).recipientAccountId === "444455556666"));
    const denied = await sendRaw(server.url, ingestCall(recentRecords(1, { accountId: TEST_ACCOUNT_ID }), other));
    const deniedBody = denied.json() as { accepted: number; failed: Array<{ errorCode: string }> };
    assert.equal(deniedBody.accepted, 0);
    assert.equal(deniedBody.failed[0]!.errorCode, "AccessDeniedException");
    outsider.destroy();
    const western = client(server, admin, "eu-west-1");
    const west = await lookupAll(western, {});
    assert.ok(
      !west.some((e) => ingested.some((r) => r["eventID"] === e.EventId)),
      "us-east-1 events are not in eu-west-1",
    );
    western.destroy();
  });

  it("stores a re-ingested record once", async () => {
    const again = await sendRaw(server.url, ingestCall(ingested.slice(0, 10), admin));
    const body = again.json() as { accepted: number; duplicates: number };
    assert.equal(body.accepted, 10);
    assert.equal(body.duplicates, 10);
    const events = await lookupAll(ct, {
      LookupAttributes: [{ AttributeKey: "EventId", AttributeValue: ingested[0]!["eventID"] as string }],
    });
    assert.equal(events.length, 1);
  });
});
