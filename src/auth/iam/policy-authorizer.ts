import type { Principal } from "../../stores/principals/index.js";
import type { AuthorizationDecision, AuthorizationRequest, Authorizer } from "../authorizer.js";
import { evaluatePolicies } from "./evaluate.js";
import { managedPolicy } from "./managed-policies.js";

/**
 * The identity-based policies attached to a principal. `documents` are the texts the caller's store
 * holds (inline policies, and the default versions of customer managed policies it resolved);
 * `awsManagedPolicyArns` are the attached AWS managed policies, which the authorizer resolves itself
 * from the texts built into Cairn.
 */
export interface AttachedPolicies {
  readonly documents: readonly string[];
  readonly awsManagedPolicyArns?: readonly string[];
}

export type PoliciesOf = (principal: Principal) => Promise<AttachedPolicies>;

/**
 * Decides calls the way IAM does from identity-based policies alone (no resource policies,
 * permissions boundaries, SCPs or session policies). The account's root user is not subject to
 * identity-based policies and is always allowed. An attached AWS managed ARN Cairn does not know
 * cannot be evaluated, so the call cannot be allowed: the decision is at best ImplicitDeny (an
 * explicit deny in the other documents still wins).
 */
export class PolicyAuthorizer implements Authorizer {
  constructor(private readonly policiesOf: PoliciesOf) {}

  async decide(request: AuthorizationRequest): Promise<AuthorizationDecision> {
    if (request.principal.type === "Root") return "Allow";
    const attached = await this.policiesOf(request.principal);
    const texts = [...attached.documents];
    let unknownManaged = false;
    for (const arn of attached.awsManagedPolicyArns ?? []) {
      const text = managedPolicy(arn);
      if (text === undefined) unknownManaged = true;
      else texts.push(text);
    }
    const decision = evaluatePolicies(texts, request);
    return unknownManaged && decision === "Allow" ? "ImplicitDeny" : decision;
  }
}
