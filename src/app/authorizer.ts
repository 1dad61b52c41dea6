import type { Authorizer } from "../auth/authorizer.js";

/**
 * The server's one Authorizer: every place that asks IAM's question (today the read-only S3
 * endpoint) gets it from here. For now it allows every call, so account isolation (bucket owners,
 * src/stores/bucket-owners/) is the only boundary. Replaced by the policy authorizer, which evaluates
 * identity-based policies, when IAM policies land.
 */
export function appAuthorizer(): Authorizer {
  return { decide: async () => "Allow" };
}
