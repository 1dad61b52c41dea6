import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { compileEventSelectors, type SelectorConfiguration } from "../../src/selectors/selector-matcher.js";
import type { CloudTrailRecord } from "../../src/model/record.js";
import { invictusNormalized, otrfNormalized, record, s3ObjectEvent } from "./records.js";
import { samplesMissingReason } from "../helpers/sample-records.js";

const mgmtWrite = record();
const mgmtRead = record({ eventName: "ListUsers", readOnly: true });
const kmsRead = record({ eventSource: "kms.amazonaws.com", eventName: "Decrypt", readOnly: true });
const rdsData = record({ eventSource: "rdsdata.amazonaws.com", eventName: "ExecuteStatement" });
const getObject = s3ObjectEvent("GetObject", "arn:aws:s3:::logs-bucket/app/2024/a.json", true);
const putObjectTmp = s3ObjectEvent("PutObject", "arn:aws:s3:::logs-bucket/tmp/x", false);
const otherBucket = s3ObjectEvent("GetObject", "arn:aws:s3:::logs-bucket-2/a", true);
const lambdaInvoke = (fn: string): CloudTrailRecord =>
  record({
    eventSource: "lambda.amazonaws.com",
    eventName: "Invoke",
    managementEvent: false,
    eventCategory: "Data",
    resources: [{ type: "AWS::Lambda::Function", ARN: `arn:aws:lambda:us-east-1:111122223333:function:${fn}` }],
  });
const ddbGet = record({
  eventSource: "dynamodb.amazonaws.com",
  eventName: "GetItem",
  readOnly: true,
  managementEvent: false,
  eventCategory: "Data",
  resources: [{ type: "AWS::DynamoDB::Table", ARN: "arn:aws:dynamodb:us-east-1:111122223333:table/Orders" }],
});
const network = record({
  eventType: "AwsVpceEvent",
  eventCategory: "NetworkActivity",
  eventSource: "kms.amazonaws.com",
  eventName: "Decrypt",
  errorCode: "VpceAccessDenied",
  vpcEndpointId: "vpce-0123",
  managementEvent: undefined,
});
const insight = record({ eventType: "AwsCloudTrailInsight", eventCategory: "Insight" });
const consoleSession = record({ sessionCredentialFromConsole: "true", eventName: "StopInstances" });
const serviceEvent = record({ eventType: "AwsServiceEvent", eventName: "RotateKey", eventSource: "kms.amazonaws.com" });

interface Case {
  readonly name: string;
  readonly config: SelectorConfiguration;
  readonly yes: readonly CloudTrailRecord[];
  readonly no: readonly CloudTrailRecord[];
}

