import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePolicyDocument, type ParsePolicyOptions } from "../../../src/auth/iam/policy-document.js";
import {
  MalformedPolicyDocumentError,
  PolicyDocumentError,
  PolicyTooLargeError,
} from "../../../src/auth/iam/policy-errors.js";
import {
  checkInlineUserPoliciesSize,
  INLINE_USER_POLICY_SIZE_MAX_CHARS,
  MANAGED_POLICY_SIZE_MAX_CHARS,
  policySizeChars,
} from "../../../src/auth/iam/policy-size.js";
import { policy } from "./fixtures.js";

const inline: ParsePolicyOptions = { kind: "inline", userName: "bob" };
const allowAll = { Effect: "Allow", Action: "*", Resource: "*" };

function refused(text: string, message: string, options: ParsePolicyOptions = inline): void {
  assert.throws(
    () => parsePolicyDocument(text, options),
    (error: unknown) => {
      assert.ok(
        error instanceof MalformedPolicyDocumentError,
        `expected MalformedPolicyDocument, got ${String(error)}`,
      );
      assert.equal(error.code, "MalformedPolicyDocument");
      assert.equal(error.message, message);
      return true;
    },
  );
}

/** A document whose size, as IAM counts it, is exactly `size` characters, padded with whitespace. */
function documentOfSize(size: number): string {
  const base = policy({ Effect: "Allow", Action: "cloudtrail:LookupEvents", Resource: "arn:aws:s3:::b/" });
  const text = base.replace("arn:aws:s3:::b/", `arn:aws:s3:::b/${"x".repeat(size - policySizeChars(base))}`);
  return text.replace(/,/g, ",\n    ");
}

