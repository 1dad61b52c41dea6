import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ACCOUNT, NOW_MS, openHarness, type Harness } from "./harness.js";

const arn = (name: string, region = "us-east-1") => `arn:aws:cloudtrail:${region}:${ACCOUNT}:trail/${name}`;

describe("StartLogging, StopLogging, GetTrailStatus", () => {
  let h: Harness;
  before(async () => {
    h = openHarness();
    await h.call("CreateTrail", { Name: "logs", S3BucketName: "logs-a", EnableLogFileValidation: true });
  });
  after(() => h.close());

  it("a never-started trail reports IsLogging false and the legacy members as empty strings", async () => {
    const status = await h.call("GetTrailStatus", { Name: "logs" });
    assert.deepEqual(status.output, {
      IsLogging: false,
      LatestDeliveryAttemptTime: "",
      LatestNotificationAttemptTime: "",
      LatestNotificationAttemptSucceeded: "",
      LatestDeliveryAttemptSucceeded: "",
      TimeLoggingStarted: "",
      TimeLoggingStopped: "",
    });
    await h.refuses(
      "GetTrailStatus",
      { Name: "nope" },
      "TrailNotFoundException",
      `Unknown trail: ${arn("nope")} for the user: ${ACCOUNT}`,
    );
  });

  it("StartLogging delivers from the record after the journal head; a second start changes nothing", async () => {
    h.head = 41;
    const result = await h.call("StartLogging", { Name: "logs" });
    assert.deepEqual(result.output, {});
    assert.equal(result.responseElements, null);
    assert.deepEqual(result.resources, [{ accountId: ACCOUNT, type: "AWS::CloudTrail::Trail", ARN: arn("logs") }]);
    let trail = (await h.trails.get(ACCOUNT, "logs"))!;
    assert.equal(trail.isLogging, true);
    assert.equal(trail.deliverFromSeq, 42);
    assert.equal(trail.startLoggingTimeMs, NOW_MS);
    h.head = 99;
    await h.call("StartLogging", { Name: arn("logs") });
    trail = (await h.trails.get(ACCOUNT, "logs"))!;
    assert.equal(trail.deliverFromSeq, 42);
  });

  it("GetTrailStatus shows delivery status as epoch seconds plus the legacy strings", async () => {
    await h.trails.updateStatus(arn("logs"), {
      latestDeliveryTimeMs: Date.parse("2024-05-01T12:05:00.500Z"),
      latestDeliveryAttemptTimeMs: Date.parse("2024-05-01T12:06:00Z"),
      latestDeliveryError: "AccessDenied",
      latestDigestDeliveryTimeMs: Date.parse("2024-05-01T13:00:00Z"),
    });
    const status = await h.call("GetTrailStatus", { Name: "logs" });
    assert.deepEqual(status.output, {
      IsLogging: true,
      LatestDeliveryError: "AccessDenied",
      LatestDeliveryTime: Date.parse("2024-05-01T12:05:00.500Z") / 1000,
      StartLoggingTime: NOW_MS / 1000,
      LatestDigestDeliveryTime: Date.parse("2024-05-01T13:00:00Z") / 1000,
      LatestDeliveryAttemptTime: "2024-05-01T12:06:00Z",
      LatestNotificationAttemptTime: "",
      LatestNotificationAttemptSucceeded: "",
      LatestDeliveryAttemptSucceeded: "2024-05-01T12:05:00Z",
      TimeLoggingStarted: "2024-05-01T12:00:00Z",
      TimeLoggingStopped: "",
    });
  });

  it("StopLogging stops and records the time", async () => {
    await h.call("StopLogging", { Name: "logs" });
    const status = await h.call("GetTrailStatus", { Name: "logs" });
    assert.equal(status.output["IsLogging"], false);
    assert.equal(status.output["StopLoggingTime"], NOW_MS / 1000);
    assert.equal(status.output["TimeLoggingStopped"], "2024-05-01T12:00:00Z");
    h.head = 500;
    await h.call("StartLogging", { Name: "logs" });
    assert.equal((await h.trails.get(ACCOUNT, "logs"))?.deliverFromSeq, 501, "a restart delivers from the new head");
  });
});

