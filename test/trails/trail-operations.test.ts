import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ACCOUNT, OTHER_ACCOUNT, openHarness, refusingObjectStore, type Harness } from "./harness.js";

/** Creates a topic as CreateTopic stores it, with `policy` when given (else SNS's default policy). */
async function topic(h: Harness, accountId: string, name: string, policy?: object): Promise<string> {
  const topicArn = `arn:aws:sns:us-east-1:${accountId}:${name}`;
  await h.sns.createTopic({
    arn: topicArn,
    accountId,
    region: "us-east-1",
    name,
    displayName: "",
    ...(policy !== undefined ? { policy: JSON.stringify(policy) } : {}),
    createdAtMs: 0,
  });
  return topicArn;
}

const arn = (name: string, region = "us-east-1", account = ACCOUNT) =>
  `arn:aws:cloudtrail:${region}:${account}:trail/${name}`;

describe("CreateTrail", () => {
  let h: Harness;
  before(() => (h = openHarness()));
  after(() => h.close());

  it("creates a trail with the API defaults and logs the description as responseElements", async () => {
    const result = await h.call("CreateTrail", { Name: "main", S3BucketName: "audit-logs" });
    assert.deepEqual(result.output, {
      Name: "main",
      S3BucketName: "audit-logs",
      IncludeGlobalServiceEvents: true,
      IsMultiRegionTrail: false,
      TrailARN: arn("main"),
      LogFileValidationEnabled: false,
      IsOrganizationTrail: false,
    });
    assert.deepEqual(result.responseElements, {
      name: "main",
      s3BucketName: "audit-logs",
      includeGlobalServiceEvents: true,
      isMultiRegionTrail: false,
      trailARN: arn("main"),
      logFileValidationEnabled: false,
      isOrganizationTrail: false,
    });
    assert.deepEqual(result.resources, [{ accountId: ACCOUNT, type: "AWS::CloudTrail::Trail", ARN: arn("main") }]);
    assert.equal(await h.objectStore.bucketExists("audit-logs"), true, "the embedded store creates the bucket");
    const stored = (await h.trails.get(ACCOUNT, "main"))!;
    assert.equal(stored.isLogging, false);
    assert.equal(stored.hasCustomEventSelectors, false);
  });

  it("returns every optional setting it was given", async () => {
    await topic(h, ACCOUNT, "trail-topic");
    const result = await h.call("CreateTrail", {
      Name: "full",
      S3BucketName: "audit-logs",
      S3KeyPrefix: "cairn",
      SnsTopicName: "trail-topic",
      IsMultiRegionTrail: true,
      EnableLogFileValidation: true,
      KmsKeyId: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      CloudWatchLogsLogGroupArn: "arn:aws:logs:us-east-1:111122223333:log-group:ct:*",
      CloudWatchLogsRoleArn: "arn:aws:iam::111122223333:role/ct-to-cwl",
    });
    assert.equal(result.output["S3KeyPrefix"], "cairn");
    assert.equal(result.output["SnsTopicName"], "trail-topic");
    assert.equal(result.output["SnsTopicARN"], "arn:aws:sns:us-east-1:111122223333:trail-topic");
    assert.equal(result.output["IsMultiRegionTrail"], true);
    assert.equal(result.output["LogFileValidationEnabled"], true);
    assert.equal((result.responseElements as Record<string, unknown>)["snsTopicARN"], result.output["SnsTopicARN"]);
    await h.call("DeleteTrail", { Name: "full" });
  });

  const badNames: Array<[string, string]> = [
    ["ab", "Trail name too short. Minimum allowed length: 3 characters. Specified name length: 2 characters."],
    [
      "a".repeat(129),
      "Trail name too long. Maximum allowed length: 128 characters. Specified name length: 129 characters.",
    ],
    ["-abc", "Trail name must starts with a letter or number."],
    ["abc_", "Trail name must ends with a letter or number."],
    [
      "a b c",
      "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).",
    ],
    ["my-_namespace", /adjacent/],
    ["my--namespace", /adjacent/],
    ["192.168.5.4", /IP address/],
  ] as unknown as Array<[string, string]>;
  for (const [name, message] of badNames) {
    it(`refuses the name ${JSON.stringify(name.slice(0, 20))}`, () =>
      h.refuses("CreateTrail", { Name: name, S3BucketName: "audit-logs" }, "InvalidTrailNameException", message));
  }

  it("refuses a duplicate name, bad settings, organization trails and single-region global-less multi-region", async () => {
    await h.refuses("CreateTrail", { Name: "main", S3BucketName: "audit-logs" }, "TrailAlreadyExistsException");
    await h.refuses(
      "CreateTrail",
      { Name: "multi", S3BucketName: "audit-logs", IsMultiRegionTrail: true, IncludeGlobalServiceEvents: false },
      "InvalidParameterCombinationException",
      "Multi-Region trail must include global service events.",
    );
    await h.refuses("CreateTrail", { Name: "x1x", S3BucketName: "Bad_Bucket" }, "InvalidS3BucketNameException");
    await h.refuses(
      "CreateTrail",
      { Name: "x1x", S3BucketName: "ok-bucket", S3KeyPrefix: "p".repeat(201) },
      "InvalidS3PrefixException",
    );
    for (const bad of ["bad topic", `arn:aws:sns:us-east-1:111122223333:${"t".repeat(225)}`]) {
      await h.refuses(
        "CreateTrail",
        { Name: "x1x", S3BucketName: "ok-bucket", SnsTopicName: bad },
        "InvalidSnsTopicNameException",
      );
    }
    await h.refuses(
      "CreateTrail",
      { Name: "x1x", S3BucketName: "ok-bucket", KmsKeyId: "nope" },
      "InvalidKmsKeyIdException",
    );
    await h.refuses(
      "CreateTrail",
      {
        Name: "x1x",
        S3BucketName: "ok-bucket",
        CloudWatchLogsLogGroupArn: "arn:aws:logs:us-east-1:111122223333:log-group:ct",
      },
      "InvalidCloudWatchLogsLogGroupArnException",
    );
    await h.refuses(
      "CreateTrail",
      {
        Name: "x1x",
        S3BucketName: "ok-bucket",
        CloudWatchLogsLogGroupArn: "arn:aws:logs:us-east-1:111122223333:log-group:ct:*",
      },
      "InvalidParameterCombinationException",
    );
    await h.refuses(
      "CreateTrail",
      { Name: "x1x", S3BucketName: "ok-bucket", IsOrganizationTrail: true },
      "OrganizationsNotInUseException",
    );
    await h.refuses("CreateTrail", { S3BucketName: "ok-bucket" }, "InvalidParameterException", "Name is required.");
    await h.refuses("CreateTrail", { Name: "x1x" }, "InvalidParameterException", "S3BucketName is required.");
    await h.refuses(
      "CreateTrail",
      { Name: "x1x", S3BucketName: "ok-bucket", IsMultiRegionTrail: "yes" },
      "SerializationException",
    );
    assert.equal(await h.objectStore.bucketExists("ok-bucket"), false, "nothing is created for a refused call");
  });

  it("allows 5 trails per region; a multi-region trail counts in every region", async () => {
    const quota = openHarness();
    try {
      await quota.call(
        "CreateTrail",
        { Name: "global", S3BucketName: "b-1", IsMultiRegionTrail: true },
        { region: "eu-west-1" },
      );
      for (let i = 1; i <= 4; i++) await quota.call("CreateTrail", { Name: `t${i}xx`, S3BucketName: "b-1" });
      await quota.refuses(
        "CreateTrail",
        { Name: "sixth", S3BucketName: "b-1" },
        "MaximumNumberOfTrailsExceededException",
        `User: ${ACCOUNT} already has 5 trails in us-east-1.`,
      );
      await quota.call("CreateTrail", { Name: "west", S3BucketName: "b-1" }, { region: "us-west-2" });
      await quota.refuses(
        "CreateTrail",
        { Name: "multi2", S3BucketName: "b-1", IsMultiRegionTrail: true },
        "MaximumNumberOfTrailsExceededException",
        undefined,
        { region: "us-west-2" },
      );
    } finally {
      await quota.close();
    }
  });

  it("decides racing CreateTrail calls atomically: one wins a name, and the quota holds", async () => {
    const racing = openHarness();
    try {
      const sameName = await Promise.allSettled(
        ["b-1", "b-2", "b-3"].map((bucket) => racing.call("CreateTrail", { Name: "raced", S3BucketName: bucket })),
      );
      assert.equal(sameName.filter((outcome) => outcome.status === "fulfilled").length, 1);
      for (const outcome of sameName)
        if (outcome.status === "rejected")
          assert.equal((outcome.reason as { code?: string }).code, "TrailAlreadyExistsException");
      const names = Array.from({ length: 7 }, (_, i) => `many${i}`);
      const many = await Promise.allSettled(
        names.map((name) => racing.call("CreateTrail", { Name: name, S3BucketName: "b-1" })),
      );
      assert.equal(many.filter((outcome) => outcome.status === "fulfilled").length, 4, "5 per region, 1 taken");
      for (const outcome of many)
        if (outcome.status === "rejected")
          assert.equal((outcome.reason as { code?: string }).code, "MaximumNumberOfTrailsExceededException");
      assert.equal((await racing.trails.list(ACCOUNT)).length, 5);
    } finally {
      await racing.close();
    }
  });

  it("answers S3BucketDoesNotExistException when the object store cannot create the bucket", async () => {
    const s3 = openHarness({ objectStore: refusingObjectStore(["exists"]) });
    try {
      await s3.refuses(
        "CreateTrail",
        { Name: "t1x", S3BucketName: "missing" },
        "S3BucketDoesNotExistException",
        "S3 bucket missing does not exist!",
      );
      await s3.call("CreateTrail", { Name: "t1x", S3BucketName: "exists" });
      await s3.refuses("UpdateTrail", { Name: "t1x", S3BucketName: "missing" }, "S3BucketDoesNotExistException");
    } finally {
      await s3.close();
    }
  });

  it("answers S3BucketDoesNotExistException before claiming a missing bucket on S3", async () => {
    const s3 = openHarness({ objectStore: refusingObjectStore(["exists"]) });
    try {
      await s3.refuses("CreateTrail", { Name: "t1x", S3BucketName: "missing" }, "S3BucketDoesNotExistException");
      assert.equal(await s3.owners.ownerOf("missing"), undefined, "a name that exists nowhere is nobody's");
    } finally {
      await s3.close();
    }
  });
});