describe("parsePolicyDocument: the grammar (IAM JSON policy element reference)", () => {
  it("normalises a valid document: one statement becomes a list, every element a list, values strings", () => {
    const parsed = parsePolicyDocument(
      JSON.stringify({
        Version: "2012-10-17",
        Id: "example",
        Statement: {
          Sid: "Stmt1",
          Effect: "Deny",
          NotAction: "iam:*",
          Resource: "*",
          Condition: { BoolIfExists: { "aws:MultiFactorAuthPresent": false }, NumericLessThan: { "s3:max-keys": 10 } },
        },
      }),
      inline,
    );
    assert.deepEqual(parsed, {
      Version: "2012-10-17",
      Id: "example",
      Statement: [
        {
          Sid: "Stmt1",
          Effect: "Deny",
          NotAction: ["iam:*"],
          Resource: ["*"],
          Condition: {
            BoolIfExists: { "aws:MultiFactorAuthPresent": ["false"] },
            NumericLessThan: { "s3:max-keys": ["10"] },
          },
        },
      ],
    });
  });

  it("accepts a document without Version (the 2008-10-17 language) and 2008-10-17 itself", () => {
    const statement = { Effect: "Allow", Action: ["cloudtrail:Describe*"], Resource: ["*"] };
    assert.deepEqual(parsePolicyDocument(JSON.stringify({ Statement: [statement] }), inline), {
      Statement: [statement],
    });
    const old = JSON.stringify({ Version: "2008-10-17", Statement: [statement] });
    assert.equal(parsePolicyDocument(old, inline).Version, "2008-10-17");
  });

  it("refuses text that is not JSON, or not an object: Syntax errors in policy.", () => {
    refused("{", "Syntax errors in policy.");
    refused("null", "Syntax errors in policy.");
    refused("[]", "Syntax errors in policy.");
  });

  it("refuses Principal and NotPrincipal in an identity-based policy", () => {
    refused(policy({ ...allowAll, Principal: { AWS: "*" } }), "Policy document should not specify a principal.");
    refused(policy({ ...allowAll, NotPrincipal: { AWS: "*" } }), "Policy document should not specify a principal.");
  });

  it("requires Effect, case-sensitive Allow or Deny (IAM JSON policy elements: Effect)", () => {
    refused(policy({ Action: "*", Resource: "*" }), "Missing required field Effect");
    refused(policy({ ...allowAll, Effect: "allow" }), "Syntax errors in policy.");
  });

  it("requires exactly one of Action and NotAction", () => {
    refused(policy({ Effect: "Allow", Resource: "*" }), "Policy statement must contain actions.");
    refused(policy({ ...allowAll, Action: [] }), "Policy statement must contain actions.");
    refused(policy({ ...allowAll, NotAction: "iam:*" }), "Syntax errors in policy.");
    refused(policy({ ...allowAll, Action: 5 }), "Syntax errors in policy.");
    refused(policy({ ...allowAll, Action: ["s3:GetObject", 5] }), "Syntax errors in policy.");
  });

  it("requires exactly one of Resource and NotResource, each an ARN or *", () => {
    refused(policy({ Effect: "Allow", Action: "*" }), "Policy statement must contain resources.");
    refused(policy({ ...allowAll, Resource: [] }), "Policy statement must contain resources.");
    refused(policy({ ...allowAll, NotResource: "*" }), "Syntax errors in policy.");
    refused(
      policy({ ...allowAll, Resource: "sns-topic-name" }),
      'Resource sns-topic-name must be in ARN format or "*".',
    );
    refused(policy({ ...allowAll, Resource: "" }), 'Resource  must be in ARN format or "*".');
    refused(policy({ ...allowAll, Resource: "arn:aws:s3" }), 'Resource arn:aws:s3 must be in ARN format or "*".');
    // A * that ends the ARN early reaches over the segments it leaves out.
    assert.deepEqual(
      parsePolicyDocument(policy({ ...allowAll, Resource: "arn:aws:ec2:*" }), inline).Statement[0]?.Resource,
      ["arn:aws:ec2:*"],
    );
  });

  it("requires actions and condition keys prefaced by a vendor", () => {
    refused(
      policy({ ...allowAll, Action: "StopLogging" }),
      "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
    );
    refused(
      policy({ ...allowAll, Action: ":StopLogging" }),
      "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
    );
    refused(policy({ ...allowAll, Action: "cloudtrail:a:b" }), "Actions/Condition can contain only one colon.");
    refused(
      policy({ ...allowAll, Action: "*:Untag*" }),
      "Action vendors (e.g., aws, ec2, etc.) must not contain wildcards",
    );
    refused(
      policy({ ...allowAll, Condition: { IpAddress: { SourceIp: "203.0.113.0/24" } } }),
      "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
    );
  });

  it("refuses unknown elements, at the top and in a statement", () => {
    // A Condition outside the statement (scality/Arsenal#121) is no element of a document.
    refused(
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [allowAll],
        Condition: { Bool: { "aws:SecureTransport": "true" } },
      }),
      "Syntax errors in policy.",
    );
    refused(policy({ ...allowAll, Actions: "s3:*" }), "Syntax errors in policy.");
    refused(JSON.stringify({ Version: "2012-10-17" }), "Syntax errors in policy.");
    refused(JSON.stringify({ Version: "2012-10-17", Statement: [] }), "Syntax errors in policy.");
  });

  it("knows condition operators by their exact names (IAM JSON policy elements: Condition operators)", () => {
    for (const name of [
      "StringEqual",
      "stringequals",
      "NullIfExists",
      "ForAllValues:Null",
      "ForAnyValues:StringLike",
    ]) {
      refused(policy({ ...allowAll, Condition: { [name]: { "aws:username": "bob" } } }), "Syntax errors in policy.");
    }
    const operators: [string, string][] = [
      ["ForAnyValue:StringLikeIfExists", "a*"],
      ["ForAllValues:ArnEquals", "arn:aws:sns:*:*:t"],
      ["DateLessThanEqualsIfExists", "2020-06-30T23:59:59Z"],
      ["NotIpAddress", "2001:DB8:1234:5678::/64"],
      ["Null", "true"],
    ];
    for (const [name, value] of operators) {
      assert.doesNotThrow(() =>
        parsePolicyDocument(policy({ ...allowAll, Condition: { [name]: { "aws:x": value } } }), inline),
      );
    }
  });

  it("refuses a condition value its operator cannot compare", () => {
    const cases: [string, unknown][] = [
      ["NumericLessThan", "ten"],
      ["DateGreaterThan", "yesterday"],
      ["IpAddress", "10.0.0.0/33"],
      ["NotIpAddress", "not-an-ip"],
      ["Bool", "yes"],
      ["Null", "maybe"],
      ["BinaryEquals", "not base64!"],
      ["StringEquals", []],
      ["StringEquals", null],
      ["StringEquals", { nested: true }],
    ];
    for (const [operator, value] of cases) {
      refused(policy({ ...allowAll, Condition: { [operator]: { "aws:x": value } } }), "Syntax errors in policy.");
    }
    // A Boolean value may be a variable, resolved per request.
    assert.doesNotThrow(() =>
      parsePolicyDocument(policy({ ...allowAll, Condition: { Bool: { "aws:SecureTransport": "${aws:x}" } } }), inline),
    );
  });

  it("checks Sids: alphanumeric and unique within the document (IAM JSON policy elements: Sid)", () => {
    refused(
      policy({ ...allowAll, Sid: "autogenerated-id" }),
      "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
    );
    refused(
      policy({ ...allowAll, Sid: "One" }, { ...allowAll, Sid: "One" }),
      "Statement IDs (SID) in a single policy must be unique.",
    );
    assert.doesNotThrow(() =>
      parsePolicyDocument(policy({ ...allowAll, Sid: "One" }, { ...allowAll, Sid: "Two" }), inline),
    );
  });

  it("answers 'The policy failed legacy parsing' for any grammar error without Version 2012-10-17", () => {
    // hashicorp/terraform#10057: no Version and Effect "allow".
    refused(JSON.stringify({ Statement: [{ ...allowAll, Effect: "allow" }] }), "The policy failed legacy parsing");
    refused(
      JSON.stringify({ Version: "2008-10-17", Statement: [{ Effect: "Allow", Action: "*" }] }),
      "The policy failed legacy parsing",
    );
    refused(JSON.stringify({ Version: "2012-10-18", Statement: [allowAll] }), "The policy failed legacy parsing");
    refused(JSON.stringify({ Version: 2012, Statement: [allowAll] }), "The policy failed legacy parsing");
  });
});