describe("PutEventSelectors and GetEventSelectors", () => {
  let h: Harness;
  before(async () => {
    h = openHarness();
    await h.call("CreateTrail", { Name: "sel", S3BucketName: "logs-a" });
  });
  after(() => h.close());

  it("a new trail has the default selector", async () => {
    const result = await h.call("GetEventSelectors", { TrailName: "sel" });
    assert.deepEqual(result.output, {
      TrailARN: arn("sel"),
      EventSelectors: [
        { ReadWriteType: "All", IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] },
      ],
    });
  });

  it("needs exactly one of the two kinds", async () => {
    await h.refuses("PutEventSelectors", { TrailName: "sel" }, "InvalidParameterCombinationException");
    await h.refuses(
      "PutEventSelectors",
      {
        TrailName: "sel",
        EventSelectors: [{}],
        AdvancedEventSelectors: [{ FieldSelectors: [{ Field: "eventCategory", Equals: ["Management"] }] }],
      },
      "InvalidParameterCombinationException",
    );
  });

  it("stores basic selectors with defaults filled in and echoes them", async () => {
    const selectors = [
      { ReadWriteType: "WriteOnly", DataResources: [{ Type: "AWS::S3::Object", Values: ["arn:aws:s3:::logs-a/"] }] },
    ];
    const result = await h.call("PutEventSelectors", { TrailName: "sel", EventSelectors: selectors });
    const expected = [
      {
        ReadWriteType: "WriteOnly",
        IncludeManagementEvents: true,
        DataResources: [{ Type: "AWS::S3::Object", Values: ["arn:aws:s3:::logs-a/"] }],
        ExcludeManagementEventSources: [],
      },
    ];
    assert.deepEqual(result.output, { TrailARN: arn("sel"), EventSelectors: expected });
    assert.deepEqual(result.responseElements, {
      trailARN: arn("sel"),
      eventSelectors: [
        {
          readWriteType: "WriteOnly",
          includeManagementEvents: true,
          dataResources: [{ type: "AWS::S3::Object", values: ["arn:aws:s3:::logs-a/"] }],
          excludeManagementEventSources: [],
        },
      ],
    });
    assert.deepEqual((await h.call("GetEventSelectors", { TrailName: arn("sel") })).output, result.output);
    const trail = (await h.call("GetTrail", { Name: "sel" })).output["Trail"] as Record<string, unknown>;
    assert.equal(trail["HasCustomEventSelectors"], true);
  });

  it("advanced selectors replace basic ones (and the other way round)", async () => {
    const advanced = [
      {
        Name: "writes",
        FieldSelectors: [
          { Field: "eventCategory", Equals: ["Management"] },
          { Field: "readOnly", Equals: ["false"] },
        ],
      },
    ];
    const result = await h.call("PutEventSelectors", { TrailName: "sel", AdvancedEventSelectors: advanced });
    assert.deepEqual(result.output, { TrailARN: arn("sel"), AdvancedEventSelectors: advanced });
    assert.deepEqual((await h.call("GetEventSelectors", { TrailName: "sel" })).output, result.output);
    assert.equal((await h.trails.get(ACCOUNT, "sel"))?.eventSelectors, undefined);
    await h.call("PutEventSelectors", { TrailName: "sel", EventSelectors: [{}] });
    const stored = (await h.trails.get(ACCOUNT, "sel"))!;
    assert.equal(stored.advancedEventSelectors, undefined);
    assert.equal(stored.hasCustomEventSelectors, false, "the default selector is not custom");
  });

  it("answers InvalidEventSelectorsException with the reason", async () => {
    await h.refuses(
      "PutEventSelectors",
      { TrailName: "sel", EventSelectors: [{ ReadWriteType: "read-only" }] },
      "InvalidEventSelectorsException",
      /ReadWriteType "read-only" is not valid/,
    );
    await h.refuses(
      "PutEventSelectors",
      { TrailName: "sel", AdvancedEventSelectors: [{ FieldSelectors: [{ Field: "readOnly", Equals: ["true"] }] }] },
      "InvalidEventSelectorsException",
      /eventCategory/,
    );
    await h.refuses("PutEventSelectors", { TrailName: "sel", EventSelectors: {} }, "SerializationException");
    await h.refuses("PutEventSelectors", { TrailName: "nope", EventSelectors: [{}] }, "TrailNotFoundException");
  });
});

