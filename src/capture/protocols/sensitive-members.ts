/**
 * CloudTrail never logs a value the service model marks `sensitive` (SSM parameter values, Secrets
 * Manager secrets, STS secret keys, SSE-C keys…). Here every such member of a decoded call, at any
 * depth, becomes the service's placeholder (`HIDDEN_DUE_TO_SECURITY_REASONS`, EC2's
 * `<sensitiveDataRemoved>`, RDS's `****`); a sensitive structure, list or map is replaced whole.
 * Runs on the operation's own input/output shapes, so before decode-call's single-result unwrap.
 * Exceptions CloudTrail's records show (members omitted, other texts) and the secret-name list
 * follow when the record is built (src/normalize/redact.ts).
 */
import { HIDDEN } from "../../normalize/redact.js";
import { SENSITIVE_PLACEHOLDERS } from "../../normalize/redaction-exceptions.js";
import type { ServiceModel, ShapeRef } from "./model-types.js";
import { rewriteByShape, type ModelMember } from "./shape-walk.js";

/** The placeholder CloudTrail writes for a sensitive member of this service. */
function sensitivePlaceholderOf(model: ServiceModel): string {
  const eventSource = `${model.metadata.endpointPrefix}.amazonaws.com`;
  return SENSITIVE_PLACEHOLDERS.find((entry) => entry.eventSource === eventSource)?.placeholder ?? HIDDEN;
}

/**
 * `decoded` (requestParameters for the input shape, responseElements for the output shape) with
 * every sensitive member replaced. Copy-on-write; null (no parameters) stays null.
 *
 * @example hideSensitiveMembers(ssm, ssm.operations.PutParameter.input, { name: "n", value: "s3cret" })
 * // → { name: "n", value: "HIDDEN_DUE_TO_SECURITY_REASONS" }
 */
export function hideSensitiveMembers(
  model: ServiceModel,
  shape: ShapeRef | undefined,
  decoded: Record<string, unknown> | null,
): Record<string, unknown> | null {
  if (decoded === null) return null;
  const placeholder = sensitivePlaceholderOf(model);
  const hide = (value: unknown, member: ModelMember): unknown =>
    value !== null && (member.ref.sensitive === true || member.shape.sensitive === true) ? placeholder : value;
  return rewriteByShape(model, shape, decoded, hide) as Record<string, unknown>;
}