const basicCases: Case[] = [
  {
    name: "default: every management event, no data, network or Insights events",
    config: {},
    yes: [mgmtWrite, mgmtRead, kmsRead, rdsData, consoleSession, serviceEvent],
    no: [getObject, lambdaInvoke("f"), ddbGet, network, insight],
  },
  {
    name: "ReadOnly",
    config: { eventSelectors: [{ ReadWriteType: "ReadOnly" }] },
    yes: [mgmtRead, kmsRead],
    no: [mgmtWrite, rdsData, getObject],
  },
  {
    name: "WriteOnly (a record without readOnly counts as a write)",
    config: { eventSelectors: [{ ReadWriteType: "WriteOnly" }] },
    yes: [mgmtWrite, rdsData, record({ readOnly: undefined, eventName: "ConsoleLogin" })],
    no: [mgmtRead, kmsRead],
  },
  {
    name: "ExcludeManagementEventSources",
    config: { eventSelectors: [{ ExcludeManagementEventSources: ["kms.amazonaws.com", "rdsdata.amazonaws.com"] }] },
    yes: [mgmtWrite, mgmtRead],
    no: [kmsRead, rdsData],
  },
  {
    name: "IncludeManagementEvents false with an S3 bucket prefix",
    config: {
      eventSelectors: [
        {
          IncludeManagementEvents: false,
          DataResources: [{ Type: "AWS::S3::Object", Values: ["arn:aws:s3:::logs-bucket/app/"] }],
        },
      ],
    },
    yes: [getObject],
    no: [mgmtWrite, putObjectTmp, otherBucket],
  },
  {
    name: "S3 bucket/ matches every object of that bucket only (bucket-2 shares the name prefix but not the slash)",
    config: {
      eventSelectors: [{ DataResources: [{ Type: "AWS::S3::Object", Values: ["arn:aws:s3:::logs-bucket/"] }] }],
    },
    yes: [getObject, putObjectTmp, mgmtWrite],
    no: [otherBucket, lambdaInvoke("f")],
  },
  {
    name: "all S3 buckets (arn:aws:s3 and arn:aws:s3:::)",
    config: {
      eventSelectors: [
        { IncludeManagementEvents: false, DataResources: [{ Type: "AWS::S3::Object", Values: ["arn:aws:s3"] }] },
        { IncludeManagementEvents: false, DataResources: [{ Type: "AWS::S3::Object", Values: ["arn:aws:s3:::"] }] },
      ],
    },
    yes: [getObject, putObjectTmp, otherBucket],
    no: [mgmtWrite, lambdaInvoke("f"), ddbGet],
  },
  {
    name: "data events obey ReadWriteType too",
    config: {
      eventSelectors: [
        { ReadWriteType: "WriteOnly", DataResources: [{ Type: "AWS::S3::Object", Values: ["arn:aws:s3"] }] },
      ],
    },
    yes: [putObjectTmp, mgmtWrite],
    no: [getObject, mgmtRead],
  },
  {
    name: "one Lambda function: helloworld does not match helloworld2",
    config: {
      eventSelectors: [
        {
          IncludeManagementEvents: false,
          DataResources: [
            { Type: "AWS::Lambda::Function", Values: ["arn:aws:lambda:us-east-1:111122223333:function:helloworld"] },
          ],
        },
      ],
    },
    yes: [lambdaInvoke("helloworld"), lambdaInvoke("helloworld:3")],
    no: [lambdaInvoke("helloworld2"), getObject],
  },
  {
    name: "all Lambda functions and all DynamoDB tables",
    config: {
      eventSelectors: [
        {
          IncludeManagementEvents: false,
          DataResources: [
            { Type: "AWS::Lambda::Function", Values: ["arn:aws:lambda"] },
            { Type: "AWS::DynamoDB::Table", Values: ["arn:aws:dynamodb"] },
          ],
        },
      ],
    },
    yes: [lambdaInvoke("a"), lambdaInvoke("b"), ddbGet],
    no: [getObject, mgmtRead],
  },
  {
    name: "a resource of another type never matches",
    config: {
      eventSelectors: [
        {
          IncludeManagementEvents: false,
          DataResources: [{ Type: "AWS::DynamoDB::Table", Values: ["arn:aws:dynamodb"] }],
        },
      ],
    },
    yes: [ddbGet],
    no: [lambdaInvoke("a")],
  },
];

