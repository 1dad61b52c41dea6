import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AuthorizationRequest } from "../../../src/auth/authorizer.js";
import { compiledPolicyOf, evaluatePolicies } from "../../../src/auth/iam/evaluate.js";
import { NOW_MS, policy, principal, request } from "./fixtures.js";

const allowAll = policy({ Effect: "Allow", Action: "*", Resource: "*" });

function decide(documents: readonly string[], overrides: Partial<AuthorizationRequest> = {}): string {
  return evaluatePolicies(documents, request(overrides));
}

function s3(key: string, action = "s3:GetObject"): Partial<AuthorizationRequest> {
  return { action, resource: `arn:aws:s3:::${key}` };
}

describe("Policy evaluation logic: determining whether a request is allowed or denied within an account", () => {
  it("denies implicitly with no policy, and with no statement that applies", () => {
    assert.equal(decide([]), "ImplicitDeny");
    assert.equal(
      decide([policy({ Effect: "Allow", Action: "cloudtrail:LookupEvents", Resource: "*" })]),
      "ImplicitDeny",
    );
  });

  it("allows when a statement allows, and an explicit deny in any policy overrides every allow", () => {
    const denyStop = policy({ Effect: "Deny", Action: "cloudtrail:StopLogging", Resource: "*" });
    assert.equal(decide([allowAll]), "Allow");
    assert.equal(decide([allowAll, denyStop]), "ExplicitDeny");
    assert.equal(decide([denyStop, allowAll]), "ExplicitDeny");
    assert.equal(decide([denyStop]), "ExplicitDeny");
    assert.equal(decide([allowAll, denyStop], { action: "cloudtrail:StartLogging" }), "Allow");
  });
});

describe("IAM JSON policy elements: Action and NotAction", () => {
  it("matches the prefix and the action name case-insensitively, with wildcards", () => {
    const accessKeys = policy({ Effect: "Allow", Action: "iam:*AccessKey*", Resource: "*" });
    assert.equal(
      decide([policy({ Effect: "Allow", Action: "iam:ListAccessKeys", Resource: "*" })], {
        action: "IAM:listaccesskeys",
      }),
      "Allow",
    );
    for (const action of ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey"]) {
      assert.equal(decide([accessKeys], { action }), "Allow", action);
    }
    assert.equal(decide([accessKeys], { action: "iam:CreateUser" }), "ImplicitDeny");
    const single = policy({ Effect: "Allow", Action: "cloudtrail:?etTrailStatus", Resource: "*" });
    assert.equal(decide([single], { action: "cloudtrail:GetTrailStatus" }), "Allow");
    assert.equal(decide([single], { action: "cloudtrail:GGetTrailStatus" }), "ImplicitDeny");
  });

  it("NotAction with Allow: every action in every service except IAM's", () => {
    const notIam = policy({ Effect: "Allow", NotAction: "iam:*", Resource: "*" });
    assert.equal(decide([notIam], { action: "cloudtrail:StopLogging" }), "Allow");
    assert.equal(decide([notIam], { action: "iam:CreateUser" }), "ImplicitDeny");
  });

  it("NotAction with Allow, scoped by Resource: all S3 actions on S3 resources except DeleteBucket", () => {
    const notDelete = policy({ Effect: "Allow", NotAction: "s3:DeleteBucket", Resource: "arn:aws:s3:::*" });
    assert.equal(decide([notDelete], s3("bucket/key")), "Allow");
    assert.equal(decide([notDelete], s3("bucket", "s3:DeleteBucket")), "ImplicitDeny");
    // Other services' actions are not applicable to the S3 resources.
    assert.equal(decide([notDelete], { action: "cloudtrail:StopLogging" }), "ImplicitDeny");
  });

  it("NotAction with Deny: denies non-IAM actions when the caller did not sign in with MFA (BoolIfExists)", () => {
    const denyWithoutMfa = policy({
      Sid: "DenyAllUsersNotUsingMFA",
      Effect: "Deny",
      NotAction: "iam:*",
      Resource: "*",
      Condition: { BoolIfExists: { "aws:MultiFactorAuthPresent": "false" } },
    });
    // Long-term access keys carry no aws:MultiFactorAuthPresent: IfExists makes the condition true.
    assert.equal(decide([allowAll, denyWithoutMfa]), "ExplicitDeny");
    assert.equal(decide([allowAll, denyWithoutMfa], { action: "iam:ListUsers" }), "Allow");
    const withMfa = { context: { "aws:multifactorauthpresent": "true" } };
    assert.equal(decide([allowAll, denyWithoutMfa], withMfa), "Allow");
  });
});

