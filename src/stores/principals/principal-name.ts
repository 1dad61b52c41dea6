import type { PrincipalType } from "./principal.js";

// IAM's own rules: user and role names are 1–64 of [A-Za-z0-9+=,.@_-]; role session names are 2–64
// of the same characters. Keeping them means every name we accept could exist in real AWS.
const IAM_NAME = /^[\w+=,.@-]{1,64}$/;
const ROLE_SESSION_NAME = /^[\w+=,.@-]{2,64}$/;

/** The bootstrap admin's name; `cairn principal add` refuses it so the server's root key stays its own. */
export const BOOTSTRAP_ADMIN_NAME = "root";

export const PRINCIPAL_TYPES: readonly PrincipalType[] = ["IAMUser", "AssumedRole", "Root"];

export function isPrincipalType(text: string): text is PrincipalType {
  return (PRINCIPAL_TYPES as readonly string[]).includes(text);
}

/**
 * Returns why `name` is not a valid name for a principal of `type`, or undefined when it is.
 * AssumedRole names are `role/session` (a bare `role` means session = role, as userIdentityOf reads it).
 */
export function principalNameProblem(type: PrincipalType, name: string): string | undefined {
  if (type !== "AssumedRole") {
    return IAM_NAME.test(name) ? undefined : "must be 1–64 characters of letters, digits and +=,.@_-";
  }
  const slash = name.indexOf("/");
  const role = slash === -1 ? name : name.slice(0, slash);
  const session = slash === -1 ? name : name.slice(slash + 1);
  if (!IAM_NAME.test(role))
    return "must be role/session; the role name must be 1–64 characters of letters, digits and +=,.@_-";
  if (!ROLE_SESSION_NAME.test(session)) {
    return "must be role/session; the session name must be 2–64 characters of letters, digits and +=,.@_-";
  }
  return undefined;
}

/**
 * The IAM entity a principal belongs to: the user name, or the role name of a role session. Two keys
 * of the same entity share its unique id (AIDA…/AROA…).
 */
export function entityNameOf(type: PrincipalType, name: string): string {
  return type === "AssumedRole" && name.includes("/") ? name.slice(0, name.indexOf("/")) : name;
}