describe("trails and bucket ownership", () => {
  const policy = (bucket: string) => `Incorrect S3 bucket policy is detected for bucket: ${bucket}`;

  it("gives a new trail's bucket to its account, and refuses it to every other account", async () => {
    const h = openHarness();
    try {
      await h.call("CreateTrail", { Name: "mine", S3BucketName: "shared-logs" });
      assert.equal(await h.owners.ownerOf("shared-logs"), ACCOUNT);
      await h.call("CreateTrail", { Name: "mine-too", S3BucketName: "shared-logs" });
      await h.refuses(
        "CreateTrail",
        { Name: "theirs", S3BucketName: "shared-logs" },
        "InsufficientS3BucketPolicyException",
        policy("shared-logs"),
        { accountId: OTHER_ACCOUNT },
      );
      const theirs = await h.call("ListTrails", {}, { accountId: OTHER_ACCOUNT });
      assert.deepEqual(theirs.output["Trails"], [], "nothing was created");
    } finally {
      await h.close();
    }
  });

  it("refuses UpdateTrail into another account's bucket and leaves the trail as it was", async () => {
    const h = openHarness();
    try {
      await h.call("CreateTrail", { Name: "mine", S3BucketName: "my-logs" });
      await h.call("CreateTrail", { Name: "theirs", S3BucketName: "their-logs" }, { accountId: OTHER_ACCOUNT });
      await h.refuses(
        "UpdateTrail",
        { Name: "theirs", S3BucketName: "my-logs", EnableLogFileValidation: true },
        "InsufficientS3BucketPolicyException",
        policy("my-logs"),
        { accountId: OTHER_ACCOUNT },
      );
      const trail = (await h.trails.get(OTHER_ACCOUNT, "theirs"))!;
      assert.equal(trail.s3BucketName, "their-logs");
      assert.equal(trail.logFileValidationEnabled, false);
      // Unchanged bucket: no ownership question.
      await h.call("UpdateTrail", { Name: "theirs", EnableLogFileValidation: true }, { accountId: OTHER_ACCOUNT });
    } finally {
      await h.close();
    }
  });

  it("refuses another account's bucket before creating anything in the store", async () => {
    const h = openHarness();
    try {
      await h.owners.claim("claimed-empty", OTHER_ACCOUNT);
      await h.refuses(
        "CreateTrail",
        { Name: "mine", S3BucketName: "claimed-empty" },
        "InsufficientS3BucketPolicyException",
        policy("claimed-empty"),
      );
      assert.equal(await h.objectStore.bucketExists("claimed-empty"), false);
      assert.equal(await h.trails.get(ACCOUNT, "mine"), undefined);
    } finally {
      await h.close();
    }
  });

  it("lets exactly one of two accounts racing for a new bucket have it", async () => {
    const h = openHarness();
    try {
      const outcomes = await Promise.allSettled([
        h.call("CreateTrail", { Name: "first", S3BucketName: "contested" }),
        h.call("CreateTrail", { Name: "second", S3BucketName: "contested" }, { accountId: OTHER_ACCOUNT }),
      ]);
      assert.equal(outcomes.filter((o) => o.status === "fulfilled").length, 1, "one CreateTrail succeeds");
      const [refused] = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
      assert.equal((refused!.reason as { code?: string }).code, "InsufficientS3BucketPolicyException");
      const owner = await h.owners.ownerOf("contested");
      const stored = [...(await h.trails.list())].map((t) => t.accountId);
      assert.deepEqual(stored, [owner], "only the owner's trail is stored");
    } finally {
      await h.close();
    }
  });
});

