import { PolicyTooLargeError } from "./policy-errors.js";

/** IAM's quota on a user's inline policies, all of them together (IAM and AWS STS quotas). */
export const INLINE_USER_POLICY_SIZE_MAX_CHARS = 2048;
/** IAM's quota on one customer managed policy document. */
export const MANAGED_POLICY_SIZE_MAX_CHARS = 6144;

/**
 * A document's size as IAM counts it against its quotas: "IAM does not count white space when
 * calculating the size of a policy". Whitespace between JSON tokens is left out; whitespace inside a
 * string value is part of the value, so it counts.
 */
export function policySizeChars(text: string): number {
  let size = 0;
  let inString = false;
  let escaped = false;
  for (const char of text) {
    if (inString) {
      size++;
      if (escaped) escaped = false;
      else if (char === "\\") escaped = true;
      else if (char === '"') inString = false;
    } else if (char !== " " && char !== "\t" && char !== "\n" && char !== "\r") {
      size++;
      if (char === '"') inString = true;
    }
  }
  return size;
}

/** Throws LimitExceeded, worded as IAM's CreatePolicy/CreatePolicyVersion, when a managed document is too large. */
export function checkManagedPolicySize(text: string): void {
  const size = policySizeChars(text);
  if (size > MANAGED_POLICY_SIZE_MAX_CHARS) {
    throw new PolicyTooLargeError(
      size,
      MANAGED_POLICY_SIZE_MAX_CHARS,
      `Cannot exceed quota for PolicySize: ${MANAGED_POLICY_SIZE_MAX_CHARS}`,
    );
  }
}

/**
 * Throws LimitExceeded, worded as IAM's PutUserPolicy, when a user's inline documents together exceed
 * the quota. Pass every inline document the user would have after the call (the new one included, the
 * one it replaces left out): the quota is on their sum, not on each.
 */
export function checkInlineUserPoliciesSize(userName: string | undefined, texts: readonly string[]): void {
  const size = texts.reduce((sum, text) => sum + policySizeChars(text), 0);
  if (size > INLINE_USER_POLICY_SIZE_MAX_CHARS) {
    const limit = `Maximum policy size of ${INLINE_USER_POLICY_SIZE_MAX_CHARS} bytes exceeded`;
    const message = userName === undefined ? `${limit}.` : `${limit} for user ${userName}`;
    throw new PolicyTooLargeError(size, INLINE_USER_POLICY_SIZE_MAX_CHARS, message);
  }
}
