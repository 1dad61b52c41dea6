import { isPlainObject } from "../lib/plain-object.js";

/** The principals a resource-policy statement names (`"*"` or the `AWS` list). */
export function policyPrincipals(statement: Record<string, unknown>): string[] {
  const principal = statement["Principal"];
  if (principal === "*") return ["*"];
  const aws = isPlainObject(principal) ? principal["AWS"] : undefined;
  return ([] as unknown[]).concat(aws ?? []).filter((p): p is string => typeof p === "string");
}

/**
 * Whether the resource policy lets this caller PutAuditEvents: an Allow statement naming the account
 * (id, `arn:aws:iam::<acct>:root`) or the caller's ARN, with a matching `cloudtrail:ExternalId`
 * condition when it has one, and no matching Deny.
 */
export function policyAllows(
  policyText: string | undefined,
  caller: { accountId: string; arn: string },
  externalId: string | undefined,
): boolean {
  if (policyText === undefined) return false;
  const policy = JSON.parse(policyText) as { Statement: unknown };
  const statements = ([] as unknown[]).concat(policy.Statement).filter(isPlainObject);
  const matches = (statement: Record<string, unknown>): boolean => {
    const principals = policyPrincipals(statement);
    const named = principals.some(
      (p) => p === "*" || p === caller.accountId || p === `arn:aws:iam::${caller.accountId}:root` || p === caller.arn,
    );
    if (!named) return false;
    const condition = isPlainObject(statement["Condition"]) ? statement["Condition"] : {};
    for (const [operator, clause] of Object.entries(condition)) {
      if (!isPlainObject(clause)) return false;
      for (const [key, expected] of Object.entries(clause)) {
        if (key.toLowerCase() !== "cloudtrail:externalid" || !operator.startsWith("StringEquals")) return false;
        if (externalId === undefined || !([] as unknown[]).concat(expected).includes(externalId)) return false;
      }
    }
    return true;
  };
  if (statements.some((s) => s["Effect"] === "Deny" && matches(s))) return false;
  return statements.some((s) => s["Effect"] === "Allow" && matches(s));
}
