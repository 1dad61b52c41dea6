/**
 * The two ways IAM refuses a policy document, each with the error code IAM answers with, so the IAM
 * API maps them without knowing the grammar: `MalformedPolicyDocument` (400) for a document that is
 * not valid policy grammar, `LimitExceeded` (409) for one over its size quota.
 */
export abstract class PolicyDocumentError extends Error {
  abstract readonly code: "MalformedPolicyDocument" | "LimitExceeded";
}

/** A document IAM would refuse as MalformedPolicyDocument; the message is IAM's wording where known. */
export class MalformedPolicyDocumentError extends PolicyDocumentError {
  override readonly name = "MalformedPolicyDocumentError";
  readonly code = "MalformedPolicyDocument";
}

/** A document (or a user's inline documents together) over IAM's size quota, worded as IAM words it. */
export class PolicyTooLargeError extends PolicyDocumentError {
  override readonly name = "PolicyTooLargeError";
  readonly code = "LimitExceeded";
  constructor(
    readonly sizeChars: number,
    readonly limitChars: number,
    message: string,
  ) {
    super(message);
  }
}

/** IAM's MalformedPolicyDocument messages, as IAM words them (AWS answers, quoted in public issue threads). */
export const POLICY_MESSAGES = {
  syntax: "Syntax errors in policy.",
  legacy: "The policy failed legacy parsing",
  principal: "Policy document should not specify a principal.",
  missingEffect: "Missing required field Effect",
  missingActions: "Policy statement must contain actions.",
  missingResources: "Policy statement must contain resources.",
  vendor: "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
  oneColon: "Actions/Condition can contain only one colon.",
  vendorWildcard: "Action vendors (e.g., aws, ec2, etc.) must not contain wildcards",
  sidAlphanumeric:
    "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
  sidUnique: "Statement IDs (SID) in a single policy must be unique.",
  resourceFormat: (resource: string) => `Resource ${resource} must be in ARN format or "*".`,
} as const;
