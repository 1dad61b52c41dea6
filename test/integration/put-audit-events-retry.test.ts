import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  CreateChannelCommand,
  CreateEventDataStoreCommand,
  PutResourcePolicyCommand,
  type CloudTrailClient,
} from "@aws-sdk/client-cloudtrail";
import { journalUntil } from "../helpers/journal-until.js";
import { pollUntil } from "../helpers/poll.js";
import { addPrincipal } from "../helpers/principals.js";
import type { RawRecord } from "../helpers/sample-records.js";
import {
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { sendRaw } from "../helpers/signed-request.js";
import { lakeClient, queryAll } from "../lake/lake-client.js";

/**
 * Issue #12: PutAuditEvents is idempotent. A client that re-sends a call whose answer it lost (the
 * AWS SDKs do so by themselves on timeouts and 5xx) gets the first call's answer, eventIDs included,
 * and the journal, hence the channel's stores, holds each event once; the call itself is recorded
 * each time. Through a real server, across a restart.
 */

const ADMIN = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const REGION = "us-east-1";
const PARTNER_ACCOUNT_ID = "444455556666";
const ENV = { CAIRN_LAKE_FLUSH_INTERVAL_MS: "200" };

interface Answer {
  successful: Array<{ id: string; eventID: string }>;
  failed: unknown[];
}

function eventData(uid: string): string {
  return JSON.stringify({
    version: "1.0",
    userIdentity: { type: "CustomUser", principalId: "door-admin" },
    eventSource: "doors.example.com",
    eventName: "OpenDoor",
    eventTime: "2026-11-20T10:00:00Z",
    UID: uid,
    requestParameters: { door: uid },
    recipientAccountId: TEST_ACCOUNT_ID,
  });
}

async function put(
  server: ServerProcess,
  channelArn: string,
  events: Array<[string, string]>,
  credentials = ADMIN,
): Promise<Answer> {
  const answer = await sendRaw(server.url, {
    ...credentials,
    service: "cloudtrail-data",
    path: "/PutAuditEvents",
    query: { channelArn },
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ auditEvents: events.map(([id, uid]) => ({ id, eventData: eventData(uid) })) }),
  });
  assert.equal(answer.status, 200, answer.text);
  return answer.json() as unknown as Answer;
}

const hasBoto3 = spawnSync("python3", ["-c", "import boto3"]).status === 0;
if (!hasBoto3)
  process.stderr.write("SKIPPING the boto3 cloudtrail-data retry test: python3 -c 'import boto3' fails here.\n");

/** Sends one PutAuditEvents call twice with boto3's cloudtrail-data client; returns both answers. */
function boto3Twice(url: string, channelArn: string, auditEvents: unknown[]): [Answer, Answer] {
  const script = [
    "import boto3, json, sys",
    `data = boto3.client('cloudtrail-data', endpoint_url='${url}', region_name='${REGION}',`,
    `  aws_access_key_id='${TEST_ACCESS_KEY_ID}', aws_secret_access_key='${TEST_SECRET_ACCESS_KEY}')`,
    "args = json.loads(sys.stdin.read())",
    "answers = [data.put_audit_events(**args) for _ in range(2)]",
    "print(json.dumps([{'successful': a['successful'], 'failed': a['failed']} for a in answers]))",
  ].join("\n");
  const run = spawnSync("python3", ["-c", script], {
    input: JSON.stringify({ channelArn, auditEvents }),
    encoding: "utf8",
    timeout: 60_000,
  });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as [Answer, Answer];
}

const calls = (records: RawRecord[]): RawRecord[] => records.filter((r) => r["eventName"] === "PutAuditEvents");

/** The audit events in the journal as [channel, UID, eventID], sorted. */
function stored(records: RawRecord[]): string[][] {
  return records
    .filter((record) => record["eventCategory"] === "ActivityAuditLog")
    .map((record) => {
      const metadata = record["metadata"] as { channelARN: string };
      const data = record["eventData"] as { UID: string };
      return [metadata.channelARN, data.UID, String(record["eventID"])];
    })
    .sort((a, b) => a.join().localeCompare(b.join()));
}

