import type { SignatureClaim } from "../auth/sigv4-verify.js";
import type { OperationContext } from "../control-plane/operation.js";
import type { Principal } from "../stores/principals/index.js";
import type { AuditedCall } from "./audited-route.js";

/** What an operation handler runs with, for an authenticated call: its caller, scope and authoriser. */
export function operationContextOf(
  call: AuditedCall,
  principal: Principal,
  claim: Pick<SignatureClaim, "region">,
): OperationContext {
  return {
    principal,
    accountId: principal.accountId,
    region: claim.region,
    requestId: call.requestId,
    nowMs: call.nowMs,
    authorize: (action, resource) => call.authorize(action, resource),
  };
}
