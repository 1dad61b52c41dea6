import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AuthorizationRequest } from "../../../src/auth/authorizer.js";
import { evaluatePolicies } from "../../../src/auth/iam/evaluate.js";
import { policy, principal, request } from "./fixtures.js";

type Context = NonNullable<AuthorizationRequest["context"]>;

/** Whether an Allow statement with this Condition element applies to a call with this context. */
function holds(
  condition: Record<string, unknown>,
  context: Context = {},
  overrides: Partial<AuthorizationRequest> = {},
) {
  const document = policy({ Effect: "Allow", Action: "*", Resource: "*", Condition: condition });
  return evaluatePolicies([document], request({ context, ...overrides })) === "Allow";
}

describe("IAM JSON policy elements: Condition operators", () => {
  it("String: StringEquals is case-sensitive; an absent key does not match (aws:PrincipalTag/job-category)", () => {
    const admin = { StringEquals: { "aws:PrincipalTag/job-category": "iamuser-admin" } };
    assert.equal(holds(admin, { "aws:principaltag/job-category": "iamuser-admin" }), true);
    assert.equal(holds(admin, { "aws:principaltag/job-category": "IAMUSER-ADMIN" }), false);
    assert.equal(holds(admin), false);
    const ignoringCase = { StringEqualsIgnoreCase: { "aws:PrincipalTag/job-category": "IAMUser-Admin" } };
    assert.equal(holds(ignoringCase, { "aws:principaltag/job-category": "iamuser-admin" }), true);
    // "*" is no wildcard for StringEquals.
    assert.equal(holds({ StringEquals: { "aws:principaltag/x": "a*" } }, { "aws:principaltag/x": "abc" }), false);
  });

  it("String: StringLike with wildcards and variables, the home-directory example (s3:prefix)", () => {
    const prefixes = { StringLike: { "s3:prefix": ["", "home/", "home/${aws:username}/"] } };
    assert.equal(holds(prefixes, { "s3:prefix": "" }), true);
    assert.equal(holds(prefixes, { "s3:prefix": "home/" }), true);
    assert.equal(holds(prefixes, { "s3:prefix": "home/bob/" }), true);
    assert.equal(holds(prefixes, { "s3:prefix": "home/alice/" }), false);
    const like = { StringLike: { "s3:prefix": "home/*/photos/??.jpg" } };
    assert.equal(holds(like, { "s3:prefix": "home/bob/x/photos/01.jpg" }), true);
    assert.equal(holds(like, { "s3:prefix": "home/bob/photos/1.jpg" }), false);
    assert.equal(holds({ StringNotLike: { "s3:prefix": "home/*" } }, { "s3:prefix": "tmp/x" }), true);
    assert.equal(holds({ StringNotLike: { "s3:prefix": "home/*" } }, { "s3:prefix": "home/x" }), false);
  });

  it("Numeric: NumericLessThanEquals on s3:max-keys, and an absent key does not match", () => {
    const upToTen = { NumericLessThanEquals: { "s3:max-keys": "10" } };
    assert.equal(holds(upToTen, { "s3:max-keys": "10" }), true);
    assert.equal(holds(upToTen, { "s3:max-keys": "9.5" }), true);
    assert.equal(holds(upToTen, { "s3:max-keys": "11" }), false);
    assert.equal(holds(upToTen, { "s3:max-keys": "ten" }), false);
    assert.equal(holds(upToTen), false);
    assert.equal(holds({ NumericNotEquals: { "s3:max-keys": ["10", "20"] } }, { "s3:max-keys": "20" }), false);
    assert.equal(holds({ NumericNotEquals: { "s3:max-keys": ["10", "20"] } }, { "s3:max-keys": "15" }), true);
    assert.equal(holds({ NumericGreaterThan: { "s3:max-keys": 10 } }, { "s3:max-keys": "11" }), true);
  });

  it("Date: aws:TokenIssueTime is absent for access keys, so DateGreaterThan denies", () => {
    const fresh = { DateGreaterThan: { "aws:TokenIssueTime": "2020-01-01T00:00:01Z" } };
    assert.equal(holds(fresh), false);
    assert.equal(holds(fresh, { "aws:tokenissuetime": "2020-02-01T00:00:00Z" }), true);
  });

  it("Boolean: the SSL example denies S3 when aws:SecureTransport is false", () => {
    const deny = policy({
      Sid: "BooleanExample",
      Action: "s3:*",
      Effect: "Deny",
      Resource: ["arn:aws:s3:::DOC-EXAMPLE-BUCKET", "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*"],
      Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
    const allow = policy({ Effect: "Allow", Action: "s3:*", Resource: "*" });
    const get = { action: "s3:GetObject", resource: "arn:aws:s3:::DOC-EXAMPLE-BUCKET/k" };
    assert.equal(evaluatePolicies([allow, deny], request({ ...get, secureTransport: false })), "ExplicitDeny");
    assert.equal(evaluatePolicies([allow, deny], request({ ...get, secureTransport: true })), "Allow");
  });

  it("Binary: BinaryEquals compares bytes against the policy's base 64", () => {
    const binary = { BinaryEquals: { "s3:key": "QmluYXJ5VmFsdWVJbkJhc2U2NA==" } };
    assert.equal(holds(binary, { "s3:key": Buffer.from("BinaryValueInBase64").toString("base64") }), true);
    assert.equal(holds(binary, { "s3:key": Buffer.from("Other").toString("base64") }), false);
    assert.equal(holds(binary), false);
  });

  it("IP address: a /24, a bare address as /32, IPv4 and IPv6 mixed", () => {
    const range = { IpAddress: { "aws:SourceIp": "203.0.113.0/24" } };
    assert.equal(holds(range, {}, { sourceIp: "203.0.113.255" }), true);
    assert.equal(holds(range, {}, { sourceIp: "203.0.114.0" }), false);
    assert.equal(holds(range, {}, { sourceIp: undefined }), false);
    const bare = { IpAddress: { "aws:SourceIp": "203.0.113.9" } };
    assert.equal(holds(bare, {}, { sourceIp: "203.0.113.9" }), true);
    assert.equal(holds(bare, {}, { sourceIp: "203.0.113.10" }), false);
    const mixed = { IpAddress: { "aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"] } };
    assert.equal(holds(mixed, {}, { sourceIp: "2001:db8:1234:5678:abcd::1" }), true);
    assert.equal(holds(mixed, {}, { sourceIp: "2001:db8:1234:5679::1" }), false);
    assert.equal(holds({ NotIpAddress: { "aws:SourceIp": "10.0.0.0/8" } }, {}, { sourceIp: "203.0.113.9" }), true);
  });

  it("ARN: ArnLike checks the six components separately, where StringLike matches across colons", () => {
    const pattern = "arn:aws:someservice:*:111122223333:finance/*";
    const value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
    assert.equal(holds({ StringLike: { "aws:SourceArn": pattern } }, { "aws:sourcearn": value }), true);
    assert.equal(holds({ ArnLike: { "aws:SourceArn": pattern } }, { "aws:sourcearn": value }), false);
    const own = "arn:aws:someservice:us-east-2:111122223333:finance/2024/q1.txt";
    assert.equal(holds({ ArnLike: { "aws:SourceArn": pattern } }, { "aws:sourcearn": own }), true);
    assert.equal(holds({ ArnEquals: { "aws:SourceArn": pattern } }, { "aws:sourcearn": own }), true);
    // The resource component keeps its own colons.
    const logs = "arn:aws:logs:us-east-1:111122223333:log-group:g:*";
    assert.equal(
      holds({ ArnLike: { "aws:SourceArn": logs } }, { "aws:sourcearn": logs.replace("*", "log-stream:s") }),
      true,
    );
    assert.equal(holds({ ArnNotLike: { "aws:SourceArn": pattern } }, { "aws:sourcearn": value }), true);
  });

  it("ARN: aws:SourceArn is absent when a user calls directly, so ArnEquals is false", () => {
    const topic = { ArnEquals: { "aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:TOPIC-ID" } };
    assert.equal(holds(topic), false);
    assert.equal(holds(topic, { "aws:sourcearn": "arn:aws:sns:us-east-1:123456789012:TOPIC-ID" }), true);
  });

  it("…IfExists: StringLikeIfExists on ec2:InstanceType holds where the key is absent", () => {
    const types = { StringLikeIfExists: { "ec2:InstanceType": ["t1.*", "t2.*", "m3.*"] } };
    assert.equal(holds(types), true);
    assert.equal(holds(types, { "ec2:instancetype": "t2.micro" }), true);
    assert.equal(holds(types, { "ec2:instancetype": "p4d.24xlarge" }), false);
    // The strict form, THISPOLICYDOESNOTWORK, fails for the resources without the key.
    assert.equal(holds({ StringLike: { "ec2:InstanceType": ["t1.*", "t2.*", "m3.*"] } }), false);
  });

  it("Null: aws:TokenIssueTime must not exist for a caller using long-term keys", () => {
    const longTerm = { Null: { "aws:TokenIssueTime": "true" } };
    assert.equal(holds(longTerm), true);
    assert.equal(holds(longTerm, { "aws:tokenissuetime": "2024-05-01T11:00:00Z" }), false);
    assert.equal(
      holds({ Null: { "aws:TokenIssueTime": false } }, { "aws:tokenissuetime": "2024-05-01T11:00:00Z" }),
      true,
    );
    assert.equal(holds({ Null: { "aws:username": "false" } }, {}, { principal: principal("Root", "root") }), false);
  });

  it("a key absent from the request: false, but true for a negated operator", () => {
    assert.equal(holds({ StringNotEquals: { "aws:PrincipalTag/team": "red" } }), true);
    assert.equal(holds({ StringNotLike: { "aws:PrincipalTag/team": "r*" } }), true);
    assert.equal(holds({ ArnNotLike: { "aws:SourceArn": "arn:aws:sns:*:*:t" } }), true);
    assert.equal(holds({ NotIpAddress: { "aws:SourceIp": "10.0.0.0/8" } }, {}, { sourceIp: undefined }), true);
    assert.equal(holds({ NumericNotEquals: { "s3:max-keys": "1" } }), true);
    assert.equal(holds({ DateNotEquals: { "aws:TokenIssueTime": "2020-01-01" } }), true);
    assert.equal(holds({ Bool: { "aws:MultiFactorAuthPresent": "false" } }), false);
    assert.equal(holds({ StringNotEqualsIfExists: { "aws:PrincipalTag/team": "red" } }), true);
  });

  it("condition key names are case-insensitive; values are not", () => {
    assert.equal(holds({ IpAddress: { "AWS:SOURCEIP": "203.0.113.0/24" } }), true);
    assert.equal(holds({ StringEquals: { "aws:UserName": "bob" } }), true);
    assert.equal(holds({ StringEquals: { "aws:UserName": "Bob" } }), false);
  });
});

describe("Creating a condition with multiple keys or values", () => {
  const block = {
    StringEqualsIgnoreCase: {
      "aws:PrincipalTag/department": ["finance", "hr", "legal"],
      "aws:PrincipalTag/role": ["audit", "security"],
    },
    StringEquals: { "aws:PrincipalAccount": "123456789012" },
  };

  it("ANDs operators and keys, ORs the values of one key", () => {
    assert.equal(holds(block, { "aws:principaltag/department": "HR", "aws:principaltag/role": "audit" }), true);
    assert.equal(holds(block, { "aws:principaltag/department": "hr" }), false);
    assert.equal(holds(block, { "aws:principaltag/department": "sales", "aws:principaltag/role": "audit" }), false);
    const otherAccount = { principal: { ...principal(), accountId: "999999999999" } };
    const tags = { "aws:principaltag/department": "hr", "aws:principaltag/role": "audit" };
    assert.equal(holds(block, tags, otherAccount), false);
  });

  it("evaluates several values of a negated operator as NOR: the value may match none of them", () => {
    const notThese = { StringNotEquals: { "aws:PrincipalAccount": ["123456789012", "111122223333"] } };
    assert.equal(holds(notThese), false);
    assert.equal(holds(notThese, {}, { principal: { ...principal(), accountId: "111122223333" } }), false);
    assert.equal(holds(notThese, {}, { principal: { ...principal(), accountId: "999999999999" } }), true);
  });

  it("ForAllValues: every requested DynamoDB attribute must be allowed; no value at all holds", () => {
    const only = { "ForAllValues:StringEquals": { "dynamodb:Attributes": ["ID", "Message", "Tags"] } };
    assert.equal(holds(only, { "dynamodb:attributes": ["Message", "Tags"] }), true);
    assert.equal(holds(only, { "dynamodb:attributes": ["ID", "Message", "Tags"] }), true);
    assert.equal(holds(only, { "dynamodb:attributes": ["Message", "UserName"] }), false);
    // "It also returns true if there are no keys in the request" (the documented warning).
    assert.equal(holds(only), true);
    assert.equal(holds(only, { "dynamodb:attributes": [] }), true);
  });

  it("ForAnyValue: one requested attribute in the list is enough; none at all is false", () => {
    const deny = policy({
      Effect: "Deny",
      Action: "dynamodb:PutItem",
      Resource: "arn:aws:dynamodb:*:*:table/Thread",
      Condition: { "ForAnyValue:StringEquals": { "dynamodb:Attributes": ["ID", "PostDateTime"] } },
    });
    const put = (attributes?: string[]) =>
      evaluatePolicies(
        [policy({ Effect: "Allow", Action: "dynamodb:*", Resource: "*" }), deny],
        request({
          action: "dynamodb:PutItem",
          resource: "arn:aws:dynamodb:us-east-1:123456789012:table/Thread",
          ...(attributes === undefined ? {} : { context: { "dynamodb:attributes": attributes } }),
        }),
      );
    assert.equal(put(["UserName", "Message", "PostDateTime"]), "ExplicitDeny");
    assert.equal(put(["UserName"]), "Allow");
    assert.equal(put(), "Allow");
    assert.equal(put([]), "Allow");
    assert.equal(holds({ "ForAnyValue:StringEqualsIfExists": { "dynamodb:Attributes": "ID" } }), true);
  });
});

describe("Multivalued context key examples: Deny with ForAllValues:StringNotLike on aws:TagKeys", () => {
  const deny = policy({
    Sid: "DenyRestrictedTags",
    Effect: "Deny",
    Action: ["iam:Tag*", "iam:UnTag*"],
    Resource: ["*"],
    Condition: { "ForAllValues:StringNotLike": { "aws:TagKeys": "key1*" } },
  });
  const tag = (tagKeys?: string[]) =>
    evaluatePolicies(
      [policy({ Effect: "Allow", Action: "iam:*", Resource: "*" }), deny],
      request({
        action: "iam:TagUser",
        resource: "arn:aws:iam::123456789012:user/bob",
        context: tagKeys && { "aws:tagkeys": tagKeys },
      }),
    );

  it("matches the documented table row by row", () => {
    assert.equal(tag(["key1:legal"]), "Allow");
    assert.equal(tag(["key1:hr", "key1:personnel"]), "Allow");
    assert.equal(tag(["key2:audit"]), "ExplicitDeny");
    assert.equal(tag(), "ExplicitDeny");
  });

  it("ForAnyValue with a negated operator: at least one value must match none of the policy values", () => {
    const anyOther = { "ForAnyValue:StringNotEquals": { "aws:TagKeys": ["a", "b"] } };
    assert.equal(holds(anyOther, { "aws:tagkeys": ["a", "b"] }), false);
    assert.equal(holds(anyOther, { "aws:tagkeys": ["a", "c"] }), true);
    assert.equal(holds(anyOther), false);
  });
});

describe("wildcard matching cost", () => {
  it("matches a pattern of many stars against a long value without backtracking blow-up", () => {
    const pattern = `${"*a".repeat(40)}*b`;
    const value = "a".repeat(4000);
    assert.equal(holds({ StringLike: { "s3:prefix": pattern } }, { "s3:prefix": value }), false);
    assert.equal(holds({ StringLike: { "s3:prefix": pattern } }, { "s3:prefix": `${value}b` }), true);
  });
});
