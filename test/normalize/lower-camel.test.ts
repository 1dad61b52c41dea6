import { test } from "node:test";
import assert from "node:assert/strict";
import { lowerFirst, toLowerCamelKeys } from "../../src/normalize/lower-camel.js";

test("only the first character of each member name is lower-cased", () => {
  const cases: Array<[string, string]> = [
    ["Name", "name"],
    ["S3BucketName", "s3BucketName"],
    ["AZMode", "aZMode"],
    ["LookupAttributes", "lookupAttributes"],
    ["name", "name"],
    ["", ""],
  ];
  for (const [input, expected] of cases) assert.equal(lowerFirst(input), expected);
});

test("keys are converted recursively; values are untouched", () => {
  const input = {
    LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "StartLogging" }],
    MaxResults: 5,
    Tags: { TagsList: [{ Key: "Owner", Value: "Ops" }] },
    Empty: null,
  };
  assert.deepEqual(toLowerCamelKeys(input), {
    lookupAttributes: [{ attributeKey: "EventName", attributeValue: "StartLogging" }],
    maxResults: 5,
    tags: { tagsList: [{ key: "Owner", value: "Ops" }] },
    empty: null,
  });
  assert.equal(toLowerCamelKeys("Name"), "Name");
  assert.deepEqual(input.LookupAttributes[0], { AttributeKey: "EventName", AttributeValue: "StartLogging" });
});
