import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  AddTagsCommand,
  CloudTrailClient,
  CreateTrailCommand,
  DeleteTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  ListTagsCommand,
  ListTrailsCommand,
  LookupEventsCommand,
  PutEventSelectorsCommand,
  RemoveTagsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  UpdateTrailCommand,
} from "@aws-sdk/client-cloudtrail";
import {
  startServerProcess,
  removeDataDir,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { ensureTrailBucket } from "../helpers/test-backend.js";
import { addPrincipal } from "../helpers/principals.js";

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const arn = (name: string, region = "us-east-1", account = TEST_ACCOUNT_ID) =>
  `arn:aws:cloudtrail:${region}:${account}:trail/${name}`;

/** Expects the SDK call to fail with the named modelled exception. */
async function refuses(call: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(call, (error: unknown) => {
    assert.ok(error instanceof Error);
    assert.equal(error.name, code, error.message);
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    assert.equal(status, 400);
    if (message !== undefined) assert.match(error.message, message);
    return true;
  });
}

describe("trails through @aws-sdk/client-cloudtrail against a real server", () => {
  let server: ServerProcess;
  let east: CloudTrailClient;
  let west: CloudTrailClient;

  before(async () => {
    server = await startServerProcess();
    await ensureTrailBucket(server.dataDir, "cairn-audit");
    const client = (region: string, credentials = admin) =>
      new CloudTrailClient({ endpoint: server.url, region, credentials, maxAttempts: 1 });
    east = client("us-east-1");
    west = client("us-west-2");
  });

  after(async () => {
    east?.destroy();
    west?.destroy();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("CreateTrail, GetTrail, DescribeTrails, ListTrails", async () => {
    const created = await east.send(
      new CreateTrailCommand({ Name: "main", S3BucketName: "cairn-audit", TagsList: [{ Key: "team", Value: "sec" }] }),
    );
    assert.equal(created.TrailARN, arn("main"));
    assert.equal(created.IncludeGlobalServiceEvents, true);
    assert.equal(created.IsMultiRegionTrail, false);
    assert.equal(created.LogFileValidationEnabled, false);
    await west.send(
      new CreateTrailCommand({ Name: "org-wide", S3BucketName: "cairn-audit", IsMultiRegionTrail: true }),
    );

    const trail = (await east.send(new GetTrailCommand({ Name: "main" }))).Trail!;
    assert.equal(trail.HomeRegion, "us-east-1");
    assert.equal(trail.HasCustomEventSelectors, false);
    assert.equal(trail.S3KeyPrefix, undefined);

    const described = await east.send(new DescribeTrailsCommand({}));
    assert.deepEqual(described.trailList!.map((t) => t.Name).sort(), ["main", "org-wide"]);
    const noShadows = await east.send(new DescribeTrailsCommand({ includeShadowTrails: false }));
    assert.deepEqual(
      noShadows.trailList!.map((t) => t.Name),
      ["main"],
    );
    const named = await west.send(new DescribeTrailsCommand({ trailNameList: [arn("main")] }));
    assert.deepEqual(
      named.trailList!.map((t) => t.Name),
      ["main"],
    );

    const listed = await west.send(new ListTrailsCommand({}));
    assert.deepEqual(listed.Trails, [
      { TrailARN: arn("main"), Name: "main", HomeRegion: "us-east-1" },
      { TrailARN: arn("org-wide", "us-west-2"), Name: "org-wide", HomeRegion: "us-west-2" },
    ]);
  });

  it("refuses what CloudTrail refuses", async () => {
    await refuses(
      east.send(new CreateTrailCommand({ Name: "main", S3BucketName: "cairn-audit" })),
      "TrailAlreadyExistsException",
    );
    await refuses(
      east.send(new CreateTrailCommand({ Name: "ab", S3BucketName: "cairn-audit" })),
      "InvalidTrailNameException",
      /too short/,
    );
    await refuses(
      east.send(
        new CreateTrailCommand({
          Name: "multi",
          S3BucketName: "cairn-audit",
          IsMultiRegionTrail: true,
          IncludeGlobalServiceEvents: false,
        }),
      ),
      "InvalidParameterCombinationException",
      /Multi-Region trail must include global service events/,
    );
    await refuses(
      east.send(new CreateTrailCommand({ Name: "bad-bucket", S3BucketName: "Bad_Bucket" })),
      "InvalidS3BucketNameException",
    );
    await refuses(
      east.send(new GetTrailCommand({ Name: "missing" })),
      "TrailNotFoundException",
      /Unknown trail: missing/,
    );
    await refuses(east.send(new GetTrailCommand({ Name: "arn:aws:cloudtrail:x" })), "CloudTrailARNInvalidException");
    await refuses(west.send(new GetTrailCommand({ Name: "main" })), "TrailNotFoundException");
    await refuses(
      east.send(new UpdateTrailCommand({ Name: "org-wide", EnableLogFileValidation: true })),
      "InvalidHomeRegionException",
    );
    await refuses(east.send(new StartLoggingCommand({ Name: "org-wide" })), "InvalidHomeRegionException");
  });

  it("allows 5 trails per region", async () => {
    for (const name of ["q-1x", "q-2x", "q-3x"])
      await east.send(new CreateTrailCommand({ Name: name, S3BucketName: "cairn-audit" }));
    await refuses(
      east.send(new CreateTrailCommand({ Name: "q-4x", S3BucketName: "cairn-audit" })),
      "MaximumNumberOfTrailsExceededException",
    );
    for (const name of ["q-1x", "q-2x", "q-3x"]) await east.send(new DeleteTrailCommand({ Name: name }));
  });

  it("UpdateTrail", async () => {
    const updated = await east.send(
      new UpdateTrailCommand({ Name: arn("main"), S3KeyPrefix: "cairn", EnableLogFileValidation: true }),
    );
    assert.equal(updated.S3KeyPrefix, "cairn");
    assert.equal(updated.LogFileValidationEnabled, true);
  });

  it("StartLogging, GetTrailStatus, StopLogging", async () => {
    const before = await east.send(new GetTrailStatusCommand({ Name: "main" }));
    assert.equal(before.IsLogging, false);
    assert.equal(before.StartLoggingTime, undefined);
    // Clients read the legacy string members: present and empty until they apply, as on AWS.
    assert.equal(before.TimeLoggingStarted, "");
    assert.equal(before.TimeLoggingStopped, "");
    assert.equal(before.LatestDeliveryAttemptTime, "");
    assert.equal(before.LatestDeliveryAttemptSucceeded, "");
    assert.equal(before.LatestNotificationAttemptTime, "");
    assert.equal(before.LatestNotificationAttemptSucceeded, "");
    await east.send(new StartLoggingCommand({ Name: "main" }));
    const started = await east.send(new GetTrailStatusCommand({ Name: "main" }));
    assert.equal(started.IsLogging, true);
    assert.ok(started.StartLoggingTime instanceof Date);
    assert.match(started.TimeLoggingStarted ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await east.send(new StopLoggingCommand({ Name: "main" }));
    const stopped = await east.send(new GetTrailStatusCommand({ Name: "main" }));
    assert.equal(stopped.IsLogging, false);
    assert.ok(stopped.StopLoggingTime instanceof Date);
    assert.match(stopped.TimeLoggingStopped ?? "", /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(stopped.TimeLoggingStarted, started.TimeLoggingStarted);
    await refuses(
      east.send(new GetTrailStatusCommand({ Name: "missing" })),
      "TrailNotFoundException",
      /trail\/missing/,
    );
  });

  it("PutEventSelectors and GetEventSelectors", async () => {
    const defaults = await east.send(new GetEventSelectorsCommand({ TrailName: "main" }));
    assert.deepEqual(defaults.EventSelectors, [
      { ReadWriteType: "All", IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] },
    ]);
    const basic = await east.send(
      new PutEventSelectorsCommand({
        TrailName: "main",
        EventSelectors: [
          {
            ReadWriteType: "WriteOnly",
            DataResources: [{ Type: "AWS::S3::Object", Values: ["arn:aws:s3:::cairn-audit/"] }],
          },
        ],
      }),
    );
    assert.equal(basic.TrailARN, arn("main"));
    assert.equal(basic.EventSelectors![0]!.ReadWriteType, "WriteOnly");
    const advanced = await east.send(
      new PutEventSelectorsCommand({
        TrailName: "main",
        AdvancedEventSelectors: [
          { Name: "mgmt", FieldSelectors: [{ Field: "eventCategory", Equals: ["Management"] }] },
        ],
      }),
    );
    assert.equal(advanced.AdvancedEventSelectors![0]!.Name, "mgmt");
    const got = await east.send(new GetEventSelectorsCommand({ TrailName: "main" }));
    assert.equal(got.EventSelectors, undefined);
    assert.deepEqual(got.AdvancedEventSelectors, advanced.AdvancedEventSelectors);
    assert.equal((await east.send(new GetTrailCommand({ Name: "main" }))).Trail!.HasCustomEventSelectors, true);
    await refuses(
      east.send(
        new PutEventSelectorsCommand({ TrailName: "main", EventSelectors: [{ ReadWriteType: "read-only" as "All" }] }),
      ),
      "InvalidEventSelectorsException",
    );
    await refuses(
      east.send(new PutEventSelectorsCommand({ TrailName: "main" })),
      "InvalidParameterCombinationException",
    );
  });

  it("AddTags, ListTags, RemoveTags", async () => {
    await east.send(new AddTagsCommand({ ResourceId: arn("main"), TagsList: [{ Key: "env", Value: "prod" }] }));
    const listed = await east.send(new ListTagsCommand({ ResourceIdList: [arn("main")] }));
    assert.deepEqual(listed.ResourceTagList, [
      {
        ResourceId: arn("main"),
        TagsList: [
          { Key: "team", Value: "sec" },
          { Key: "env", Value: "prod" },
        ],
      },
    ]);
    await east.send(new RemoveTagsCommand({ ResourceId: arn("main"), TagsList: [{ Key: "team" }] }));
    const after = await east.send(new ListTagsCommand({ ResourceIdList: [arn("main")] }));
    assert.deepEqual(after.ResourceTagList![0]!.TagsList, [{ Key: "env", Value: "prod" }]);
    await refuses(
      east.send(new AddTagsCommand({ ResourceId: arn("main"), TagsList: [{ Key: "aws:x" }] })),
      "InvalidTagParameterException",
    );
    await refuses(
      east.send(
        new AddTagsCommand({
          ResourceId: arn("main"),
          TagsList: Array.from({ length: 50 }, (_, i) => ({ Key: `k${i}`, Value: "v" })),
        }),
      ),
      "TagsLimitExceededException",
    );
    await refuses(east.send(new ListTagsCommand({ ResourceIdList: [arn("nope")] })), "ResourceNotFoundException");
    await refuses(east.send(new ListTagsCommand({ ResourceIdList: ["main"] })), "CloudTrailARNInvalidException");
  });

  it("another account sees none of these trails", async () => {
    const other = await addPrincipal(server.dataDir, { name: "other-root", accountId: "444455556666", type: "Root" });
    const client = new CloudTrailClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: other,
      maxAttempts: 1,
    });
    try {
      assert.deepEqual((await client.send(new ListTrailsCommand({}))).Trails, []);
      assert.deepEqual((await client.send(new DescribeTrailsCommand({}))).trailList, []);
      await refuses(client.send(new GetTrailCommand({ Name: arn("main") })), "TrailNotFoundException");
    } finally {
      client.destroy();
    }
  });

  it("records every call with responseElements and the trail as resource (self-audit)", async () => {
    const result = await east.send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "CreateTrail" }] }),
    );
    const records = (result.Events ?? []).map((e) => JSON.parse(e.CloudTrailEvent!) as Record<string, unknown>);
    const ok = records.find(
      (r) => r["errorCode"] === undefined && (r["requestParameters"] as Record<string, unknown>)["name"] === "main",
    );
    assert.ok(ok, "the successful CreateTrail of main is recorded");
    assert.deepEqual(ok["responseElements"], {
      name: "main",
      s3BucketName: "cairn-audit",
      includeGlobalServiceEvents: true,
      isMultiRegionTrail: false,
      trailARN: arn("main"),
      logFileValidationEnabled: false,
      isOrganizationTrail: false,
    });
    // As real CreateTrail records (invictus-sigma-aws): no `resources` member; Event history lists the trail.
    assert.equal(Object.hasOwn(ok, "resources"), false);
    const trailEvent = (result.Events ?? []).find((e) => e.EventId === ok["eventID"]);
    assert.deepEqual(trailEvent?.Resources, [{ ResourceType: "AWS::CloudTrail::Trail", ResourceName: "main" }]);
    assert.ok(records.some((r) => r["errorCode"] === "TrailAlreadyExistsException"));
  });

  it("DeleteTrail", async () => {
    await east.send(new DeleteTrailCommand({ Name: "main" }));
    await west.send(new DeleteTrailCommand({ Name: "org-wide" }));
    await refuses(east.send(new GetTrailCommand({ Name: "main" })), "TrailNotFoundException");
    assert.deepEqual((await east.send(new ListTrailsCommand({}))).Trails, []);
  });
});
