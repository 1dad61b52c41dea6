import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import {
  CreateChannelCommand,
  CreateEventDataStoreCommand,
  CreateTrailCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  type AdvancedEventSelector,
  type CloudTrailClient,
} from "@aws-sdk/client-cloudtrail";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { journalUntil } from "../helpers/journal-until.js";
import { pollUntil } from "../helpers/poll.js";
import { addPrincipal } from "../helpers/principals.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";
import {
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { ensureTrailBucket } from "../helpers/test-backend.js";
import { cloudTrailCall, ingestCall, sendRaw, type RawRequest } from "../helpers/signed-request.js";
import { logFileKeysOnS3 } from "../helpers/trail-delivery.js";
import { lakeClient, queryAll } from "../lake/lake-client.js";

/**
 * Issue #12 item 4: plumbing is not activity. Through a real server: a batch delivered to /ingest,
 * a /tail read, a /quarantine page and a PutAuditEvents call are recorded as data events of their
 * endpoint (or channel), so Event history and a management-events trail or store do not hold them,
 * while a trail and a Lake store whose advanced selectors ask for them do. A refused ingest stays a
 * management event, in Event history.
 */

const ADMIN = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const REGION = "us-east-1";
const MANAGEMENT_BUCKET = "cairn-plumbing-management";
const PLUMBING_BUCKET = "cairn-plumbing-data";
const endpointArn = (name: string): string => `arn:aws:cloudtrail:${REGION}:${TEST_ACCOUNT_ID}:cairn-endpoint/${name}`;

/** One advanced selector per kind of plumbing, as docs/reference/ingest-rules.md shows them. */
const PLUMBING_SELECTORS: AdvancedEventSelector[] = [
  "Cairn::Ingest::Endpoint",
  "Cairn::Tail::Endpoint",
  "Cairn::Quarantine::Endpoint",
  "AWS::CloudTrail::Channel",
].map((type) => ({
  Name: type,
  FieldSelectors: [
    { Field: "eventCategory", Equals: ["Data"] },
    { Field: "resources.type", Equals: [type] },
  ],
}));

async function lookup(server: ServerProcess, eventName: string): Promise<RawRecord[]> {
  const attributes = { LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: eventName }] };
  const answer = await sendRaw(server.url, cloudTrailCall("LookupEvents", attributes, ADMIN));
  assert.equal(answer.status, 200, answer.text);
  const events = answer.json()["Events"] as Array<{ CloudTrailEvent: string }>;
  return events.map((event) => JSON.parse(event.CloudTrailEvent) as RawRecord);
}

/** Every record of every log file delivered to `bucket`. */
async function delivered(s3: S3Client, bucket: string): Promise<RawRecord[]> {
  const records: RawRecord[] = [];
  for (const key of await logFileKeysOnS3(s3, bucket)) {
    const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = gunzipSync(Buffer.from(await body.Body!.transformToByteArray())).toString("utf8");
    records.push(...(JSON.parse(text) as { Records: RawRecord[] }).Records);
  }
  return records;
}

async function lakeRecords(client: CloudTrailClient, store: string): Promise<Array<Record<string, string>>> {
  const outcome = await queryAll(client, `SELECT eventID, eventName, eventCategory, errorCode FROM ${store}`);
  assert.equal(outcome.status, "FINISHED", outcome.error);
  return outcome.rows.map((row) => Object.assign({}, ...row) as Record<string, string>);
}

const named = (records: RawRecord[], eventName: string): RawRecord[] =>
  records.filter((record) => record["eventName"] === eventName);

