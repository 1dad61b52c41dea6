import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { accessDenied, authorize } from "../../../src/auth/authorizer.js";
import { PolicyAuthorizer, type AttachedPolicies } from "../../../src/auth/iam/policy-authorizer.js";
import type { Principal } from "../../../src/stores/principals/index.js";
import { ApiError } from "../../../src/lib/api-error.js";
import { policy, principal, request, TRAIL_ARN } from "./fixtures.js";

const ADMINISTRATOR = "arn:aws:iam::aws:policy/AdministratorAccess";
const READ_ONLY = "arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess";
const denyStop = policy({ Effect: "Deny", Action: "cloudtrail:StopLogging", Resource: "*" });

/** An authorizer over a fixed attachment table, recording whose policies it asked for. */
function authorizerOf(byName: Record<string, AttachedPolicies>) {
  const asked: string[] = [];
  const authorizer = new PolicyAuthorizer(async (who: Principal) => {
    asked.push(who.name);
    return byName[who.name] ?? { documents: [] };
  });
  return { authorizer, asked };
}

describe("PolicyAuthorizer", () => {
  it("always allows the account's root user, without reading any policy", async () => {
    const { authorizer, asked } = authorizerOf({ root: { documents: [denyStop] } });
    assert.equal(await authorizer.decide(request({ principal: principal("Root", "root") })), "Allow");
    assert.deepEqual(asked, []);
  });

  it("denies implicitly a user with no policies", async () => {
    const { authorizer, asked } = authorizerOf({});
    assert.equal(await authorizer.decide(request()), "ImplicitDeny");
    assert.deepEqual(asked, ["bob"]);
  });

  it("resolves attached AWS managed policies by ARN, beside the documents the store holds", async () => {
    const { authorizer } = authorizerOf({
      bob: { documents: [denyStop], awsManagedPolicyArns: [ADMINISTRATOR] },
      alice: { documents: [], awsManagedPolicyArns: [READ_ONLY] },
    });
    assert.equal(await authorizer.decide(request()), "ExplicitDeny");
    assert.equal(await authorizer.decide(request({ action: "cloudtrail:StartLogging" })), "Allow");
    const alice = principal("IAMUser", "alice");
    assert.equal(await authorizer.decide(request({ principal: alice, action: "cloudtrail:LookupEvents" })), "Allow");
    assert.equal(await authorizer.decide(request({ principal: alice })), "ImplicitDeny");
  });

  it("never allows while an attached AWS managed ARN is unknown to this build; an explicit deny still shows", async () => {
    const unknown = "arn:aws:iam::aws:policy/RetiredPolicy";
    const { authorizer } = authorizerOf({
      bob: { documents: [policy({ Effect: "Allow", Action: "*", Resource: "*" })], awsManagedPolicyArns: [unknown] },
      alice: { documents: [denyStop], awsManagedPolicyArns: [unknown, ADMINISTRATOR] },
    });
    assert.equal(await authorizer.decide(request()), "ImplicitDeny");
    assert.equal(await authorizer.decide(request({ principal: principal("IAMUser", "alice") })), "ExplicitDeny");
  });

  it("fails closed when a stored document no longer parses", async () => {
    const { authorizer } = authorizerOf({ bob: { documents: ["{not json"], awsManagedPolicyArns: [ADMINISTRATOR] } });
    await assert.rejects(authorizer.decide(request()), { name: "MalformedPolicyDocumentError" });
  });

  it("rejects with AccessDeniedException worded as AWS words an implicit and an explicit deny", async () => {
    const { authorizer } = authorizerOf({ alice: { documents: [denyStop], awsManagedPolicyArns: [ADMINISTRATOR] } });
    const implicit = request();
    const expectedImplicit =
      `User: arn:aws:iam::123456789012:user/bob is not authorized to perform: cloudtrail:StopLogging on resource: ` +
      `${TRAIL_ARN} because no identity-based policy allows the cloudtrail:StopLogging action`;
    assert.equal(accessDenied(implicit, "ImplicitDeny").message, expectedImplicit);
    await assert.rejects(authorize(authorizer, implicit), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.equal(error.code, "AccessDeniedException");
      assert.equal(error.status, 403);
      assert.equal(error.message, expectedImplicit);
      return true;
    });
    const explicit = request({ principal: principal("IAMUser", "alice") });
    await assert.rejects(authorize(authorizer, explicit), {
      code: "AccessDeniedException",
      message:
        `User: arn:aws:iam::123456789012:user/alice is not authorized to perform: cloudtrail:StopLogging on resource: ` +
        `${TRAIL_ARN} with an explicit deny in an identity-based policy`,
    });
    await assert.doesNotReject(authorize(authorizer, { ...explicit, action: "cloudtrail:StartLogging" }));
  });
});