describe("trail lookups across names, ARNs, regions and accounts", () => {
  let h: Harness;
  before(async () => {
    h = openHarness({ maxTrailsPerRegion: 100 });
    await h.call("CreateTrail", { Name: "east", S3BucketName: "logs-a" });
    await h.call("CreateTrail", { Name: "everywhere", S3BucketName: "logs-a", IsMultiRegionTrail: true });
    await h.call("CreateTrail", { Name: "west", S3BucketName: "logs-a" }, { region: "us-west-2" });
    await h.call("CreateTrail", { Name: "theirs", S3BucketName: "logs-b" }, { accountId: OTHER_ACCOUNT });
  });
  after(() => h.close());

  it("GetTrail by name or ARN", async () => {
    const byName = await h.call("GetTrail", { Name: "east" });
    const byArn = await h.call("GetTrail", { Name: arn("east") });
    assert.deepEqual(byName.output, byArn.output);
    assert.deepEqual(byName.output["Trail"], {
      Name: "east",
      S3BucketName: "logs-a",
      IncludeGlobalServiceEvents: true,
      IsMultiRegionTrail: false,
      HomeRegion: "us-east-1",
      TrailARN: arn("east"),
      LogFileValidationEnabled: false,
      HasCustomEventSelectors: false,
      HasInsightSelectors: false,
      IsOrganizationTrail: false,
    });
  });

  it("a multi-region trail is visible by name in every region; a single-region one only at home or by ARN", async () => {
    const shadow = await h.call("GetTrail", { Name: "everywhere" }, { region: "ap-south-1" });
    assert.equal((shadow.output["Trail"] as Record<string, unknown>)["HomeRegion"], "us-east-1");
    await h.refuses(
      "GetTrail",
      { Name: "west" },
      "TrailNotFoundException",
      `Unknown trail: west for the user: ${ACCOUNT}`,
    );
    const byArn = await h.call("GetTrail", { Name: arn("west", "us-west-2") });
    assert.equal((byArn.output["Trail"] as Record<string, unknown>)["Name"], "west");
    await h.refuses(
      "GetTrail",
      { Name: arn("west") },
      "TrailNotFoundException",
      /Unknown trail: arn:aws:cloudtrail:us-east-1:111122223333:trail\/west/,
    );
  });

  it("accounts are isolated", async () => {
    await h.refuses("GetTrail", { Name: "theirs" }, "TrailNotFoundException");
    await h.refuses("GetTrail", { Name: arn("theirs", "us-east-1", OTHER_ACCOUNT) }, "TrailNotFoundException");
    const list = await h.call("ListTrails", {}, { accountId: OTHER_ACCOUNT });
    assert.deepEqual(list.output["Trails"], [
      { TrailARN: arn("theirs", "us-east-1", OTHER_ACCOUNT), Name: "theirs", HomeRegion: "us-east-1" },
    ]);
  });

  it("malformed ARNs and names", async () => {
    await h.refuses("GetTrail", { Name: "arn:aws:cloudtrail:us-east-1:1234:trail/x" }, "CloudTrailARNInvalidException");
    await h.refuses(
      "GetTrail",
      { Name: "arn:aws:cloudtrail:us-east-1:111122223333:channel/abc" },
      "CloudTrailARNInvalidException",
    );
    await h.refuses("GetTrail", { Name: "a" }, "InvalidTrailNameException");
  });

  it("DescribeTrails: the region's trails plus shadow trails by default", async () => {
    const names = async (input: Record<string, unknown>, region = "us-east-1") =>
      ((await h.call("DescribeTrails", input, { region })).output["trailList"] as Array<{ Name: string }>)
        .map((t) => t.Name)
        .sort();
    assert.deepEqual(await names({}), ["east", "everywhere"]);
    assert.deepEqual(await names({}, "us-west-2"), ["everywhere", "west"]);
    assert.deepEqual(await names({ includeShadowTrails: false }, "us-west-2"), ["west"]);
    assert.deepEqual(await names({ trailNameList: ["everywhere", "east", "nope"] }, "us-west-2"), ["everywhere"]);
    assert.deepEqual(await names({ trailNameList: ["everywhere"], includeShadowTrails: false }, "us-west-2"), []);
    assert.deepEqual(await names({ trailNameList: [arn("east")] }, "us-west-2"), ["east"]);
    await h.refuses("DescribeTrails", { trailNameList: ["arn:aws:cloudtrail:bad"] }, "CloudTrailARNInvalidException");
  });

  it("ListTrails: every trail of the account in every region, paginated", async () => {
    const first = await h.call("ListTrails", {});
    assert.deepEqual(first.output, {
      Trails: [
        { TrailARN: arn("east"), Name: "east", HomeRegion: "us-east-1" },
        { TrailARN: arn("everywhere"), Name: "everywhere", HomeRegion: "us-east-1" },
        { TrailARN: arn("west", "us-west-2"), Name: "west", HomeRegion: "us-west-2" },
      ],
    });
    for (let i = 0; i < 60; i++)
      await h.call("CreateTrail", { Name: `bulk${String(i).padStart(2, "0")}`, S3BucketName: "logs-a" });
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await h.call("ListTrails", token === undefined ? {} : { NextToken: token });
      seen.push(...(page.output["Trails"] as Array<{ Name: string }>).map((t) => t.Name));
      token = page.output["NextToken"] as string | undefined;
      pages += 1;
    } while (token !== undefined);
    assert.equal(pages, 2);
    assert.equal(seen.length, 63);
    assert.equal(new Set(seen).size, 63);
    await h.refuses("ListTrails", { NextToken: "garbage!" }, "InvalidNextTokenException");
  });
});

