/** The IAM-shaped API: users, their access keys and identity-based policies, in the caller's account. */
import type { IamDependencies, IamOperation } from "./iam-operation.js";
import { accessKeyOperations } from "./iam-access-keys.js";
import { userPolicyOperations } from "./iam-user-policies.js";
import { userOperations } from "./iam-users.js";

export type { IamDependencies, IamOperation, IamResult, XmlValue } from "./iam-operation.js";

export function iamOperations(deps: IamDependencies): ReadonlyMap<string, IamOperation> {
  return new Map(
    Object.entries({ ...userOperations(deps), ...accessKeyOperations(deps), ...userPolicyOperations(deps) }),
  );
}