describe("IAM JSON policy elements: Resource and NotResource", () => {
  it("expands * across / within the resource: DOC-EXAMPLE-BUCKET/*/test/*", () => {
    const objects = policy({
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "arn:aws:s3:::DOC-EXAMPLE-BUCKET/*/test/*",
    });
    const matched = [
      "1/test/object.jpg",
      "1/2/test/object.jpg",
      "1/2/test/3/object.jpg",
      "1/2/3/test/4/object.jpg",
      "1///test///object.jpg",
      "1/test/.jpg",
      "/test/object.jpg",
      "1/test/",
    ];
    for (const key of matched) assert.equal(decide([objects], s3(`DOC-EXAMPLE-BUCKET/${key}`)), "Allow", key);
    for (const key of ["1-test/object.jpg", "test/object.jpg", "1/2/test.jpg"]) {
      assert.equal(decide([objects], s3(`DOC-EXAMPLE-BUCKET/${key}`)), "ImplicitDeny", key);
    }
  });

  it("is case-sensitive: user/Bob is not user/bob", () => {
    const bob = policy({ Effect: "Allow", Action: "iam:*", Resource: "arn:aws:iam::123456789012:user/Bob" });
    assert.equal(decide([bob], { action: "iam:GetUser", resource: "arn:aws:iam::123456789012:user/Bob" }), "Allow");
    assert.equal(
      decide([bob], { action: "iam:GetUser", resource: "arn:aws:iam::123456789012:user/bob" }),
      "ImplicitDeny",
    );
  });

  it("keeps a wildcard inside its ARN segment unless it ends the segment", () => {
    const inAccount = policy({
      Effect: "Allow",
      Action: "*",
      Resource: "arn:aws:cloudtrail:us-east-1:1234*9012:trail/t",
    });
    assert.equal(decide([inAccount]), "Allow");
    const crossing = "arn:aws:cloudtrail:us-east-1:1234:x:9012:trail/t";
    assert.equal(decide([inAccount], { resource: crossing }), "ImplicitDeny");
    // "If the * wildcard is the last character of a resource ARN segment, it can expand to match
    // beyond the colon boundaries": the ARN operators' counter-example matches as a Resource.
    const finance = policy({ Effect: "Allow", Action: "*", Resource: "arn:aws:someservice:*:111122223333:finance/*" });
    const value = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
    assert.equal(decide([finance], { resource: value }), "Allow");
    const logs = policy({ Effect: "Allow", Action: "*", Resource: "arn:aws:logs:*" });
    assert.equal(decide([logs], { resource: "arn:aws:logs:us-east-1:123456789012:log-group:g:log-stream:s" }), "Allow");
    assert.equal(decide([logs], { resource: "arn:aws:s3:::logs" }), "ImplicitDeny");
  });

  it("NotResource with Deny: denies S3 everywhere except the Payroll folder", () => {
    const denyElsewhere = policy({
      Effect: "Deny",
      Action: "s3:*",
      NotResource: ["arn:aws:s3:::HRBucket/Payroll", "arn:aws:s3:::HRBucket/Payroll/*"],
    });
    assert.equal(decide([allowAll, denyElsewhere], s3("HRBucket/Payroll/march.csv")), "Allow");
    assert.equal(decide([allowAll, denyElsewhere], s3("HRBucket/Payroll")), "Allow");
    assert.equal(decide([allowAll, denyElsewhere], s3("HRBucket/Other/x")), "ExplicitDeny");
    // The statement is about S3 actions only.
    assert.equal(decide([allowAll, denyElsewhere], { action: "cloudtrail:StopLogging" }), "Allow");
  });
});