describe("UpdateTrail and DeleteTrail", () => {
  let h: Harness;
  before(() => (h = openHarness()));
  after(() => h.close());

  it("updates given members only; an empty string clears an optional setting", async () => {
    await h.call("CreateTrail", {
      Name: "upd",
      S3BucketName: "logs-a",
      S3KeyPrefix: "p1",
      TagsList: [{ Key: "k", Value: "v" }],
    });
    const result = await h.call("UpdateTrail", {
      Name: "upd",
      S3KeyPrefix: "",
      EnableLogFileValidation: true,
      S3BucketName: "logs-b",
    });
    assert.equal(result.output["S3KeyPrefix"], undefined);
    assert.equal(result.output["LogFileValidationEnabled"], true);
    assert.equal(result.output["S3BucketName"], "logs-b");
    assert.equal((result.responseElements as Record<string, unknown>)["logFileValidationEnabled"], true);
    assert.equal(await h.objectStore.bucketExists("logs-b"), true);
    assert.deepEqual((await h.trails.get(ACCOUNT, "upd"))?.tags, [{ Key: "k", Value: "v" }]);
  });

  it("applies the multi-region rule to the resulting configuration", async () => {
    await h.refuses(
      "UpdateTrail",
      { Name: "upd", IsMultiRegionTrail: true, IncludeGlobalServiceEvents: false },
      "InvalidParameterCombinationException",
      "Multi-Region trail must include global service events.",
    );
    await h.call("UpdateTrail", { Name: "upd", IsMultiRegionTrail: true });
    await h.refuses(
      "UpdateTrail",
      { Name: "upd", IncludeGlobalServiceEvents: false },
      "InvalidParameterCombinationException",
    );
  });

  it("mutations of a multi-region trail must come from its home region", async () => {
    for (const [operation, input] of [
      ["UpdateTrail", { Name: "upd", EnableLogFileValidation: false }],
      ["DeleteTrail", { Name: "upd" }],
      ["StartLogging", { Name: "upd" }],
      ["StopLogging", { Name: "upd" }],
      ["PutEventSelectors", { TrailName: "upd", EventSelectors: [{}] }],
      ["AddTags", { ResourceId: arn("upd"), TagsList: [{ Key: "a" }] }],
    ] as const) {
      await h.refuses(operation, input, "InvalidHomeRegionException", /home region us-east-1/, {
        region: "eu-central-1",
      });
    }
    // Reads work from anywhere the trail applies.
    await h.call("GetTrailStatus", { Name: "upd" }, { region: "eu-central-1" });
    await h.call("GetEventSelectors", { TrailName: "upd" }, { region: "eu-central-1" });
  });

  it("DeleteTrail removes the trail and its status", async () => {
    await h.trails.updateStatus(arn("upd"), { latestDeliveryTimeMs: 1 });
    const result = await h.call("DeleteTrail", { Name: arn("upd") });
    assert.deepEqual(result.output, {});
    assert.equal(result.responseElements, null);
    assert.equal(await h.trails.get(ACCOUNT, "upd"), undefined);
    assert.deepEqual(await h.trails.status(arn("upd")), {});
    await h.refuses("DeleteTrail", { Name: "upd" }, "TrailNotFoundException");
  });
});

