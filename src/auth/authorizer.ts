import type { Principal } from "../stores/principals/index.js";
import { ApiError } from "../lib/api-error.js";

/**
 * One call to authorise: who, the IAM action (`cloudtrail:StopLogging`), the resource ARN the
 * service authorisation reference names for it (`*` where it names none), and the request facts
 * that `aws:` condition keys read.
 */
export interface AuthorizationRequest {
  readonly principal: Principal;
  readonly action: string;
  readonly resource: string;
  readonly nowMs: number;
  readonly sourceIp?: string;
  readonly secureTransport?: boolean;
  /** Service-specific condition keys (`cloudtrail:…`, `s3:prefix`), lower-cased names. */
  readonly context?: Readonly<Record<string, string | readonly string[]>>;
}

/** IAM's three outcomes: an explicit deny wins over any allow; nothing that allows is an implicit deny. */
export type AuthorizationDecision = "Allow" | "ExplicitDeny" | "ImplicitDeny";

/** Decides calls the way IAM's identity-based policy evaluation does. */
export interface Authorizer {
  decide(request: AuthorizationRequest): Promise<AuthorizationDecision>;
}

/** The ARN IAM names a principal by in its messages. */
export function principalArn(principal: Principal): string {
  switch (principal.type) {
    case "Root":
      return `arn:aws:iam::${principal.accountId}:root`;
    case "IAMUser":
      return `arn:aws:iam::${principal.accountId}:user/${principal.name}`;
    case "AssumedRole": {
      const slash = principal.name.indexOf("/");
      const [role, session] =
        slash < 0
          ? [principal.name, principal.name]
          : [principal.name.slice(0, slash), principal.name.slice(slash + 1)];
      return `arn:aws:sts::${principal.accountId}:assumed-role/${role}/${session}`;
    }
  }
}

/**
 * AccessDeniedException worded as AWS words it ("User: arn:… is not authorized to perform: a on
 * resource: r because no identity-based policy allows the a action", or "… with an explicit deny in
 * an identity-based policy").
 */
export function accessDenied(
  request: AuthorizationRequest,
  decision: Exclude<AuthorizationDecision, "Allow">,
): ApiError {
  const why =
    decision === "ExplicitDeny"
      ? "with an explicit deny in an identity-based policy"
      : `because no identity-based policy allows the ${request.action} action`;
  return new ApiError(
    "AccessDeniedException",
    `User: ${principalArn(request.principal)} is not authorized to perform: ${request.action} on resource: ${request.resource} ${why}`,
  );
}

/** Resolves when the call is allowed; rejects with AccessDeniedException otherwise. */
export async function authorize(authorizer: Authorizer, request: AuthorizationRequest): Promise<void> {
  const decision = await authorizer.decide(request);
  if (decision !== "Allow") throw accessDenied(request, decision);
}