describe("AddTags, ListTags, RemoveTags", () => {
  let h: Harness;
  before(async () => {
    h = openHarness();
    await h.call("CreateTrail", { Name: "tagged", S3BucketName: "logs-a", TagsList: [{ Key: "team", Value: "sec" }] });
    await h.call("CreateTrail", { Name: "plain", S3BucketName: "logs-a" });
  });
  after(() => h.close());

  it("adds (overwriting same keys), lists and removes by key", async () => {
    const added = await h.call("AddTags", {
      ResourceId: arn("tagged"),
      TagsList: [{ Key: "team", Value: "platform" }, { Key: "env" }],
    });
    assert.deepEqual(added.output, {});
    const listed = await h.call("ListTags", { ResourceIdList: [arn("tagged"), arn("plain")] });
    assert.deepEqual(listed.output, {
      ResourceTagList: [
        { ResourceId: arn("tagged"), TagsList: [{ Key: "team", Value: "platform" }, { Key: "env" }] },
        { ResourceId: arn("plain"), TagsList: [] },
      ],
    });
    await h.call("RemoveTags", { ResourceId: arn("tagged"), TagsList: [{ Key: "team" }, { Key: "absent" }] });
    const after = await h.call("ListTags", { ResourceIdList: [arn("tagged")] });
    assert.deepEqual(after.output["ResourceTagList"], [{ ResourceId: arn("tagged"), TagsList: [{ Key: "env" }] }]);
  });

  it("allows 50 tags, not 51", async () => {
    const tags = (from: number, count: number) =>
      Array.from({ length: count }, (_, i) => ({ Key: `k${from + i}`, Value: "v" }));
    await h.call("AddTags", { ResourceId: arn("plain"), TagsList: tags(0, 50) });
    await h.refuses("AddTags", { ResourceId: arn("plain"), TagsList: tags(50, 1) }, "TagsLimitExceededException");
    await h.call("AddTags", { ResourceId: arn("plain"), TagsList: tags(0, 1) });
    await h.refuses(
      "CreateTrail",
      { Name: "many", S3BucketName: "logs-a", TagsList: tags(0, 51) },
      "TagsLimitExceededException",
    );
  });

  it("refuses bad keys and values", async () => {
    for (const tag of [
      { Key: "" },
      { Key: "k".repeat(129) },
      { Key: "aws:owner" },
      { Key: "bad*key" },
      { Key: "ok", Value: "v".repeat(257) },
    ]) {
      await h.refuses("AddTags", { ResourceId: arn("tagged"), TagsList: [tag] }, "InvalidTagParameterException");
    }
    await h.refuses(
      "AddTags",
      { ResourceId: arn("tagged"), TagsList: [{ Key: "a" }, { Key: "a" }] },
      "InvalidTagParameterException",
      /more than once/,
    );
  });

  it("refuses unknown, malformed and untaggable resources, and too many ids", async () => {
    await h.refuses("AddTags", { ResourceId: arn("nope"), TagsList: [{ Key: "a" }] }, "ResourceNotFoundException");
    await h.refuses("ListTags", { ResourceIdList: ["tagged"] }, "CloudTrailARNInvalidException");
    await h.refuses(
      "ListTags",
      { ResourceIdList: [`arn:aws:cloudtrail:us-east-1:${ACCOUNT}:query/1`] },
      "ResourceTypeNotSupportedException",
    );
    await h.refuses(
      "ListTags",
      { ResourceIdList: [`arn:aws:cloudtrail:us-east-1:${ACCOUNT}:eventdatastore/abc`] },
      "ResourceNotFoundException",
    );
    await h.refuses(
      "ListTags",
      { ResourceIdList: Array.from({ length: 21 }, () => arn("tagged")) },
      "InvalidParameterException",
    );
    await h.refuses("ListTags", { ResourceIdList: [] }, "InvalidParameterException");
    await h.refuses("AddTags", { ResourceId: arn("tagged") }, "InvalidParameterException", "TagsList is required.");
    await h.refuses("ListTags", { ResourceIdList: [arn("tagged")] }, "ResourceNotFoundException", undefined, {
      accountId: "444455556666",
    });
  });
});