describe("a trail's SNS topic (SnsTopicName)", () => {
  let h: Harness;
  before(() => (h = openHarness()));
  after(() => h.close());
  const refused = "SNS Topic does not exist or the topic policy is incorrect!";
  const allowCloudTrail = (resource: string, condition?: object) => ({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "cloudtrail.amazonaws.com" },
        Action: "SNS:Publish",
        Resource: resource,
        ...(condition !== undefined ? { Condition: condition } : {}),
      },
    ],
  });

  it("refuses a topic that does not exist, and stores nothing", async () => {
    await h.refuses(
      "CreateTrail",
      { Name: "no-topic", S3BucketName: "logs-a", SnsTopicName: "missing" },
      "InsufficientSnsTopicPolicyException",
      refused,
    );
    assert.equal(await h.trails.get(ACCOUNT, "no-topic"), undefined);
    assert.equal(await h.objectStore.bucketExists("never-made"), false);
    await h.refuses(
      "CreateTrail",
      { Name: "no-topic", S3BucketName: "never-made", SnsTopicName: "missing" },
      "InsufficientSnsTopicPolicyException",
    );
    assert.equal(await h.objectStore.bucketExists("never-made"), false, "no bucket made for a refused trail");
  });

  it("takes the account's own topic by name or ARN and reports both forms", async () => {
    const topicArn = await topic(h, ACCOUNT, "own");
    const byName = await h.call("CreateTrail", { Name: "by-name", S3BucketName: "logs-a", SnsTopicName: "own" });
    assert.equal(byName.output["SnsTopicName"], "own");
    assert.equal(byName.output["SnsTopicARN"], topicArn);
    const byArn = await h.call("CreateTrail", { Name: "by-arn", S3BucketName: "logs-a", SnsTopicName: topicArn });
    assert.equal(byArn.output["SnsTopicName"], "own");
    assert.equal(byArn.output["SnsTopicARN"], topicArn);
    const described = await h.call("GetTrail", { Name: "by-arn" });
    const trail = (described.output as { Trail: Record<string, unknown> }).Trail;
    assert.equal(trail["SnsTopicARN"], topicArn);
  });

  it("refuses another account's topic unless its policy lets CloudTrail publish for the trail", async () => {
    const plain = await topic(h, OTHER_ACCOUNT, "theirs");
    await h.refuses(
      "CreateTrail",
      { Name: "cross", S3BucketName: "logs-a", SnsTopicName: plain },
      "InsufficientSnsTopicPolicyException",
      refused,
    );
    const otherTrail = arn("cross-ok");
    const wrongTrail = await topic(
      h,
      OTHER_ACCOUNT,
      "other-trail-only",
      allowCloudTrail("*", { ArnLike: { "aws:SourceArn": arn("someone-else") } }),
    );
    await h.refuses(
      "CreateTrail",
      { Name: "cross-ok", S3BucketName: "logs-a", SnsTopicName: wrongTrail },
      "InsufficientSnsTopicPolicyException",
    );
    const open = await topic(
      h,
      OTHER_ACCOUNT,
      "shared",
      allowCloudTrail(`arn:aws:sns:us-east-1:${OTHER_ACCOUNT}:shared`, {
        StringEquals: { "aws:SourceArn": otherTrail },
      }),
    );
    const created = await h.call("CreateTrail", { Name: "cross-ok", S3BucketName: "logs-a", SnsTopicName: open });
    assert.equal(created.output["SnsTopicARN"], open);
  });

  it("refuses the account's own topic when its policy denies, or only allows what Cairn cannot evaluate", async () => {
    const denied = await topic(h, ACCOUNT, "denied", {
      Statement: [
        { Effect: "Allow", Principal: "*", Action: "sns:*", Resource: "*" },
        { Effect: "Deny", Principal: { Service: "cloudtrail.amazonaws.com" }, Action: "sns:Publish", Resource: "*" },
      ],
    });
    const unknown = await topic(
      h,
      ACCOUNT,
      "unknown-condition",
      allowCloudTrail("*", { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } }),
    );
    const wildcard = await topic(h, ACCOUNT, "wildcard", {
      Statement: [{ Effect: "Allow", Principal: { AWS: ACCOUNT }, Action: "sns:Pub*", Resource: "arn:aws:sns:*" }],
    });
    for (const name of [denied, unknown]) {
      await h.refuses(
        "CreateTrail",
        { Name: "policy-check", S3BucketName: "logs-a", SnsTopicName: name },
        "InsufficientSnsTopicPolicyException",
      );
    }
    await h.call("CreateTrail", { Name: "policy-check", S3BucketName: "logs-a", SnsTopicName: wildcard });
  });

  it("UpdateTrail checks a topic it names and removes it with an empty SnsTopicName", async () => {
    await topic(h, ACCOUNT, "upd-topic");
    await h.call("CreateTrail", { Name: "upd-sns", S3BucketName: "logs-a" });
    await h.refuses(
      "UpdateTrail",
      { Name: "upd-sns", SnsTopicName: "not-there" },
      "InsufficientSnsTopicPolicyException",
      refused,
    );
    assert.equal((await h.trails.get(ACCOUNT, "upd-sns"))?.snsTopicName, undefined, "unchanged");
    const set = await h.call("UpdateTrail", { Name: "upd-sns", SnsTopicName: "upd-topic" });
    assert.equal(set.output["SnsTopicName"], "upd-topic");
    const cleared = await h.call("UpdateTrail", { Name: "upd-sns", SnsTopicName: "" });
    assert.equal(cleared.output["SnsTopicName"], undefined);
    assert.equal(cleared.output["SnsTopicARN"], undefined);
  });
});
