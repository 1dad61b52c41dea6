import type { Authorizer } from "../auth/authorizer.js";
import type { IamDependencies } from "../control-plane/iam/index.js";
import type { PrincipalStore } from "../stores/principals/index.js";

/** The app's Authorizer. Replaced by the policy authorizer (src/auth/iam/) before this branch lands. */
export function appAuthorizer(_principals: PrincipalStore): Authorizer {
  return { decide: async () => "Allow" };
}

/** The managed policies known by ARN and the policy grammar, shared by the API and `cairn principal add`. */
export function policyChecks(): Omit<IamDependencies, "principals"> {
  return { managedPolicy: () => undefined, checkPolicyDocument: () => undefined };
}

/** What the IAM-shaped API needs: the store, the managed policies known by ARN, the policy grammar. */
export function iamDependencies(principals: PrincipalStore): IamDependencies {
  return { principals, ...policyChecks() };
}