describe("IAM policy elements: Variables and tags", () => {
  const home = policy(
    {
      Action: ["s3:ListBucket"],
      Effect: "Allow",
      Resource: ["arn:aws:s3:::mybucket"],
      Condition: { StringLike: { "s3:prefix": ["${aws:username}/*"] } },
    },
    {
      Action: ["s3:GetObject", "s3:PutObject"],
      Effect: "Allow",
      Resource: ["arn:aws:s3:::mybucket/${aws:username}/*"],
    },
  );

  it("substitutes ${aws:username} in Resource and in condition values", () => {
    assert.equal(decide([home], s3("mybucket/bob/notes.txt")), "Allow");
    assert.equal(decide([home], s3("mybucket/alice/notes.txt")), "ImplicitDeny");
    const list = (prefix: string) => ({ ...s3("mybucket", "s3:ListBucket"), context: { "s3:prefix": prefix } });
    assert.equal(decide([home], list("bob/photos/")), "Allow");
    assert.equal(decide([home], list("alice/")), "ImplicitDeny");
  });

  it("matches nothing with a variable the request has no value for (a role session has no aws:username)", () => {
    const session = { principal: principal("AssumedRole", "Auditor/bob") };
    assert.equal(decide([home], { ...s3("mybucket/bob/notes.txt"), ...session }), "ImplicitDeny");
    // …whatever the caller puts in the service context: aws:username is derived from the principal.
    const forged = { ...s3("mybucket/bob/notes.txt"), ...session, context: { "aws:username": "bob" } };
    assert.equal(decide([home], forged), "ImplicitDeny");
  });

  it("treats ${aws:username} as literal text in a document without Version 2012-10-17", () => {
    const legacy = JSON.stringify({
      Statement: [{ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::mybucket/${aws:username}/*" }],
    });
    assert.equal(decide([legacy], s3("mybucket/bob/notes.txt")), "ImplicitDeny");
    assert.equal(decide([legacy], s3("mybucket/${aws:username}/notes.txt")), "Allow");
  });

  it("uses a default value when the key is absent: ${aws:PrincipalTag/team, 'company-wide'}", () => {
    const team = policy({
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "arn:aws:s3:::DOC-EXAMPLE-BUCKET-${aws:PrincipalTag/team, 'company-wide'}/*",
    });
    assert.equal(decide([team], s3("DOC-EXAMPLE-BUCKET-company-wide/join.txt")), "Allow");
    assert.equal(decide([team], s3("DOC-EXAMPLE-BUCKET-yellow/join.txt")), "ImplicitDeny");
    const yellow = { context: { "aws:principaltag/team": "yellow" } };
    assert.equal(decide([team], { ...s3("DOC-EXAMPLE-BUCKET-yellow/join.txt"), ...yellow }), "Allow");
    assert.equal(decide([team], { ...s3("DOC-EXAMPLE-BUCKET-company-wide/join.txt"), ...yellow }), "ImplicitDeny");
  });

  it("writes *, ? and $ themselves as ${*}, ${?}, ${$}, and a substituted value is never a wildcard", () => {
    const star = policy({ Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::b/${*}${?}${$}" });
    assert.equal(decide([star], s3("b/*?$")), "Allow");
    assert.equal(decide([star], s3("b/x?$")), "ImplicitDeny");
    const tagged = policy({
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "arn:aws:s3:::b/${aws:PrincipalTag/dir}/x",
    });
    const wildcardTag = { context: { "aws:principaltag/dir": "*" } };
    assert.equal(decide([tagged], { ...s3("b/*/x"), ...wildcardTag }), "Allow");
    assert.equal(decide([tagged], { ...s3("b/secret/x"), ...wildcardTag }), "ImplicitDeny");
  });

  it("policy variables with no value: StringEquals does not match, StringNotEquals does", () => {
    const deny = policy({
      Effect: "Deny",
      Action: "s3:GetObject",
      Resource: "arn:aws:s3:::example-bucket/*",
      Condition: { StringNotEquals: { "s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}" } },
    });
    const object = { ...s3("example-bucket/report"), context: { "s3:existingobjecttag/team": "red" } };
    assert.equal(decide([allowAll, deny], object), "ExplicitDeny");
    const sameTeam = { ...object, context: { ...object.context, "aws:principaltag/team": "red" } };
    assert.equal(decide([allowAll, deny], sameTeam), "Allow");
    const allowSame = policy({
      Effect: "Allow",
      Action: "s3:GetObject",
      Resource: "*",
      Condition: { StringEquals: { "s3:ExistingObjectTag/Team": "${aws:PrincipalTag/Team}" } },
    });
    assert.equal(decide([allowSame], object), "ImplicitDeny");
    assert.equal(decide([allowSame], sameTeam), "Allow");
  });
});

describe("IAM JSON policy element examples: AWS global condition keys", () => {
  it("AWS: Denies access to AWS based on the source IP", () => {
    const denyOutside = policy({
      Effect: "Deny",
      Action: "*",
      Resource: "*",
      Condition: {
        NotIpAddress: { "aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24"] },
        Bool: { "aws:ViaAWSService": "false" },
      },
    });
    assert.equal(decide([allowAll, denyOutside], { sourceIp: "192.0.2.17" }), "Allow");
    assert.equal(decide([allowAll, denyOutside], { sourceIp: "203.0.113.200" }), "Allow");
    assert.equal(decide([allowAll, denyOutside], { sourceIp: "::ffff:192.0.2.17" }), "Allow");
    assert.equal(decide([allowAll, denyOutside], { sourceIp: "198.51.100.1" }), "ExplicitDeny");
    assert.equal(decide([allowAll, denyOutside], { sourceIp: "2001:db8::1" }), "ExplicitDeny");
  });

  it("AWS: Allows access based on date and time (DateGreaterThan and DateLessThan on aws:CurrentTime)", () => {
    const window = policy({
      Effect: "Allow",
      Action: "service-prefix:action-name",
      Resource: "*",
      Condition: {
        DateGreaterThan: { "aws:CurrentTime": "2020-04-01T00:00:00Z" },
        DateLessThan: { "aws:CurrentTime": "2020-06-30T23:59:59Z" },
      },
    });
    const at = (iso: string) => ({ action: "service-prefix:action-name", nowMs: Date.parse(iso) });
    assert.equal(decide([window], at("2020-05-15T10:00:00Z")), "Allow");
    assert.equal(decide([window], at("2020-03-31T23:59:59Z")), "ImplicitDeny");
    assert.equal(decide([window], at("2020-04-01T00:00:00Z")), "ImplicitDeny");
    assert.equal(decide([window], at("2020-06-30T23:59:58Z")), "Allow");
    assert.equal(decide([window], at("2020-07-01T00:00:00Z")), "ImplicitDeny");
  });

  it("compares epoch seconds and ISO 8601 dates alike (aws:EpochTime)", () => {
    const before = (value: string) =>
      policy({ Effect: "Allow", Action: "*", Resource: "*", Condition: { DateLessThan: { "aws:EpochTime": value } } });
    const nowSeconds = String(NOW_MS / 1000);
    assert.equal(decide([before(String(NOW_MS / 1000 + 1))]), "Allow");
    assert.equal(decide([before(nowSeconds)]), "ImplicitDeny");
    assert.equal(decide([before("2024-05-01T12:00:01Z")]), "Allow");
    assert.equal(decide([before("2024-05-01")]), "ImplicitDeny");
  });

  it("puts the principal's keys in the request context (Principal key values)", () => {
    const expect = (key: string, value: string) =>
      policy({ Effect: "Allow", Action: "*", Resource: "*", Condition: { StringEquals: { [key]: value } } });
    const user = {};
    const root = { principal: principal("Root", "root") };
    const role = { principal: principal("AssumedRole", "Auditor/alice") };
    assert.equal(decide([expect("aws:PrincipalType", "User")], user), "Allow");
    assert.equal(decide([expect("aws:PrincipalType", "Account")], root), "Allow");
    assert.equal(decide([expect("aws:PrincipalType", "AssumedRole")], role), "Allow");
    assert.equal(decide([expect("aws:userid", "AIDAEXAMPLEBOB")], user), "Allow");
    assert.equal(decide([expect("aws:userid", "123456789012")], root), "Allow");
    assert.equal(decide([expect("aws:userid", "AROAEXAMPLEROLE:alice")], role), "Allow");
    assert.equal(decide([expect("aws:PrincipalArn", "arn:aws:iam::123456789012:user/bob")], user), "Allow");
    assert.equal(decide([expect("aws:PrincipalArn", "arn:aws:iam::123456789012:role/Auditor")], role), "Allow");
    assert.equal(decide([expect("aws:PrincipalAccount", "123456789012")], role), "Allow");
    assert.equal(decide([expect("aws:username", "bob")], user), "Allow");
    assert.equal(decide([expect("aws:SecureTransport", "true")], user), "Allow");
    assert.equal(
      decide([expect("aws:RequestedRegion", "eu-west-1")], { context: { "aws:requestedregion": "eu-west-1" } }),
      "Allow",
    );
    assert.equal(decide([expect("aws:CurrentTime", "2024-05-01T12:00:00.000Z")], user), "Allow");
    assert.equal(decide([expect("aws:EpochTime", String(NOW_MS / 1000))], user), "Allow");
  });
});

describe("the request context and the compiled-document cache", () => {
  it("lets no service key stand in for a key derived from the principal or the connection", () => {
    const fromOffice = policy({
      Effect: "Allow",
      Action: "*",
      Resource: "*",
      Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" }, StringEquals: { "aws:PrincipalType": "Account" } },
    });
    const forged = { "aws:sourceip": "10.0.0.1", "aws:principaltype": "Account", "AWS:SecureTransport": "true" };
    assert.equal(decide([fromOffice], { sourceIp: undefined, context: forged }), "ImplicitDeny");
    const overTls = policy({
      Effect: "Allow",
      Action: "*",
      Resource: "*",
      Condition: { Bool: { "aws:SecureTransport": "true" } },
    });
    assert.equal(decide([overTls], { secureTransport: undefined, context: forged }), "ImplicitDeny");
    assert.equal(decide([overTls], { secureTransport: true }), "Allow");
  });

  it("compiles a text once, and keeps a bounded number of compiled texts", () => {
    const first = policy({ Effect: "Allow", Action: "cloudtrail:LookupEvents", Resource: "*", Sid: "First" });
    const compiled = compiledPolicyOf(first);
    assert.equal(compiledPolicyOf(first), compiled);
    for (let i = 0; i < 1100; i++)
      compiledPolicyOf(policy({ Effect: "Allow", Action: `cloudtrail:Action${i}`, Resource: "*" }));
    const again = compiledPolicyOf(first);
    assert.notEqual(again, compiled, "the oldest text should have been evicted");
    assert.equal(evaluatePolicies([first], request({ action: "cloudtrail:LookupEvents" })), "Allow");
  });
});
