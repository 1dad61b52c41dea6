import { ApiError } from "../../lib/api-error.js";

/**
 * A required string member, refused as EventBridge refuses it: a missing member is a
 * ValidationException worded as AWS's request validation words it (the member in lower camel
 * case), a member of another JSON type a SerializationException.
 */
export function requiredString(input: Record<string, unknown>, member: string, lengthMax?: number): string {
  const value = input[member];
  const field = member.charAt(0).toLowerCase() + member.slice(1);
  if (value === undefined || value === null) {
    throw new ApiError(
      "ValidationException",
      `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
    );
  }
  if (typeof value !== "string") throw new ApiError("SerializationException", `Member '${member}' must be a string.`);
  if (lengthMax !== undefined && value.length > lengthMax) {
    throw new ApiError(
      "ValidationException",
      `1 validation error detected: Value at '${field}' failed to satisfy constraint: ` +
        `Member must have length less than or equal to ${lengthMax}`,
    );
  }
  return value;
}