const advancedCases: Case[] = [
  {
    name: "management events, write only, without KMS",
    config: {
      advancedEventSelectors: [
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["Management"] },
            { Field: "readOnly", Equals: ["false"] },
            { Field: "eventSource", NotEquals: ["kms.amazonaws.com"] },
          ],
        },
      ],
    },
    yes: [mgmtWrite, rdsData],
    no: [mgmtRead, kmsRead, serviceEvent, getObject],
  },
  {
    name: "S3 objects under a prefix except tmp/ (the spec §6.2 example)",
    config: {
      advancedEventSelectors: [
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["Data"] },
            { Field: "resources.type", Equals: ["AWS::S3::Object"] },
            {
              Field: "resources.ARN",
              StartsWith: ["arn:aws:s3:::logs-bucket/"],
              NotStartsWith: ["arn:aws:s3:::logs-bucket/tmp/"],
            },
          ],
        },
      ],
    },
    yes: [getObject],
    no: [putObjectTmp, otherBucket, mgmtWrite],
  },
  {
    name: "SELECT operators OR together (Equals, StartsWith, EndsWith)",
    config: {
      advancedEventSelectors: [
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["Management"] },
            { Field: "eventName", Equals: ["ListUsers"], StartsWith: ["Decr"], EndsWith: ["Statement"] },
          ],
        },
      ],
    },
    yes: [mgmtRead, kmsRead, rdsData],
    no: [mgmtWrite],
  },
  {
    name: "DESELECT operators: any match rejects",
    config: {
      advancedEventSelectors: [
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["Management"] },
            { Field: "userIdentity.arn", NotEquals: ["arn:aws:iam::111122223333:user/bob"], NotEndsWith: ["/alice"] },
          ],
        },
      ],
    },
    yes: [
      record({ userIdentity: { arn: "arn:aws:iam::111122223333:user/carol" } }),
      record({ userIdentity: undefined }),
    ],
    no: [mgmtWrite, record({ userIdentity: { arn: "arn:aws:iam::111122223333:user/bob" } })],
  },
  {
    name: "OR across selectors, AND across fields",
    config: {
      advancedEventSelectors: [
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["Management"] },
            { Field: "readOnly", Equals: ["true"] },
          ],
        },
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["Data"] },
            { Field: "resources.type", Equals: ["AWS::Lambda::Function"] },
          ],
        },
      ],
    },
    yes: [mgmtRead, kmsRead, lambdaInvoke("x")],
    no: [mgmtWrite, getObject, ddbGet],
  },
  {
    name: "resources.ARN looks only at resources of the selected type (not the bucket resource)",
    config: {
      advancedEventSelectors: [
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["Data"] },
            { Field: "resources.type", Equals: ["AWS::S3::Object"] },
            { Field: "resources.ARN", Equals: ["arn:aws:s3:::logs-bucket"] },
          ],
        },
      ],
    },
    yes: [],
    no: [getObject, putObjectTmp],
  },
  {
    name: "network activity events by source, error code and endpoint",
    config: {
      advancedEventSelectors: [
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["NetworkActivity"] },
            { Field: "eventSource", Equals: ["kms.amazonaws.com"] },
            { Field: "errorCode", Equals: ["VpceAccessDenied"] },
            { Field: "vpcEndpointId", StartsWith: ["vpce-0"] },
          ],
        },
      ],
    },
    yes: [network],
    no: [kmsRead, record({ ...network, vpcEndpointId: "vpce-9" }), record({ ...network, errorCode: undefined })],
  },
  {
    name: "sessionCredentialFromConsole and eventType",
    config: {
      advancedEventSelectors: [
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["Management"] },
            { Field: "sessionCredentialFromConsole", NotEquals: ["true"] },
            { Field: "eventType", NotEquals: ["AwsServiceEvent"] },
          ],
        },
      ],
    },
    yes: [mgmtWrite, mgmtRead],
    no: [consoleSession, serviceEvent],
  },
  {
    name: "values are literal: * is no wildcard",
    config: {
      advancedEventSelectors: [
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["Management"] },
            { Field: "eventName", Equals: ["*"] },
          ],
        },
      ],
    },
    yes: [record({ eventName: "*" })],
    no: [mgmtWrite],
  },
];

describe("compileEventSelectors", () => {
  for (const c of [...basicCases, ...advancedCases]) {
    it(c.name, () => {
      const matcher = compileEventSelectors(c.config);
      c.yes.forEach((r, i) => assert.equal(matcher.matches(r), true, `yes[${i}] ${r.eventName}`));
      c.no.forEach((r, i) => assert.equal(matcher.matches(r), false, `no[${i}] ${r.eventName}`));
    });
  }
});

const samplesSkip = samplesMissingReason();