describe("a retried PutAuditEvents stores each event once (issue #12)", () => {
  const dataDir = makeDataDir("cairn-pae-retry-");
  let server: ServerProcess;
  let client: CloudTrailClient;
  let store = "";
  let doors = "";
  let gates = "";
  let first: Answer;
  let expected: string[][] = [];

  before(async () => {
    server = await startServerProcess({ dataDir, env: ENV });
    client = lakeClient(server.url);
    const activity = await client.send(
      new CreateEventDataStoreCommand({
        Name: "activity",
        AdvancedEventSelectors: [{ FieldSelectors: [{ Field: "eventCategory", Equals: ["ActivityAuditLog"] }] }],
      }),
    );
    store = activity.EventDataStoreArn!.split("/")[1]!;
    const destinations = [{ Type: "EVENT_DATA_STORE" as const, Location: activity.EventDataStoreArn! }];
    for (const name of ["doors", "gates"]) {
      const channel = await client.send(
        new CreateChannelCommand({ Name: name, Source: "Custom", Destinations: destinations }),
      );
      if (name === "doors") doors = channel.ChannelArn!;
      else gates = channel.ChannelArn!;
    }
  });

  after(async () => {
    client?.destroy();
    await server?.stop();
    removeDataDir(dataDir);
  });

  it("answers a re-sent call with the first answer and journals its events once", async () => {
    const request: Array<[string, string]> = [
      ["a", "uid-1"],
      ["b", "uid-2"],
    ];
    // Every call first, so the next tests look at the same journal whatever this one finds.
    first = await put(server, doors, request);
    const retry = await put(server, doors, request);
    // A later call with one known UID and one new: only the new one is a new event.
    const third = await put(server, doors, [
      ["x", "uid-1"],
      ["y", "uid-3"],
    ]);
    // The same UID through another channel is another event.
    const gate = (await put(server, gates, [["a", "uid-1"]])).successful[0]!.eventID;

    assert.deepEqual(retry, first);
    assert.deepEqual(
      first.successful.map((s) => s.id),
      ["a", "b"],
    );
    const [one, two] = first.successful.map((s) => s.eventID);
    assert.notEqual(one, two);
    assert.equal(third.successful[0]!.eventID, one);
    const three = third.successful[1]!.eventID;
    assert.ok(![one, two].includes(three));
    assert.ok(![one, two, three].includes(gate));
    expected = [
      [doors, "uid-1", one!],
      [doors, "uid-2", two!],
      [doors, "uid-3", three],
      [gates, "uid-1", gate],
    ].sort((a, b) => a.join().localeCompare(b.join()));

    // The 4th call's record is in the group of its events, after everything before it.
    const journal = await journalUntil(server, ADMIN, (records) => calls(records).length >= 4);
    assert.equal(calls(journal).length, 4, "each call is recorded, retries included");
    assert.deepEqual(stored(journal), expected);
  });

  it("holds each event once in the channel's event data store", async () => {
    const sql = `SELECT metadata.channelArn AS channel, eventData.uid AS uid, eventID FROM ${store}`;
    const pairs = [`${doors} uid-1`, `${doors} uid-2`, `${doors} uid-3`, `${gates} uid-1`];
    // The gates event was journaled last: once it is queryable, so is everything before it.
    const rows = await pollUntil(
      async () => {
        const outcome = await queryAll(client, sql);
        assert.equal(outcome.status, "FINISHED", outcome.error);
        const found = outcome.rows.map((row) => [row[0]!["channel"]!, row[1]!["uid"]!, row[2]!["eventID"]!]);
        return found.some(([channel]) => channel === gates) ? found : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: "the audit events to be queryable" },
    );
    assert.deepEqual(rows.map(([channel, uid]) => `${channel} ${uid}`).sort(), pairs.sort());
    assert.deepEqual(
      rows.sort((a, b) => a.join().localeCompare(b.join())),
      expected,
    );
  });

  it("still answers a retry as the first call after a restart, storing nothing again", async () => {
    await server.stop();
    client.destroy();
    server = await startServerProcess({ dataDir, env: ENV });
    client = lakeClient(server.url);
    const retry = await put(server, doors, [
      ["a", "uid-1"],
      ["b", "uid-2"],
    ]);
    assert.deepEqual(retry, first);
    const journal = await journalUntil(server, ADMIN, (records) => calls(records).length >= 5);
    assert.equal(calls(journal).length, 5);
    assert.deepEqual(stored(journal), expected);
  });
  it(
    "gives boto3's cloudtrail-data client the same answer twice, storing the event once",
    { skip: !hasBoto3 },
    async () => {
      const [answer, again] = boto3Twice(server.url, doors, [{ id: "d", eventData: eventData("uid-4") }]);
      assert.deepEqual(again, answer);
      assert.equal(answer.successful.length, 1, JSON.stringify(answer));
      const journal = await journalUntil(server, ADMIN, (records) => calls(records).length >= 7);
      assert.equal(calls(journal).length, 7);
      const withNew = [...expected, [doors, "uid-4", answer.successful[0]!.eventID]];
      assert.deepEqual(
        stored(journal),
        withNew.sort((a, b) => a.join().localeCompare(b.join())),
      );
    },
  );
  it("keeps apart the events of another account the channel lets in, whatever their UIDs", async () => {
    const partner = await addPrincipal(dataDir, { name: "partner", accountId: PARTNER_ACCOUNT_ID });
    const policy = {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: [PARTNER_ACCOUNT_ID] },
          Action: "cloudtrail-data:PutAuditEvents",
          Resource: doors,
        },
      ],
    };
    await client.send(new PutResourcePolicyCommand({ ResourceArn: doors, ResourcePolicy: JSON.stringify(policy) }));
    const theirs = await put(server, doors, [["p", "uid-1"]], partner);
    assert.deepEqual(await put(server, doors, [["p", "uid-1"]], partner), theirs);
    const partnerEvent = theirs.successful[0]!.eventID;
    assert.notEqual(partnerEvent, first.successful[0]!.eventID);
    // The owner's call comes last: once its event is in the journal, so is everything before it.
    const last = (await put(server, doors, [["o", "uid-5"]])).successful[0]!.eventID;
    const journal = await journalUntil(server, ADMIN, (records) => stored(records).some(([, , id]) => id === last));
    assert.deepEqual(
      stored(journal)
        .filter(([channel, uid]) => channel === doors && uid === "uid-1")
        .map(([, , id]) => id)
        .sort(),
      [first.successful[0]!.eventID, partnerEvent].sort(),
    );
  });
});
