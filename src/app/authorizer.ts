import type { Authorizer } from "../auth/authorizer.js";
import { managedPolicy } from "../auth/iam/managed-policies.js";
import { PolicyAuthorizer } from "../auth/iam/policy-authorizer.js";
import { parsePolicyDocument } from "../auth/iam/policy-document.js";
import { PolicyDocumentError } from "../auth/iam/policy-errors.js";
import { checkInlineUserPoliciesSize } from "../auth/iam/policy-size.js";
import type { IamDependencies } from "../control-plane/iam/index.js";
import { ApiError } from "../lib/api-error.js";
import { policyHolderOf, type PrincipalStore } from "../stores/principals/index.js";

/** IAM's decision for every call, from the policies the store holds for the caller's user or role. */
export function appAuthorizer(principals: PrincipalStore): Authorizer {
  return new PolicyAuthorizer(async (principal) => {
    const holder = policyHolderOf(principal);
    if (holder === undefined) return { documents: [] };
    const policies = await principals.policiesOf(holder);
    return { documents: policies.inline.map((policy) => policy.document), awsManagedPolicyArns: policies.managedArns };
  });
}

/** The managed policies known by ARN and the policy grammar, shared by the API and `cairn principal add`. */
export function policyChecks(): Omit<IamDependencies, "principals"> {
  return {
    managedPolicy,
    checkPolicyDocument: (text, userName) =>
      asApiError(() => parsePolicyDocument(text, { kind: "inline", ...(userName !== undefined ? { userName } : {}) })),
    checkInlineUserPolicies: (userName, texts) => asApiError(() => checkInlineUserPoliciesSize(userName, texts)),
  };
}

/** The engine's refusals, as the API's errors (MalformedPolicyDocument 400, LimitExceeded 409). */
function asApiError(check: () => unknown): void {
  try {
    check();
  } catch (error) {
    if (error instanceof PolicyDocumentError) throw new ApiError(error.code, error.message);
    throw error;
  }
}

/** What the IAM-shaped API needs: the store, the managed policies known by ARN, the policy grammar. */
export function iamDependencies(principals: PrincipalStore): IamDependencies {
  return { principals, ...policyChecks() };
}