describe("policy size quotas (IAM and AWS STS quotas: white space not counted)", () => {
  it("counts characters without the white space between JSON tokens, but with the white space in values", () => {
    assert.equal(policySizeChars('{ "a" : "x y" ,\n\t"b": [1, 2] }'), '{"a":"x y","b":[1,2]}'.length);
    assert.equal(policySizeChars('{"a":"quote \\" space"}'), '{"a":"quote \\" space"}'.length);
  });

  it("holds an inline user policy to 2,048 characters, worded as PutUserPolicy", () => {
    const fits = documentOfSize(INLINE_USER_POLICY_SIZE_MAX_CHARS);
    assert.ok(fits.length > INLINE_USER_POLICY_SIZE_MAX_CHARS, "the padding whitespace must not count");
    assert.doesNotThrow(() => parsePolicyDocument(fits, inline));
    assert.throws(
      () => parsePolicyDocument(documentOfSize(INLINE_USER_POLICY_SIZE_MAX_CHARS + 1), inline),
      (error: unknown) =>
        error instanceof PolicyTooLargeError &&
        error instanceof PolicyDocumentError &&
        error.code === "LimitExceeded" &&
        error.limitChars === 2048 &&
        error.sizeChars === 2049 &&
        error.message === "Maximum policy size of 2048 bytes exceeded for user bob",
    );
  });

  it("holds a user's inline policies to 2,048 characters together", () => {
    const half = documentOfSize(1024);
    assert.doesNotThrow(() => checkInlineUserPoliciesSize("bob", [half, half]));
    assert.throws(
      () => checkInlineUserPoliciesSize("bob", [half, documentOfSize(1025)]),
      /^PolicyTooLargeError: Maximum policy size of 2048 bytes exceeded for user bob$/,
    );
  });

  it("holds a customer managed policy to 6,144 characters, worded as CreatePolicy; AWS's own texts to none", () => {
    assert.doesNotThrow(() => parsePolicyDocument(documentOfSize(MANAGED_POLICY_SIZE_MAX_CHARS), { kind: "managed" }));
    const large = documentOfSize(MANAGED_POLICY_SIZE_MAX_CHARS + 1);
    assert.throws(() => parsePolicyDocument(large, { kind: "managed" }), {
      name: "PolicyTooLargeError",
      code: "LimitExceeded",
      message: "Cannot exceed quota for PolicySize: 6144",
    });
    assert.doesNotThrow(() => parsePolicyDocument(large, { kind: "aws-managed" }));
  });
});
