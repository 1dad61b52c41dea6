import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  digestKey,
  folderFileKey,
  logFileKey,
  minuteStamp,
  parseTrailArn,
  secondStamp,
  uniqueSuffix,
} from "../../../src/model/trail-object-key.js";
import { digestKeyStamp } from "../../../src/cli/validate-logs/digest-chain.js";

describe("log file keys (spec §2.1)", () => {
  const cases: Array<{
    name: string;
    scope: Parameters<typeof logFileKey>[0];
    region: string;
    at: number;
    unique: string;
    key: string;
  }> = [
    {
      name: "single account, no prefix (the spec's example name)",
      scope: { accountId: "111122223333" },
      region: "us-east-2",
      at: Date.UTC(2015, 7, 1, 2, 10, 59, 999),
      unique: "Mu0KsOhtH1ar15ZZ",
      key: "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz",
    },
    {
      name: "with S3KeyPrefix",
      scope: { accountId: "123456789012", prefix: "my/prefix" },
      region: "us-east-2",
      at: Date.UTC(2016, 7, 11, 22, 15),
      unique: "kpaMYavMQA9Ahp7L",
      key: "my/prefix/AWSLogs/123456789012/CloudTrail/us-east-2/2016/08/11/123456789012_CloudTrail_us-east-2_20160811T2215Z_kpaMYavMQA9Ahp7L.json.gz",
    },
    {
      name: "organization trail",
      scope: { accountId: "111111111111", organizationId: "o-exampleorgid", prefix: "" },
      region: "eu-west-1",
      at: Date.UTC(2024, 0, 2, 3, 4),
      unique: "ABCDEFGHijklmn01",
      key: "AWSLogs/o-exampleorgid/111111111111/CloudTrail/eu-west-1/2024/01/02/111111111111_CloudTrail_eu-west-1_20240102T0304Z_ABCDEFGHijklmn01.json.gz",
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(logFileKey(c.scope, c.region, c.at, c.unique), c.key));
  }

  it("refuses a suffix that is not 16 alphanumerics", () => {
    assert.throws(() => logFileKey({ accountId: "111122223333" }, "us-east-1", 0, "short"));
    assert.throws(() => folderFileKey("CloudTrail-Insight", { accountId: "111122223333" }, "us-east-1", 0, "short"));
  });

  it("puts Insights files in CloudTrail-Insight/, named CloudTrail-Insight, with the prefix and org id", () => {
    const at = Date.UTC(2015, 7, 1, 2, 10, 59);
    assert.equal(
      folderFileKey("CloudTrail-Insight", { accountId: "111122223333" }, "us-east-2", at, "Mu0KsOhtH1ar15ZZ"),
      "AWSLogs/111122223333/CloudTrail-Insight/us-east-2/2015/08/01/111122223333_CloudTrail-Insight_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz",
    );
    assert.equal(
      folderFileKey(
        "CloudTrail-Insight",
        { accountId: "111122223333", prefix: "p/q", organizationId: "o-abc" },
        "us-east-2",
        at,
        "Mu0KsOhtH1ar15ZZ",
      ),
      "p/q/AWSLogs/o-abc/111122223333/CloudTrail-Insight/us-east-2/2015/08/01/111122223333_CloudTrail-Insight_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz",
    );
    assert.equal(
      folderFileKey("CloudTrail", { accountId: "111122223333" }, "us-east-2", at, "Mu0KsOhtH1ar15ZZ"),
      logFileKey({ accountId: "111122223333" }, "us-east-2", at, "Mu0KsOhtH1ar15ZZ"),
    );
  });

  it("unique suffixes are 16 characters of [A-Za-z0-9]", () => {
    const bytes = Uint8Array.from({ length: 16 }, (_, i) => i * 17);
    assert.match(uniqueSuffix(bytes), /^[A-Za-z0-9]{16}$/);
  });

  it("stamps are zero padded UTC", () => {
    assert.equal(minuteStamp(Date.UTC(2015, 0, 2, 3, 4, 5)), "20150102T0304Z");
    assert.equal(secondStamp(Date.UTC(2015, 0, 2, 3, 4, 5)), "20150102T030405Z");
  });
});

describe("digest keys (spec §3.1)", () => {
  it("matches the AWS documentation's digest example", () => {
    const key = digestKey(
      { accountId: "111122223333" },
      {
        region: "us-east-2",
        trailName: "your-trail-name",
        homeRegion: "us-east-2",
        digestEndMs: Date.UTC(2015, 7, 17, 15, 1, 31),
      },
    );
    assert.equal(
      key,
      "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz",
    );
  });

  it("multi-region: covered region first, home region after the trail name; prefix and org id", () => {
    const key = digestKey(
      { accountId: "111111111111", prefix: "p", organizationId: "o-abc" },
      {
        region: "eu-west-1",
        trailName: "org.trail",
        homeRegion: "us-east-1",
        digestEndMs: Date.UTC(2015, 8, 1, 20, 17, 28),
      },
    );
    assert.equal(
      key,
      "p/AWSLogs/o-abc/111111111111/CloudTrail-Digest/eu-west-1/2015/09/01/111111111111_CloudTrail-Digest_eu-west-1_org.trail_us-east-1_20150901T201728Z.json.gz",
    );
  });

  it("the AWS CLI finds the end time at characters [-24:-8]", () => {
    const key = digestKey(
      { accountId: "1" },
      { region: "r", trailName: "t", homeRegion: "h", digestEndMs: Date.UTC(2020, 1, 29, 23, 59, 59) },
    );
    assert.equal(digestKeyStamp(key), "20200229T235959Z");
    assert.equal(digestKeyStamp(`${key.slice(0, -8)}_backfill.json.gz`), "20200229T235959Z");
  });
});

describe("trail ARNs", () => {
  it("splits like the AWS CLI", () => {
    assert.deepEqual(parseTrailArn("arn:aws:cloudtrail:us-east-2:111122223333:trail/my-trail"), {
      partition: "aws",
      homeRegion: "us-east-2",
      accountId: "111122223333",
      trailName: "my-trail",
    });
    assert.equal(parseTrailArn("arn:aws:cloudtrail:us-east-2:1111:trail/x"), undefined);
  });
});