describe("compileEventSelectors over real records", { skip: samplesSkip }, () => {
  const invictus = samplesSkip === false ? invictusNormalized() : [];
  const otrf = samplesSkip === false ? otrfNormalized() : [];

  it("reads the samples", () => {
    assert.ok(invictus.length > 2800, `invictus: ${invictus.length}`);
    assert.equal(otrf.filter((r) => r.eventCategory === "Data").length, 9);
  });

  it("the default selector takes every management event and no data event", () => {
    const matcher = compileEventSelectors({});
    for (const r of [...invictus, ...otrf])
      assert.equal(matcher.matches(r), r.eventCategory === "Management", r.eventID);
  });

  it("basic ReadOnly/WriteOnly split the management events exactly by readOnly", () => {
    const ro = compileEventSelectors({ eventSelectors: [{ ReadWriteType: "ReadOnly" }] });
    const wo = compileEventSelectors({ eventSelectors: [{ ReadWriteType: "WriteOnly" }] });
    let reads = 0;
    for (const r of invictus) {
      assert.notEqual(ro.matches(r), wo.matches(r), r.eventID);
      assert.equal(ro.matches(r), r.readOnly === true, r.eventID);
      if (ro.matches(r)) reads += 1;
    }
    assert.ok(reads > 0 && reads < invictus.length);
  });

  it("basic and the equivalent advanced selectors agree on every record", () => {
    const pairs: Array<[SelectorConfiguration, SelectorConfiguration]> = [
      [
        { eventSelectors: [{ ReadWriteType: "WriteOnly", ExcludeManagementEventSources: ["kms.amazonaws.com"] }] },
        {
          advancedEventSelectors: [
            {
              FieldSelectors: [
                { Field: "eventCategory", Equals: ["Management"] },
                { Field: "readOnly", Equals: ["false"] },
                { Field: "eventSource", NotEquals: ["kms.amazonaws.com"] },
              ],
            },
          ],
        },
      ],
      [
        {
          eventSelectors: [
            {
              IncludeManagementEvents: false,
              DataResources: [
                { Type: "AWS::S3::Object", Values: ["arn:aws:s3:::mordors3stack-s3bucket-llp2yingx64a/"] },
              ],
            },
          ],
        },
        {
          advancedEventSelectors: [
            {
              FieldSelectors: [
                { Field: "eventCategory", Equals: ["Data"] },
                { Field: "resources.type", Equals: ["AWS::S3::Object"] },
                { Field: "resources.ARN", StartsWith: ["arn:aws:s3:::mordors3stack-s3bucket-llp2yingx64a/"] },
              ],
            },
          ],
        },
      ],
    ];
    for (const [basic, advanced] of pairs) {
      const a = compileEventSelectors(basic);
      const b = compileEventSelectors(advanced);
      for (const r of [...invictus, ...otrf]) assert.equal(a.matches(r), b.matches(r), r.eventID);
    }
  });

  it("an S3 data selector takes exactly the real GetObject/ListObjects events (ListObjects carries an ARNPrefix)", () => {
    const matcher = compileEventSelectors({
      eventSelectors: [
        {
          IncludeManagementEvents: false,
          DataResources: [{ Type: "AWS::S3::Object", Values: ["arn:aws:s3:::mordors3stack-s3bucket-llp2yingx64a/"] }],
        },
      ],
    });
    const matched = otrf.filter((r) => matcher.matches(r)).map((r) => r.eventName);
    assert.deepEqual([...new Set(matched)].sort(), ["GetObject", "ListObjects"]);
    assert.equal(matched.length, 9);
    const none = compileEventSelectors({
      eventSelectors: [
        {
          IncludeManagementEvents: false,
          DataResources: [
            { Type: "AWS::S3::Object", Values: ["arn:aws:s3:::mordors3stack-s3bucket-llp2yingx64a/secret/"] },
          ],
        },
      ],
    });
    assert.deepEqual(
      otrf.filter((r) => r.eventName === "GetObject" && none.matches(r)),
      [],
    );
  });

  it("advanced eventName selection on real records equals a plain filter", () => {
    const matcher = compileEventSelectors({
      advancedEventSelectors: [
        {
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["Management"] },
            { Field: "eventType", Equals: ["AwsApiCall"] },
            { Field: "userIdentity.arn", StartsWith: ["arn:aws:sts::"] },
          ],
        },
      ],
    });
    const expected = invictus.filter(
      (r) =>
        r.eventType === "AwsApiCall" &&
        typeof r.userIdentity?.arn === "string" &&
        r.userIdentity.arn.startsWith("arn:aws:sts::"),
    );
    assert.ok(expected.length > 0);
    assert.deepEqual(
      invictus.filter((r) => matcher.matches(r)),
      expected,
    );
  });
});
