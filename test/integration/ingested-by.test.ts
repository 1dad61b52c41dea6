import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gunzipSync } from "node:zlib";
import {
  CreateChannelCommand,
  CreateEventDataStoreCommand,
  CreateTrailCommand,
  GetImportCommand,
  StartImportCommand,
  StartLoggingCommand,
  type CloudTrailClient,
} from "@aws-sdk/client-cloudtrail";
import { GetObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { runTail } from "../../src/cli/commands/tail.js";
import { normalizeIngestedRecord } from "../../src/normalize/pipeline.js";
import { allowImportsFrom } from "../helpers/import-dirs.js";
import { pollUntil } from "../helpers/poll.js";
import { addPrincipal } from "../helpers/principals.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";
import {
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { cloudTrailCall, ingestCall, sendRaw } from "../helpers/signed-request.js";
import { ensureTrailBucket } from "../helpers/test-backend.js";
import { logFileKeysOnS3 } from "../helpers/trail-delivery.js";
import { lakeClient, queryAll } from "../lake/lake-client.js";

/**
 * Issue #11, part 1: who ingested a record is kept next to it, not in it. Two principals of one
 * account ingest through a real server; one forges a Root record of the account, as a stolen key
 * would. The Lake's cairnIngestedBy tells them apart (and names imports, PutAuditEvents and Cairn's
 * own records), `cairn tail --with-provenance` shows it, and the record itself, in LookupEvents and
 * in the delivered trail files, is exactly what was sent (after normalisation), with no trace of it.
 */

const BUCKET = "cairn-ingested-by";
const ALICE_ARN = `arn:aws:iam::${TEST_ACCOUNT_ID}:user/alice`;
const MALLORY_ARN = `arn:aws:iam::${TEST_ACCOUNT_ID}:user/mallory`;
const ROOT_ARN = `arn:aws:iam::${TEST_ACCOUNT_ID}:root`;
const ADMIN = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
/** The members of LookupEvents' Event (the CloudTrail API model). */
const EVENT_MEMBERS: ReadonlySet<string> = new Set(
  ["EventId", "EventName", "ReadOnly", "AccessKeyId", "EventTime", "EventSource", "Username", "Resources"].concat(
    "CloudTrailEvent",
  ),
);

interface Keys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** A recent management record of the account under the given identity. */
function recordAs(userIdentity: RawRecord, eventSource: string, eventName: string): RawRecord {
  return { ...recentRecords(1, { accountId: TEST_ACCOUNT_ID })[0]!, userIdentity, eventSource, eventName };
}

/** The record's JSON as Cairn stores and serves it: what the ingest rules make of what was sent. */
function normalised(record: RawRecord): string {
  const result = normalizeIngestedRecord(structuredClone(record), { receivedAtMs: Date.now() });
  assert.ok(result.ok, JSON.stringify(result));
  return result.json;
}

async function ingestAs(server: ServerProcess, keys: Keys, records: RawRecord[]): Promise<void> {
  const answer = await sendRaw(server.url, ingestCall(records, keys));
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.json()["accepted"], records.length, answer.text);
}

/** Lake rows by eventID: the requested columns, as Lake's all-strings rows. */
async function lakeRows(client: CloudTrailClient, sql: string): Promise<Map<string, Record<string, string>>> {
  const outcome = await queryAll(client, sql);
  assert.equal(outcome.status, "FINISHED", outcome.error);
  const rows = new Map<string, Record<string, string>>();
  for (const row of outcome.rows) {
    const cells = Object.assign({}, ...row) as Record<string, string>;
    rows.set(cells["eventID"]!, cells);
  }
  return rows;
}

describe("who ingested each record: next to it, never in it", () => {
  let server: ServerProcess;
  let client: CloudTrailClient;
  let alice: Keys;
  let mallory: Keys;
  let store = "";
  const importDir = makeDataDir("cairn-ingested-by-import-");
  const fromAlice = recordAs(
    { type: "IAMUser", principalId: "AIDAALICE", arn: ALICE_ARN, accountId: TEST_ACCOUNT_ID, userName: "alice" },
    "s3.amazonaws.com",
    "ListBuckets",
  );
  // Mallory's key, used to write a record that claims the account's root did it.
  const forged = recordAs(
    { type: "Root", principalId: TEST_ACCOUNT_ID, arn: ROOT_ARN, accountId: TEST_ACCOUNT_ID },
    "iam.amazonaws.com",
    "CreateAccessKey",
  );

  before(async () => {
    server = await startServerProcess({
      env: { CAIRN_DELIVERY_INTERVAL_SECONDS: "1", CAIRN_DIGEST_INTERVAL_SECONDS: "2", ...allowImportsFrom(importDir) },
    });
    client = lakeClient(server.url);
    alice = await addPrincipal(server.dataDir, { name: "alice", accountId: TEST_ACCOUNT_ID });
    mallory = await addPrincipal(server.dataDir, { name: "mallory", accountId: TEST_ACCOUNT_ID });
    // Management events, and the Ingest calls' own records: data events of the ingest endpoint.
    const created = await client.send(
      new CreateEventDataStoreCommand({
        Name: "everything",
        AdvancedEventSelectors: [
          { FieldSelectors: [{ Field: "eventCategory", Equals: ["Management"] }] },
          {
            FieldSelectors: [
              { Field: "eventCategory", Equals: ["Data"] },
              { Field: "resources.type", Equals: ["Cairn::Ingest::Endpoint"] },
            ],
          },
        ],
      }),
    );
    store = created.EventDataStoreArn!.split("/")[1]!;
    await ensureTrailBucket(server.dataDir, BUCKET);
    await client.send(new CreateTrailCommand({ Name: "audit", S3BucketName: BUCKET }));
    await client.send(new StartLoggingCommand({ Name: "audit" }));
    await ingestAs(server, alice, [fromAlice]);
    await ingestAs(server, mallory, [forged]);
  });

  after(async () => {
    client?.destroy();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
    removeDataDir(importDir);
  });

  it("tells the two principals apart in the Lake, whatever identity the record claims", async () => {
    const ids = [fromAlice["eventID"], forged["eventID"]].map((id) => `'${String(id)}'`).join(", ");
    const sql =
      `SELECT eventID, userIdentity.arn AS claimed, cairnIngestedBy.source AS source, ` +
      `cairnIngestedBy.principalArn AS principal, cairnIngestedBy.accessKeyId AS accessKey ` +
      `FROM ${store} WHERE eventID IN (${ids})`;
    const rows = await pollUntil(async () => {
      const found = await lakeRows(client, sql);
      return found.size === 2 ? found : undefined;
    });
    assert.deepEqual(rows.get(String(fromAlice["eventID"])), {
      eventID: fromAlice["eventID"],
      claimed: ALICE_ARN,
      source: "ingest",
      principal: ALICE_ARN,
      accessKey: alice.accessKeyId,
    });
    assert.deepEqual(rows.get(String(forged["eventID"])), {
      eventID: forged["eventID"],
      claimed: ROOT_ARN,
      source: "ingest",
      principal: MALLORY_ARN,
      accessKey: mallory.accessKeyId,
    });
    // The whole column, as `SELECT eventName, cairnIngestedBy FROM <store>` shows it.
    const whole = await queryAll(
      client,
      `SELECT eventName, cairnIngestedBy FROM ${store} WHERE eventID = '${String(forged["eventID"])}'`,
    );
    assert.deepEqual(whole.rows, [
      [
        { eventName: "CreateAccessKey" },
        {
          cairnIngestedBy: `{source=ingest, principalarn=${MALLORY_ARN}, accesskeyid=${mallory.accessKeyId}, channelarn=null, importid=null}`,
        },
      ],
    ]);
  });

  it("finds the forged record with the query docs/reference/lake.md gives", async () => {
    const found = await lakeRows(
      client,
      `SELECT eventID, eventName, userIdentity.arn AS claimed, cairnIngestedBy.principalArn AS principal ` +
        `FROM ${store} WHERE userIdentity.type = 'Root' AND cairnIngestedBy.principalArn <> userIdentity.arn`,
    );
    assert.deepEqual(
      [...found.values()],
      [{ eventID: forged["eventID"], eventName: "CreateAccessKey", claimed: ROOT_ARN, principal: MALLORY_ARN }],
    );
  });

  it("marks Cairn's own records of the calls as self-audit, with no caller", async () => {
    const rows = await pollUntil(async () => {
      const found = await lakeRows(
        client,
        `SELECT eventID, userIdentity.arn AS caller, cairnIngestedBy.source AS source, ` +
          `cairnIngestedBy.principalArn AS principal FROM ${store} WHERE eventName = 'Ingest'`,
      );
      return found.size >= 2 ? found : undefined;
    });
    const callers = [...rows.values()].map((row) => row["caller"]).sort();
    assert.deepEqual(callers, [ALICE_ARN, MALLORY_ARN]);
    for (const row of rows.values()) {
      assert.equal(row["source"], "self-audit");
      assert.equal(row["principal"], "");
    }
  });

  it("serves the record in LookupEvents exactly as sent, with no provenance inside", async () => {
    for (const record of [fromAlice, forged]) {
      const lookup = { LookupAttributes: [{ AttributeKey: "EventId", AttributeValue: String(record["eventID"]) }] };
      const answer = await sendRaw(server.url, cloudTrailCall("LookupEvents", lookup, ADMIN));
      assert.equal(answer.status, 200, answer.text);
      const events = answer.json()["Events"] as Array<Record<string, unknown>>;
      assert.equal(events.length, 1);
      // AWS's Event shape, member for member: nothing added next to the record either.
      for (const key of Object.keys(events[0]!)) assert.ok(EVENT_MEMBERS.has(key), `LookupEvents answers ${key}`);
      const served = String(events[0]!["CloudTrailEvent"]);
      assert.equal(served, normalised(record));
      for (const trace of [MALLORY_ARN, mallory.accessKeyId, alice.accessKeyId, "ingestedBy", "cairn"])
        assert.ok(!served.includes(trace), `LookupEvents shows ${trace}`);
    }
  });

  it("delivers the record to the trail bucket exactly as sent, with no provenance inside", async () => {
    const s3 = new S3Client({ endpoint: server.s3Url!, region: "us-east-1", credentials: ADMIN, forcePathStyle: true });
    try {
      const wanted = [normalised(fromAlice), normalised(forged)];
      const files = await pollUntil(
        async () => {
          const texts: string[] = [];
          for (const key of await logFileKeysOnS3(s3, BUCKET)) {
            const body = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
            texts.push(gunzipSync(Buffer.from(await body.Body!.transformToByteArray())).toString("utf8"));
          }
          return wanted.every((json) => texts.some((text) => text.includes(json))) ? texts : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250, message: "both records in a delivered log file" },
      );
      // Cairn's own records of the two Ingest calls name their callers, as CloudTrail's record of a
      // call does (and of the Lake queries above, their SQL); the ingested records name only whom
      // they claim.
      const ingestedIds = new Set([fromAlice["eventID"], forged["eventID"]]);
      for (const text of files) {
        for (const record of (JSON.parse(text) as { Records: RawRecord[] }).Records) {
          if (!ingestedIds.has(record["eventID"])) continue;
          const recordText = JSON.stringify(record);
          for (const trace of [MALLORY_ARN, mallory.accessKeyId, alice.accessKeyId, "ingestedBy"])
            assert.ok(!recordText.includes(trace), `an ingested record holds ${trace}`);
        }
      }
    } finally {
      s3.destroy();
    }
  });

  it("shows who ingested each record in `cairn tail --with-provenance`", async () => {
    for (const json of [false, true]) {
      let output = "";
      const controller = new AbortController();
      const tail = runTail({
        client: { endpointUrl: server.url, region: "us-east-1", credentials: { ...ADMIN, origin: "test" } },
        fromSeq: 1,
        json,
        withProvenance: true,
        stdout: { write: (text: string) => (output += text) },
        stderr: { write: () => true },
        signal: controller.signal,
      });
      try {
        const forgedId = String(forged["eventID"]);
        const line = await pollUntil(
          // In text, the forged line reads like Cairn's own records of the principals' CreateAccessKey calls
          // but for who ingested it.
          () =>
            output
              .split("\n")
              .find((candidate) =>
                json
                  ? candidate.includes(forgedId)
                  : candidate.includes("CreateAccessKey") && !candidate.endsWith("self-audit"),
              ),
          {
            message: "the forged record in the tail",
          },
        );
        if (json) {
          const expected = `{"ingestedBy":{"source":"ingest","principalArn":"${MALLORY_ARN}","accessKeyId":"${mallory.accessKeyId}"},"record":${normalised(forged)}}`;
          assert.equal(line, expected);
        } else {
          assert.ok(line.endsWith(`ingested by ${MALLORY_ARN} (${mallory.accessKeyId}, ingest)`), line);
          assert.ok(line.includes("root"), line);
        }
      } finally {
        controller.abort();
        await tail;
      }
    }
  });

  it("names the importing principal and the import in the rows an import writes", async () => {
    const imported = recordAs(
      { type: "Root", principalId: TEST_ACCOUNT_ID, arn: ROOT_ARN, accountId: TEST_ACCOUNT_ID },
      "ec2.amazonaws.com",
      "RunInstances",
    );
    const directory = join(importDir, "archive");
    mkdirSync(directory, { recursive: true });
    writeFileSync(join(directory, "imported.json"), JSON.stringify({ Records: [imported] }));
    const asAlice = lakeClient(server.url, "us-east-1", alice);
    try {
      const target = (await asAlice.send(new CreateEventDataStoreCommand({ Name: "imported" }))).EventDataStoreArn!;
      const started = await asAlice.send(
        new StartImportCommand({
          Destinations: [target],
          ImportSource: {
            S3: {
              S3LocationUri: pathToFileURL(directory).href,
              S3BucketRegion: "us-east-1",
              S3BucketAccessRoleArn: "",
            },
          },
        }),
      );
      const done = await pollUntil(
        async () => {
          const got = await asAlice.send(new GetImportCommand({ ImportId: started.ImportId }));
          return got.ImportStatus !== "INITIALIZING" && got.ImportStatus !== "IN_PROGRESS" ? got : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100, message: "the import to end" },
      );
      assert.equal(done.ImportStatus, "COMPLETED");
      assert.ok(!JSON.stringify(done).includes(alice.accessKeyId), "GetImport does not show the key");
      const rows = await lakeRows(
        asAlice,
        `SELECT eventID, eventJson, cairnIngestedBy.source AS source, cairnIngestedBy.principalArn AS principal, ` +
          `cairnIngestedBy.accessKeyId AS accessKey, cairnIngestedBy.importId AS importId ` +
          `FROM ${target.split("/")[1]!}`,
      );
      assert.deepEqual(rows.get(String(imported["eventID"])), {
        eventID: imported["eventID"],
        eventJson: normalised(imported),
        source: "import",
        principal: ALICE_ARN,
        accessKey: alice.accessKeyId,
        importId: started.ImportId,
      });
    } finally {
      asAlice.destroy();
    }
  });

  it("names the caller and the channel of PutAuditEvents", async () => {
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
    const eventData = JSON.stringify({
      version: "1.0",
      userIdentity: { type: "CustomUser", principalId: "root" },
      eventSource: "doors.example.com",
      eventName: "OpenDoor",
      eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
      UID: "door-1",
      recipientAccountId: TEST_ACCOUNT_ID,
    });
    const answer = await sendRaw(server.url, {
      ...mallory,
      service: "cloudtrail-data",
      path: "/PutAuditEvents",
      query: { channelArn: channel.ChannelArn! },
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ auditEvents: [{ id: "1", eventData }] }),
    });
    assert.equal(answer.status, 200, answer.text);
    const eventId = String((answer.json()["successful"] as Array<{ eventID: string }>)[0]!.eventID);
    const row = await pollUntil(async () =>
      (
        await lakeRows(
          client,
          `SELECT eventID, cairnIngestedBy.source AS source, cairnIngestedBy.principalArn AS principal, ` +
            `cairnIngestedBy.channelArn AS channel FROM ${activity.EventDataStoreArn!.split("/")[1]!}`,
        )
      ).get(eventId),
    );
    assert.deepEqual(row, {
      eventID: eventId,
      source: "put-audit-events",
      principal: MALLORY_ARN,
      channel: channel.ChannelArn,
    });
  });
});
