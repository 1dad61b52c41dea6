import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EventHistoryCategory } from "../../src/consumers/event-history/derive.js";
import { lookupEventFromRecord } from "../../src/consumers/event-history/derive.js";
import { eventKeys, termKey } from "../../src/consumers/event-history/posting-key.js";
import type { CloudTrailRecord } from "../../src/model/record.js";

const LONG = "a".repeat(300);

/**
 * Keys computed by the first implementation (one string per term, hashed twice). Keys are persisted
 * in every index, so any rewrite of the hashing must give these exactly (decision 0003, point 3).
 */
const PINNED: Array<[EventHistoryCategory, string, string, string, string, number]> = [
  ["management", "123456789012", "us-east-1", "*", "", -66672870542032],
  ["management", "123456789012", "us-east-1", "EventId", "6b7d6c1e-0000-4000-8000-000000000001", 16089875315535],
  ["management", "123456789012", "us-east-1", "EventName", "CreateUser", -24221930079606],
  ["management", "123456789012", "us-east-1", "Username", "ünïcødé-名前", 55497086680992],
  ["management", "123456789012", "us-east-1", "ResourceName", "arn:aws:s3:::bucket\u0000x", -132706107009535],
  ["management", "123456789012", "us-east-1", "AccessKeyId", LONG, -122728813978226],
  ["insight", "210987654321", "eu-west-1", "*", "", 76631327052826],
  ["insight", "210987654321", "eu-west-1", "EventId", "6b7d6c1e-0000-4000-8000-000000000001", -89692211866171],
  ["insight", "210987654321", "eu-west-1", "EventName", "CreateUser", 51671738144424],
  ["insight", "210987654321", "eu-west-1", "Username", "ünïcødé-名前", -11593399724678],
  ["insight", "210987654321", "eu-west-1", "ResourceName", "arn:aws:s3:::bucket\u0000x", -65072916618999],
  ["insight", "210987654321", "eu-west-1", "AccessKeyId", LONG, -55464074023345],
  ["dataInsight", "", "", "*", "", 44131873491799],
  ["dataInsight", "", "", "EventId", "6b7d6c1e-0000-4000-8000-000000000001", 18245755176617],
  ["dataInsight", "", "", "EventName", "CreateUser", 135548124669517],
  ["dataInsight", "", "", "Username", "ünïcødé-名前", -109329282938397],
  ["dataInsight", "", "", "ResourceName", "arn:aws:s3:::bucket\u0000x", -112766259324786],
  ["dataInsight", "", "", "AccessKeyId", LONG, -111492291301220],
];

describe("posting keys", () => {
  it("are the persisted keys of the first implementation, bit for bit", () => {
    for (const [category, accountId, region, attribute, value, key] of PINNED)
      assert.equal(
        termKey({ category, accountId, region }, attribute, value),
        key,
        `${attribute}=${value.slice(0, 40)}`,
      );
  });

  it("of an event are the term keys of everything it is findable by, each once", () => {
    const scope = { category: "management" as const, accountId: "111122223333", region: "us-west-2" };
    const record = {
      eventVersion: "1.11",
      eventTime: "2024-05-31T10:00:00Z",
      eventSource: "iam.amazonaws.com",
      eventName: "CreateUser",
      awsRegion: "us-west-2",
      recipientAccountId: "111122223333",
      readOnly: false,
      userIdentity: { type: "IAMUser", userName: "alice", accessKeyId: "AKIAEXAMPLE" },
      requestParameters: { userName: "bob" },
      responseElements: null,
      eventID: "e-1",
      eventType: "AwsApiCall",
      eventCategory: "Management",
    } as unknown as CloudTrailRecord;
    const event = lookupEventFromRecord("{}", record);
    const expected = [
      ["*", ""],
      ["EventId", "e-1"],
      ["EventName", "CreateUser"],
      ["EventSource", "iam.amazonaws.com"],
      ["ReadOnly", "false"],
      ["Username", "alice"],
      ["AccessKeyId", "AKIAEXAMPLE"],
      ...event.Resources.flatMap((resource) => [
        ...(resource.ResourceType !== undefined ? [["ResourceType", resource.ResourceType]] : []),
        ...(resource.ResourceName !== undefined ? [["ResourceName", resource.ResourceName]] : []),
      ]),
    ].map(([attribute, value]) => termKey(scope, attribute!, value!));
    assert.ok(event.Resources.length > 0, "the record names a resource");
    const keys = eventKeys(scope, event);
    assert.equal(new Set(keys).size, keys.length, "each key once");
    for (const key of new Set(expected)) assert.ok(keys.includes(key), `key ${key} indexed`);
  });

  it("of an Insights event are only those of its three attributes and the all-events key", () => {
    const scope = { category: "insight" as const, accountId: "111122223333", region: "us-west-2" };
    const event = {
      EventId: "i-1",
      EventName: "PutObject",
      EventSource: "s3.amazonaws.com",
      EventTime: 0,
      Resources: [],
      CloudTrailEvent: "{}",
      Username: "u",
    };
    assert.deepEqual(eventKeys(scope, event), [
      termKey(scope, "*", ""),
      termKey(scope, "EventId", "i-1"),
      termKey(scope, "EventName", "PutObject"),
      termKey(scope, "EventSource", "s3.amazonaws.com"),
    ]);
  });
});
