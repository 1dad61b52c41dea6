import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  CreateChannelCommand,
  CreateEventDataStoreCommand,
  DeleteChannelCommand,
  DeleteEventDataStoreCommand,
  DeleteResourcePolicyCommand,
  GetChannelCommand,
  GetResourcePolicyCommand,
  ListChannelsCommand,
  PutResourcePolicyCommand,
  StopEventDataStoreIngestionCommand,
  UpdateChannelCommand,
  LookupEventsCommand,
  type CloudTrailClient,
} from "@aws-sdk/client-cloudtrail";
import {
  startServerProcess,
  removeDataDir,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { lakeClient, queryAll, refuses } from "../lake/lake-client.js";
import { pollUntil } from "../helpers/poll.js";

const ACTIVITY = [{ FieldSelectors: [{ Field: "eventCategory", Equals: ["ActivityAuditLog"] }] }];

/** Runs a Python snippet with boto3's cloudtrail-data client bound to `data`; returns its JSON output. */
function boto3(url: string, body: string): unknown {
  const script = [
    "import boto3, json, sys, hashlib, base64",
    "from botocore.exceptions import ClientError",
    `data = boto3.client('cloudtrail-data', endpoint_url='${url}', region_name='us-east-1',`,
    `  aws_access_key_id='${TEST_ACCESS_KEY_ID}', aws_secret_access_key='${TEST_SECRET_ACCESS_KEY}')`,
    body,
  ].join("\n");
  const run = spawnSync("python3", ["-c", script], { encoding: "utf8", timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as unknown;
}

const hasBoto3 = spawnSync("python3", ["-c", "import boto3"]).status === 0;
if (!hasBoto3) process.stderr.write("SKIPPING boto3 cloudtrail-data tests: python3 -c 'import boto3' fails here.\n");

function eventData(uid: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: "1.0",
    userIdentity: { type: "CustomUser", principalId: "alice", details: { team: "red" } },
    eventSource: "myapp.example.com",
    eventName: "OpenDoor",
    eventTime: "2026-11-20T10:00:00Z",
    UID: uid,
    requestParameters: { door: "front", floor: 3 },
    recipientAccountId: TEST_ACCOUNT_ID,
    ...extra,
  });
}

describe("Lake channels and PutAuditEvents (cloudtrail-data)", () => {
  let server: ServerProcess;
  let client: CloudTrailClient;
  let auditStore = "";
  let auditStoreArn = "";
  let managementStore = "";
  let channelArn = "";
  /** Whether src/server.ts registers POST /PutAuditEvents (registerPutAuditEventsRoute). */

  before(async () => {
    server = await startServerProcess();
    client = lakeClient(server.url);
    const audit = await client.send(
      new CreateEventDataStoreCommand({
        Name: "audit",
        AdvancedEventSelectors: ACTIVITY,
        MultiRegionEnabled: false,
        TerminationProtectionEnabled: false,
      }),
    );
    auditStoreArn = audit.EventDataStoreArn!;
    auditStore = auditStoreArn.split("/")[1]!;
    const management = await client.send(new CreateEventDataStoreCommand({ Name: "mgmt" }));
    managementStore = management.EventDataStoreArn!.split("/")[1]!;
    const probe = await fetch(`${server.url}/PutAuditEvents`, { method: "POST", body: "{}" });
    assert.notEqual(probe.status, 404, "the server routes POST /PutAuditEvents");
  });

  after(async () => {
    client?.destroy();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("creates, reads, lists, updates and deletes channels with their checks", async () => {
    const destinations = (id: string) => [{ Type: "EVENT_DATA_STORE" as const, Location: id }];
    await refuses(
      client.send(
        new CreateChannelCommand({ Name: "bad", Source: "Custom", Destinations: destinations(managementStore) }),
      ),
      "InvalidEventDataStoreCategoryException",
    );
    await refuses(
      client.send(
        new CreateChannelCommand({ Name: "partner", Source: "Okta", Destinations: destinations(auditStore) }),
      ),
      "InvalidSourceException",
    );
    const created = await client.send(
      new CreateChannelCommand({ Name: "my-app", Source: "Custom", Destinations: destinations(auditStore) }),
    );
    channelArn = created.ChannelArn!;
    assert.match(channelArn, new RegExp(`^arn:aws:cloudtrail:us-east-1:${TEST_ACCOUNT_ID}:channel/[0-9a-f-]{36}$`));
    assert.deepEqual(created.Destinations, [{ Type: "EVENT_DATA_STORE", Location: auditStoreArn }]);
    await refuses(
      client.send(
        new CreateChannelCommand({ Name: "my-app", Source: "Custom", Destinations: destinations(auditStore) }),
      ),
      "ChannelAlreadyExistsException",
    );
    const got = await client.send(new GetChannelCommand({ Channel: channelArn }));
    assert.equal(got.Name, "my-app");
    assert.equal(got.Source, "Custom");
    const renamed = await client.send(new UpdateChannelCommand({ Channel: channelArn, Name: "my-app-2" }));
    assert.equal(renamed.Name, "my-app-2");
    await refuses(
      client.send(new GetChannelCommand({ Channel: "arn:aws:cloudtrail:x" })),
      "ChannelARNInvalidException",
    );
    await refuses(
      client.send(new GetChannelCommand({ Channel: "00000000-0000-4000-8000-000000000000" })),
      "ChannelNotFoundException",
    );
    await refuses(
      client.send(new DeleteEventDataStoreCommand({ EventDataStore: auditStore })),
      "ChannelExistsForEDSException",
    );
    await refuses(
      client.send(new StopEventDataStoreIngestionCommand({ EventDataStore: auditStore })),
      "InvalidEventDataStoreCategoryException",
    );
    // Quota: 25 channels per account and region.
    const extra: string[] = [];
    for (let i = 0; i < 24; i++) {
      const c = await client.send(
        new CreateChannelCommand({ Name: `extra-${i}`, Source: "Custom", Destinations: destinations(auditStore) }),
      );
      extra.push(c.ChannelArn!);
    }
    await refuses(
      client.send(
        new CreateChannelCommand({ Name: "one-too-many", Source: "Custom", Destinations: destinations(auditStore) }),
      ),
      "ChannelMaxLimitExceededException",
    );
    const page = await client.send(new ListChannelsCommand({ MaxResults: 10 }));
    assert.equal(page.Channels?.length, 10);
    assert.ok(page.NextToken);
    for (const arn of extra) await client.send(new DeleteChannelCommand({ Channel: arn }));
    const all = await client.send(new ListChannelsCommand({}));
    assert.deepEqual(all.Channels, [{ ChannelArn: channelArn, Name: "my-app-2" }]);
  });

  it("keeps a resource policy on a channel", async () => {
    const policy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { AWS: ["444455556666"] },
          Action: "cloudtrail-data:PutAuditEvents",
          Resource: channelArn,
          Condition: { StringEquals: { "cloudtrail:ExternalId": "ext-1" } },
        },
      ],
    });
    await refuses(
      client.send(new GetResourcePolicyCommand({ ResourceArn: channelArn })),
      "ResourcePolicyNotFoundException",
    );
    await client.send(new PutResourcePolicyCommand({ ResourceArn: channelArn, ResourcePolicy: policy }));
    const got = await client.send(new GetResourcePolicyCommand({ ResourceArn: channelArn }));
    assert.equal(got.ResourcePolicy, policy);
    await refuses(
      client.send(
        new PutResourcePolicyCommand({
          ResourceArn: channelArn,
          ResourcePolicy: policy.replace("PutAuditEvents", "X"),
        }),
      ),
      "ResourcePolicyNotValidException",
    );
    await client.send(new DeleteResourcePolicyCommand({ ResourceArn: channelArn }));
    await refuses(
      client.send(new GetResourcePolicyCommand({ ResourceArn: channelArn })),
      "ResourcePolicyNotFoundException",
    );
  });

  it(
    "takes audit events from boto3's cloudtrail-data client and makes them queryable",
    { skip: !hasBoto3 },
    async () => {
      const good = eventData("uid-1");
      const checksum = (await import("node:crypto")).createHash("sha256").update(good).digest("base64");
      const result = boto3(
        server.url,
        `
good = ${JSON.stringify(good)}
out = {}
r = data.put_audit_events(channelArn='${channelArn}', auditEvents=[
  {'id': 'a', 'eventData': good, 'eventDataChecksum': '${checksum}'},
  {'id': 'b', 'eventData': ${JSON.stringify(eventData("uid-2", { eventName: "CloseDoor", errorCode: null }))}},
  {'id': 'c', 'eventData': good, 'eventDataChecksum': 'AAAA'},
  {'id': 'd', 'eventData': '{"version": "1.0"}'},
  {'id': 'e', 'eventData': ${JSON.stringify(eventData("uid-3", { recipientAccountId: "999999999999" }))}},
  {'id': 'f', 'eventData': 'not json'},
])
out['ok'] = {'successful': r['successful'], 'failed': r['failed']}
def code(**kw):
  try:
    data.put_audit_events(**kw)
    return None
  except ClientError as e:
    return [e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode']]
out['dup'] = code(channelArn='${channelArn}', auditEvents=[{'id': 'x', 'eventData': good}, {'id': 'x', 'eventData': good}])
out['missing'] = code(channelArn='${channelArn.replace(/[0-9a-f]{12}$/, "000000000000")}', auditEvents=[{'id': 'x', 'eventData': good}])
out['invalid'] = code(channelArn='arn:aws:cloudtrail:us-east-1:${TEST_ACCOUNT_ID}:trail/x', auditEvents=[{'id': 'x', 'eventData': good}])
print(json.dumps(out))
`,
      ) as {
        ok: { successful: Array<{ id: string; eventID: string }>; failed: Array<{ id: string; errorCode: string }> };
        dup: unknown;
        missing: unknown;
        invalid: unknown;
      };
      assert.deepEqual(
        result.ok.successful.map((s) => s.id),
        ["a", "b"],
      );
      assert.deepEqual(
        result.ok.failed.map((f) => [f.id, f.errorCode]),
        [
          ["c", "InvalidChecksum"],
          ["d", "FieldNotFound"],
          ["e", "InvalidRecipient"],
          ["f", "InvalidData"],
        ],
      );
      assert.deepEqual(result.dup, ["DuplicatedAuditEventId", 400]);
      assert.deepEqual(result.missing, ["ChannelNotFound", 400]);
      assert.deepEqual(result.invalid, ["InvalidChannelARN", 400]);

      const sql =
        `SELECT eventData.eventName AS name, eventData.uid AS uid, eventData.userIdentity.principalId AS who, ` +
        `element_at(eventData.requestParameters, 'floor') AS floor, metadata.channelArn AS channel, eventID, eventCategory ` +
        `FROM ${auditStore} ORDER BY uid`;
      // Before pollUntil: 50 tries 200 ms apart.
      const rows = await pollUntil(
        async () => {
          const found = (await queryAll(client, sql)).rows;
          return found.length >= 2 ? found : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 200, message: "both audit events to be queryable" },
      );
      assert.deepEqual(
        rows.map((row) => row.slice(0, 5)),
        [
          [{ name: "OpenDoor" }, { uid: "uid-1" }, { who: "alice" }, { floor: "3" }, { channel: channelArn }],
          [{ name: "CloseDoor" }, { uid: "uid-2" }, { who: "alice" }, { floor: "3" }, { channel: channelArn }],
        ],
      );
      assert.deepEqual(
        rows.map((row) => row[5]!["eventID"]),
        result.ok.successful.map((s) => s.eventID),
      );
      assert.equal(rows[0]![6]!["eventCategory"], "ActivityAuditLog");
      const other = await queryAll(
        client,
        `SELECT count(*) AS n FROM ${managementStore} WHERE eventCategory = 'ActivityAuditLog'`,
      );
      assert.deepEqual(other.rows, [[{ n: "0" }]]);
      const channel = await client.send(new GetChannelCommand({ Channel: channelArn }));
      assert.equal(channel.IngestionStatus?.LatestIngestionSuccessEventID, result.ok.successful[1]!.eventID);
      // Channel events live only in their Lake stores: not in Event history (nor in trails).
      for (const { eventID } of result.ok.successful) {
        const found = await client.send(
          new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventId", AttributeValue: eventID }] }),
        );
        assert.deepEqual(found.Events, [], `channel event ${eventID} is not in Event history`);
      }
    },
  );

  it("refuses unsigned PutAuditEvents calls in rest-json shape", async () => {
    const response = await fetch(`${server.url}/PutAuditEvents?channelArn=${encodeURIComponent(channelArn)}`, {
      method: "POST",
      body: "{}",
    });
    assert.equal(response.status, 403);
    assert.equal(response.headers.get("x-amzn-errortype"), "MissingAuthenticationTokenException");
    const body = (await response.json()) as { message?: string };
    assert.ok(body.message);
  });
});
