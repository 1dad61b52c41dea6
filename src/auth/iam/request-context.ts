import type { Principal } from "../../stores/principals/index.js";
import { principalArn, type AuthorizationRequest } from "../authorizer.js";

/** The request context conditions and variables read: lower-cased key names (IAM's are case-insensitive). */
export type RequestContext = ReadonlyMap<string, string | readonly string[]>;

/** The IAM role an assumed-role principal (`<role>/<session>`) acts as. */
function roleOf(principal: Principal): { role: string; session: string } {
  const slash = principal.name.indexOf("/");
  return slash < 0
    ? { role: principal.name, session: principal.name }
    : { role: principal.name.slice(0, slash), session: principal.name.slice(slash + 1) };
}

/**
 * The `aws:` keys IAM puts in every request context for this kind of principal ("AWS global
 * condition context keys"; "Principal key values" in "IAM policy elements: Variables and tags"):
 * aws:PrincipalArn is the role's ARN for a role session, aws:userid is `role-id:session`, and
 * aws:username exists for IAM users only.
 */
function principalKeys(principal: Principal): [string, string][] {
  const account = principal.accountId;
  switch (principal.type) {
    case "Root":
      return [
        ["aws:principalarn", principalArn(principal)],
        ["aws:principaltype", "Account"],
        ["aws:userid", account],
      ];
    case "IAMUser":
      return [
        ["aws:principalarn", principalArn(principal)],
        ["aws:principaltype", "User"],
        ["aws:userid", principal.principalId],
        ["aws:username", principal.name],
      ];
    case "AssumedRole": {
      const { role, session } = roleOf(principal);
      return [
        ["aws:principalarn", `arn:aws:iam::${account}:role/${role}`],
        ["aws:principaltype", "AssumedRole"],
        ["aws:userid", `${principal.principalId}:${session}`],
      ];
    }
  }
}

/**
 * Builds the request context once per call. The service keys of `request.context` come first, so
 * that nothing in them can stand in for a key Cairn derives from the authenticated principal or the
 * connection. aws:ViaAWSService and aws:PrincipalIsAWSService are always present and false: no AWS
 * service calls Cairn on anyone's behalf, and IAM's documented deny examples test them with Bool.
 */
export function requestContextOf(request: AuthorizationRequest): RequestContext {
  const context = new Map<string, string | readonly string[]>();
  for (const [key, value] of Object.entries(request.context ?? {})) context.set(key.toLowerCase(), value);
  for (const [key, value] of principalKeys(request.principal)) context.set(key, value);
  context.set("aws:principalaccount", request.principal.accountId);
  context.set("aws:currenttime", new Date(request.nowMs).toISOString());
  context.set("aws:epochtime", String(Math.floor(request.nowMs / 1000)));
  context.set("aws:viaawsservice", "false");
  context.set("aws:principalisawsservice", "false");
  if (request.sourceIp !== undefined) context.set("aws:sourceip", request.sourceIp);
  else context.delete("aws:sourceip");
  if (request.secureTransport !== undefined) context.set("aws:securetransport", String(request.secureTransport));
  else context.delete("aws:securetransport");
  if (request.principal.type !== "IAMUser") context.delete("aws:username");
  return context;
}