describe("plumbing is not activity: /ingest, /tail, /quarantine and PutAuditEvents are data events", () => {
  let server: ServerProcess;
  let client: CloudTrailClient;
  let s3: S3Client;
  let plumbingStore = "";
  let managementStore = "";
  let channelArn = "";
  const ingested = recentRecords(1, { accountId: TEST_ACCOUNT_ID })[0]!;
  let journal: RawRecord[] = [];

  before(async () => {
    server = await startServerProcess({
      env: { CAIRN_DELIVERY_INTERVAL_SECONDS: "1", CAIRN_LAKE_FLUSH_INTERVAL_MS: "200" },
    });
    client = lakeClient(server.url);
    s3 = new S3Client({ endpoint: server.s3Url!, region: REGION, credentials: ADMIN, forcePathStyle: true });
    for (const bucket of [MANAGEMENT_BUCKET, PLUMBING_BUCKET]) await ensureTrailBucket(server.dataDir, bucket);
    await client.send(new CreateTrailCommand({ Name: "management", S3BucketName: MANAGEMENT_BUCKET }));
    await client.send(new CreateTrailCommand({ Name: "plumbing", S3BucketName: PLUMBING_BUCKET }));
    await client.send(
      new PutEventSelectorsCommand({ TrailName: "plumbing", AdvancedEventSelectors: PLUMBING_SELECTORS }),
    );
    for (const name of ["management", "plumbing"]) await client.send(new StartLoggingCommand({ Name: name }));
    const plumbing = await client.send(
      new CreateEventDataStoreCommand({ Name: "plumbing", AdvancedEventSelectors: PLUMBING_SELECTORS }),
    );
    plumbingStore = plumbing.EventDataStoreArn!.split("/")[1]!;
    const management = await client.send(new CreateEventDataStoreCommand({ Name: "management" }));
    managementStore = management.EventDataStoreArn!.split("/")[1]!;
    const activity = await client.send(
      new CreateEventDataStoreCommand({
        Name: "activity",
        AdvancedEventSelectors: [{ FieldSelectors: [{ Field: "eventCategory", Equals: ["ActivityAuditLog"] }] }],
      }),
    );
    const channel = await client.send(
      new CreateChannelCommand({
        Name: "doors",
        Source: "Custom",
        Destinations: [{ Type: "EVENT_DATA_STORE", Location: activity.EventDataStoreArn! }],
      }),
    );
    channelArn = channel.ChannelArn!;
    await makePlumbingCalls();
  });

  /** The calls, in this order: the refused ingest last, so a trail that delivered it has passed the rest. */
  async function makePlumbingCalls(): Promise<void> {
    const accepted = await sendRaw(server.url, ingestCall([ingested], ADMIN));
    assert.equal(accepted.status, 200, accepted.text);
    const tail: RawRequest = { ...ADMIN, method: "GET", path: "/tail", headersOnly: true };
    assert.equal((await sendRaw(server.url, tail)).status, 200);
    const quarantine = await sendRaw(server.url, { ...ADMIN, method: "GET", path: "/quarantine" });
    assert.equal(quarantine.status, 200, quarantine.text);
    const put = await sendRaw(server.url, putAuditEvents(channelArn));
    assert.equal(put.status, 200, put.text);
    assert.equal((put.json()["successful"] as unknown[]).length, 1, put.text);
    const reader = await addPrincipal(server.dataDir, {
      name: "reader",
      accountId: TEST_ACCOUNT_ID,
      policyArns: ["arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess"],
    });
    const refused = await sendRaw(server.url, ingestCall([ingested], reader));
    assert.equal(refused.status, 403, refused.text);
  }

  after(async () => {
    client?.destroy();
    s3?.destroy();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("records each successful plumbing call as a data event naming what it touched", async () => {
    journal = await journalUntil(server, ADMIN, (records) => named(records, "Ingest").length === 2);
    const [ingest, refusedIngest] = named(journal, "Ingest");
    assert.equal(ingest!["eventCategory"], "Data");
    assert.equal(ingest!["managementEvent"], false);
    assert.equal(ingest!["readOnly"], false);
    assert.deepEqual(ingest!["resources"], [
      { accountId: TEST_ACCOUNT_ID, type: "Cairn::Ingest::Endpoint", ARN: endpointArn("ingest") },
    ]);
    assert.deepEqual(ingest!["responseElements"], { accepted: 1, failed: 0 });
    for (const [eventName, type, name] of [
      ["Tail", "Cairn::Tail::Endpoint", "tail"],
      ["ListQuarantinedRecords", "Cairn::Quarantine::Endpoint", "quarantine"],
    ] as const) {
      const [record] = named(journal, eventName);
      assert.ok(record, `no ${eventName} record`);
      assert.equal(record["eventCategory"], "Data");
      assert.equal(record["managementEvent"], false);
      assert.equal(record["readOnly"], true);
      assert.deepEqual(record["resources"], [{ accountId: TEST_ACCOUNT_ID, type, ARN: endpointArn(name) }]);
    }
    // The refusal is a management event, named after the caller it refused.
    assert.equal(refusedIngest!["errorCode"], "AccessDenied");
    assert.equal(refusedIngest!["eventCategory"], "Management");
    assert.equal(refusedIngest!["managementEvent"], true);
    assert.equal(refusedIngest!["resources"], undefined);
  });

  it("records PutAuditEvents as a cloudtrail-data data event of the channel, its events redacted", () => {
    const [put] = named(journal, "PutAuditEvents");
    assert.ok(put, "no PutAuditEvents record");
    assert.equal(put["eventSource"], "cloudtrail-data.amazonaws.com");
    assert.equal(put["eventCategory"], "Data");
    assert.equal(put["managementEvent"], false);
    assert.deepEqual(put["resources"], [
      { accountId: TEST_ACCOUNT_ID, type: "AWS::CloudTrail::Channel", ARN: channelArn },
    ]);
    assert.deepEqual(put["requestParameters"], { channelArn, auditEventCount: 1 });
    const activity = journal.find((record) => record["eventCategory"] === "ActivityAuditLog");
    const eventData = activity?.["eventData"] as { requestParameters: Record<string, unknown> } | undefined;
    assert.deepEqual(eventData?.requestParameters, { doorId: "front", password: "****" });
  });

  it("keeps them out of Event history, which still shows the refused ingest", async () => {
    const ingests = await lookup(server, "Ingest");
    assert.deepEqual(
      ingests.map((record) => record["errorCode"]),
      ["AccessDenied"],
      "Event history holds the refusal only",
    );
    for (const eventName of ["Tail", "ListQuarantinedRecords", "PutAuditEvents"])
      assert.deepEqual(await lookup(server, eventName), [], `${eventName} in Event history`);
  });

  it("delivers them to a trail that selects them, not to the management-events trail", async () => {
    const wanted = ["Ingest", "Tail", "ListQuarantinedRecords", "PutAuditEvents"];
    const plumbing = await pollUntil(
      async () => {
        const records = await delivered(s3, PLUMBING_BUCKET);
        return wanted.every((name) => named(records, name).length > 0) ? records : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: "the plumbing events in the plumbing trail's files" },
    );
    for (const record of plumbing) assert.equal(record["eventCategory"], "Data", JSON.stringify(record));
    // The refused ingest was the last call: once it is delivered, everything before it was passed over.
    const management = await pollUntil(
      async () => {
        const records = await delivered(s3, MANAGEMENT_BUCKET);
        return named(records, "Ingest").some((record) => record["errorCode"] === "AccessDenied") ? records : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: "the refused ingest in the management trail's files" },
    );
    for (const name of wanted)
      for (const record of named(management, name))
        assert.equal(record["errorCode"], "AccessDenied", `${name} delivered to the management trail`);
    assert.ok(named(management, "CreateChannel").length > 0, "the management trail holds the API calls");
  });

  it("stores them in a Lake store that selects them, not in a management-events store", async () => {
    const plumbingRows = await pollUntil(async () => {
      const rows = await lakeRecords(client, plumbingStore);
      return rows.some((row) => row["eventName"] === "PutAuditEvents") ? rows : undefined;
    });
    // The tails this test reads the journal with are plumbing too: each name at least once.
    assert.deepEqual([...new Set(plumbingRows.map((row) => row["eventName"]))].sort(), [
      "Ingest",
      "ListQuarantinedRecords",
      "PutAuditEvents",
      "Tail",
    ]);
    for (const row of plumbingRows) assert.equal(row["eventCategory"], "Data");
    const managementRows = await pollUntil(async () => {
      const rows = await lakeRecords(client, managementStore);
      return rows.some((row) => row["eventName"] === "Ingest") ? rows : undefined;
    });
    assert.deepEqual(
      managementRows.filter((row) => row["eventName"] === "Ingest").map((row) => row["errorCode"]),
      ["AccessDenied"],
    );
    for (const name of ["Tail", "ListQuarantinedRecords", "PutAuditEvents"])
      assert.ok(!managementRows.some((row) => row["eventName"] === name), `${name} in the management store`);
  });
});

function putAuditEvents(channelArn: string): RawRequest {
  const eventData = JSON.stringify({
    version: "1.0",
    userIdentity: { type: "CustomUser", principalId: "door-admin" },
    eventSource: "doors.example.com",
    eventName: "OpenDoor",
    eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    UID: "door-1",
    requestParameters: { doorId: "front", password: "hunter2" },
    recipientAccountId: TEST_ACCOUNT_ID,
  });
  return {
    ...ADMIN,
    service: "cloudtrail-data",
    path: "/PutAuditEvents",
    query: { channelArn },
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ auditEvents: [{ id: "1", eventData }] }),
  };
}
