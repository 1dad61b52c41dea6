import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { validateAdvancedEventSelectors } from "../../src/selectors/advanced-selectors.js";
import { validateBasicEventSelectors } from "../../src/selectors/basic-selectors.js";
import { InvalidEventSelectorsError, SelectorShapeError } from "../../src/selectors/selector-errors.js";

const s3 = (values: string[]) => ({ Type: "AWS::S3::Object", Values: values });
const mgmt = { Field: "eventCategory", Equals: ["Management"] };
const data = { Field: "eventCategory", Equals: ["Data"] };
const s3Type = { Field: "resources.type", Equals: ["AWS::S3::Object"] };

describe("validateBasicEventSelectors", () => {
  it("fills in defaults", () => {
    assert.deepEqual(validateBasicEventSelectors([{}]), [
      { ReadWriteType: "All", IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] },
    ]);
  });

  const valid: Array<[string, unknown]> = [
    ["five selectors", Array.from({ length: 5 }, () => ({ ReadWriteType: "ReadOnly" }))],
    ["S3 all forms", [{ DataResources: [s3(["arn:aws:s3", "arn:aws:s3:::"])] }]],
    [
      "S3 bucket and prefix",
      [{ DataResources: [s3(["arn:aws:s3:::my-bucket/", "arn:aws:s3:::my-bucket/logs/2024"])] }],
    ],
    [
      "Lambda and DynamoDB",
      [
        {
          DataResources: [
            {
              Type: "AWS::Lambda::Function",
              Values: ["arn:aws:lambda", "arn:aws:lambda:us-east-1:111122223333:function:hello"],
            },
            {
              Type: "AWS::DynamoDB::Table",
              Values: ["arn:aws:dynamodb", "arn:aws:dynamodb:us-east-1:111122223333:table/Orders"],
            },
          ],
        },
      ],
    ],
    ["exclude kms and rdsdata", [{ ExcludeManagementEventSources: ["kms.amazonaws.com", "rdsdata.amazonaws.com"] }]],
    ["250 resources", [{ DataResources: [s3(Array.from({ length: 250 }, (_, i) => `arn:aws:s3:::b${i}x/`))] }]],
    [
      "all-of-a-type values are not counted",
      [{ DataResources: [s3([...Array.from({ length: 250 }, (_, i) => `arn:aws:s3:::b${i}x/`), "arn:aws:s3"])] }],
    ],
  ];
  for (const [name, input] of valid) it(`accepts ${name}`, () => void validateBasicEventSelectors(input));

  const invalid: Array<[string, unknown, RegExp]> = [
    ["no selector", [], /1 to 5 event selectors/],
    ["six selectors", Array.from({ length: 6 }, () => ({})), /1 to 5 event selectors; 6/],
    ["read-only", [{ ReadWriteType: "read-only" }], /ReadWriteType "read-only" is not valid/],
    [
      "an unknown data type",
      [{ DataResources: [{ Type: "AWS::SNS::Topic", Values: ["arn:aws:sns"] }] }],
      /advanced event selectors/,
    ],
    ["a missing Type", [{ DataResources: [{ Values: ["arn:aws:s3"] }] }], /Type is required/],
    ["no values", [{ DataResources: [{ Type: "AWS::S3::Object", Values: [] }] }], /at least one ARN/],
    [
      "a bucket without slash",
      [{ DataResources: [s3(["arn:aws:s3:::my-bucket"])] }],
      /arn:aws:s3:::my-bucket for .*Values\[0\] is invalid/,
    ],
    [
      "a Lambda name",
      [{ DataResources: [{ Type: "AWS::Lambda::Function", Values: ["hello"] }] }],
      /invalid for AWS::Lambda::Function/,
    ],
    ["excluding s3", [{ ExcludeManagementEventSources: ["s3.amazonaws.com"] }], /s3.amazonaws.com cannot be excluded/],
    [
      "251 resources in one selector",
      [{ DataResources: [s3(Array.from({ length: 251 }, (_, i) => `arn:aws:s3:::b${i}x/`))] }],
      /251 data resources/,
    ],
    [
      "251 resources across selectors",
      [
        { DataResources: [s3(Array.from({ length: 200 }, (_, i) => `arn:aws:s3:::b${i}x/`))] },
        { DataResources: [s3(Array.from({ length: 51 }, (_, i) => `arn:aws:s3:::c${i}x/`))] },
      ],
      /251 data resources in total/,
    ],
  ];
  for (const [name, input, message] of invalid) {
    it(`refuses ${name}`, () =>
      assert.throws(
        () => validateBasicEventSelectors(input),
        (e: unknown) => e instanceof InvalidEventSelectorsError && message.test(e.message),
      ));
  }

  it("refuses wrong JSON types as shape errors", () => {
    assert.throws(() => validateBasicEventSelectors({}), SelectorShapeError);
    assert.throws(() => validateBasicEventSelectors([{ IncludeManagementEvents: "yes" }]), SelectorShapeError);
    assert.throws(
      () => validateBasicEventSelectors([{ DataResources: [{ Type: "AWS::S3::Object", Values: [1] }] }]),
      SelectorShapeError,
    );
  });
});

describe("validateAdvancedEventSelectors (trail)", () => {
  const valid: Array<[string, unknown]> = [
    ["management", [{ Name: "mgmt", FieldSelectors: [mgmt] }]],
    [
      "Cairn's own plumbing data events (docs/reference/ingest-rules.md)",
      ["Cairn::Ingest::Endpoint", "Cairn::Tail::Endpoint", "Cairn::Quarantine::Endpoint"].map((type) => ({
        FieldSelectors: [
          data,
          { Field: "resources.type", Equals: [type] },
          { Field: "resources.ARN", StartsWith: ["arn:aws:cloudtrail:us-east-1:111122223333:cairn-endpoint/"] },
        ],
      })),
    ],
    [
      "management without kms, write-only, no console sessions",
      [
        {
          FieldSelectors: [
            mgmt,
            { Field: "readOnly", Equals: ["false"] },
            { Field: "eventSource", NotEquals: ["kms.amazonaws.com", "rdsdata.amazonaws.com"] },
            { Field: "sessionCredentialFromConsole", NotEquals: ["true"] },
            { Field: "userIdentity.arn", NotStartsWith: ["arn:aws:sts::111122223333:assumed-role/scanner"] },
          ],
        },
      ],
    ],
    [
      "S3 data with every operator on resources.ARN",
      [
        {
          FieldSelectors: [
            data,
            s3Type,
            {
              Field: "resources.ARN",
              Equals: ["arn:aws:s3:::b1/"],
              StartsWith: ["arn:aws:s3:::b2/"],
              EndsWith: [".jpg"],
              NotEquals: ["arn:aws:s3:::b1/x"],
              NotStartsWith: ["arn:aws:s3:::b2/tmp/"],
              NotEndsWith: [".tmp"],
            },
            { Field: "eventName", Equals: ["GetObject"] },
            { Field: "readOnly", Equals: ["true"] },
          ],
        },
      ],
    ],
    ["SNS topic data", [{ FieldSelectors: [data, { Field: "resources.type", Equals: ["AWS::SNS::Topic"] }] }]],
    [
      "network activity",
      [
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["NetworkActivity"] },
            { Field: "eventSource", Equals: ["cloudtrail.amazonaws.com"] },
            { Field: "errorCode", Equals: ["VpceAccessDenied"] },
            { Field: "vpcEndpointId", NotEquals: ["vpce-1"] },
          ],
        },
      ],
    ],
    [
      "500 values",
      [
        {
          FieldSelectors: [mgmt, { Field: "userIdentity.arn", Equals: Array.from({ length: 499 }, (_, i) => `a${i}`) }],
        },
      ],
    ],
  ];
  for (const [name, input] of valid) it(`accepts ${name}`, () => void validateAdvancedEventSelectors(input, "trail"));

  const invalid: Array<[string, unknown, RegExp]> = [
    ["an empty list", [], /at least one selector/],
    ["no eventCategory", [{ FieldSelectors: [{ Field: "readOnly", Equals: ["true"] }] }], /must have an eventCategory/],
    [
      "eventCategory with NotEquals",
      [{ FieldSelectors: [{ Field: "eventCategory", NotEquals: ["Data"] }] }],
      /exactly one value with the Equals/,
    ],
    [
      "an unknown category",
      [{ FieldSelectors: [{ Field: "eventCategory", Equals: ["Insight"] }] }],
      /Insight is not valid here/,
    ],
    [
      "an unknown field",
      [{ FieldSelectors: [mgmt, { Field: "awsRegion", Equals: ["x"] }] }],
      /awsRegion is not supported/,
    ],
    ["a bad field name", [{ FieldSelectors: [mgmt, { Field: "a b", Equals: ["x"] }] }], /not a valid field name/],
    ["no operator", [{ FieldSelectors: [mgmt, { Field: "readOnly" }] }], /needs at least one operator/],
    ["an empty operator list", [{ FieldSelectors: [mgmt, { Field: "readOnly", Equals: [] }] }], /at least one value/],
    ["an empty value", [{ FieldSelectors: [mgmt, { Field: "userIdentity.arn", Equals: [""] }] }], /1 to 2048/],
    [
      "readOnly with StartsWith",
      [{ FieldSelectors: [mgmt, { Field: "readOnly", StartsWith: ["t"] }] }],
      /supports only Equals/,
    ],
    [
      "readOnly yes",
      [{ FieldSelectors: [mgmt, { Field: "readOnly", Equals: ["yes"] }] }],
      /yes is not a valid value for readOnly/,
    ],
    [
      "eventName on trail management",
      [{ FieldSelectors: [mgmt, { Field: "eventName", Equals: ["X"] }] }],
      /eventName is not supported for Management/,
    ],
    [
      "eventSource Equals on management",
      [{ FieldSelectors: [mgmt, { Field: "eventSource", Equals: ["kms.amazonaws.com"] }] }],
      /supports only NotEquals/,
    ],
    [
      "excluding s3 on management",
      [{ FieldSelectors: [mgmt, { Field: "eventSource", NotEquals: ["s3.amazonaws.com"] }] }],
      /not a valid value for eventSource/,
    ],
    ["data without resources.type", [{ FieldSelectors: [data] }], /need a field selector on resources.type/],
    [
      "two resource types",
      [{ FieldSelectors: [data, { Field: "resources.type", Equals: ["AWS::S3::Object", "AWS::SNS::Topic"] }] }],
      /exactly one value/,
    ],
    [
      "an unknown resource type",
      [{ FieldSelectors: [data, { Field: "resources.type", Equals: ["AWS::S3::Bucket"] }] }],
      /not a valid value for resources.type/,
    ],
    [
      "a partial ARN with Equals",
      [{ FieldSelectors: [data, s3Type, { Field: "resources.ARN", Equals: ["arn:aws:s3:::bucket"] }] }],
      /full ARN of AWS::S3::Object/,
    ],
    [
      "a duplicated field",
      [{ FieldSelectors: [mgmt, { Field: "readOnly", Equals: ["true"] }, { Field: "readOnly", Equals: ["false"] }] }],
      /more than once/,
    ],
    [
      "network without eventSource",
      [{ FieldSelectors: [{ Field: "eventCategory", Equals: ["NetworkActivity"] }] }],
      /need a field selector on eventSource/,
    ],
    [
      "network errorCode other than VpceAccessDenied",
      [
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["NetworkActivity"] },
            { Field: "eventSource", Equals: ["kms.amazonaws.com"] },
            { Field: "errorCode", Equals: ["AccessDenied"] },
          ],
        },
      ],
      /VpceAccessDenied/,
    ],
    [
      "501 values",
      [
        {
          FieldSelectors: [mgmt, { Field: "userIdentity.arn", Equals: Array.from({ length: 500 }, (_, i) => `a${i}`) }],
        },
      ],
      /501 condition values/,
    ],
    ["a long name", [{ Name: "n".repeat(1001), FieldSelectors: [mgmt] }], /Name must be at most 1000/],
  ];
  for (const [name, input, message] of invalid) {
    it(`refuses ${name}`, () =>
      assert.throws(
        () => validateAdvancedEventSelectors(input, "trail"),
        (e: unknown) => e instanceof InvalidEventSelectorsError && message.test(e.message),
      ));
  }
});

describe("validateAdvancedEventSelectors (event data store)", () => {
  it("allows eventName/eventSource on management events and the store-only categories", () => {
    validateAdvancedEventSelectors(
      [{ FieldSelectors: [mgmt, { Field: "eventName", Equals: ["X"] }, { Field: "eventSource", StartsWith: ["s3"] }] }],
      "eventDataStore",
    );
    validateAdvancedEventSelectors(
      [{ FieldSelectors: [{ Field: "eventCategory", Equals: ["ConfigurationItem"] }] }],
      "eventDataStore",
    );
  });

  it("refuses filters on the store-only categories and more than 5 selectors", () => {
    assert.throws(
      () =>
        validateAdvancedEventSelectors(
          [
            {
              FieldSelectors: [
                { Field: "eventCategory", Equals: ["Insight"] },
                { Field: "readOnly", Equals: ["true"] },
              ],
            },
          ],
          "eventDataStore",
        ),
      InvalidEventSelectorsError,
    );
    assert.throws(
      () =>
        validateAdvancedEventSelectors(
          Array.from({ length: 6 }, () => ({ FieldSelectors: [mgmt] })),
          "eventDataStore",
        ),
      /at most 5/,
    );
  });
});
