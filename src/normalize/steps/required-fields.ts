/**
 * Checks of the identifying string fields, before anything is derived from them. They get
 * explicit checks (rather than only the schema) so the caller is told what to send.
 */
import { describeJsonType, reject, type Rejection } from "../reasons.js";

/** Identifier fields are short in CloudTrail; a longer value is a mistake, not data to keep. */
const IDENTIFIER_LENGTH_MAX = 256;

const IDENTIFIER_FIELDS = [
  "eventVersion",
  "eventSource",
  "eventName",
  "awsRegion",
  "eventID",
  "eventType",
  "eventCategory",
  "recipientAccountId",
] as const;

const REQUIRED_HINTS: Readonly<Record<string, string>> = {
  eventSource: "send the service endpoint name, e.g. ec2.amazonaws.com (only AwsCloudTrailInsight events omit it)",
  eventName: "send the API action name, e.g. StartLogging (only AwsCloudTrailInsight events omit it)",
  awsRegion: "send the region the request was sent to, e.g. us-east-1",
};

const EVENT_VERSION = /^\d{1,3}\.\d{1,3}$/;

/** Rejects missing, mistyped, empty or over-long identifier fields. */
export function checkIdentifierFields(
  draft: Readonly<Record<string, unknown>>,
  isInsight: boolean,
): Rejection | undefined {
  const required = isInsight ? ["awsRegion"] : ["eventSource", "eventName", "awsRegion"];
  for (const field of required) {
    if (draft[field] === undefined || draft[field] === null) {
      return reject("missing_field", { field, hint: REQUIRED_HINTS[field] ?? "send it" });
    }
  }
  for (const field of IDENTIFIER_FIELDS) {
    const problem = checkIdentifier(field, draft[field]);
    if (problem !== undefined) return problem;
  }
  const version = draft.eventVersion;
  if (typeof version === "string" && !EVENT_VERSION.test(version)) {
    return reject("invalid_field_value", {
      field: "eventVersion",
      problem: `must look like "1.11" (major.minor); got ${JSON.stringify(version.slice(0, 32))}`,
    });
  }
  return undefined;
}

function checkIdentifier(field: string, value: unknown): Rejection | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") {
    return reject("invalid_field_type", { field, expected: "a string", got: describeJsonType(value) });
  }
  if (value.length === 0) return reject("invalid_field_value", { field, problem: "must not be empty" });
  if (value.length > IDENTIFIER_LENGTH_MAX) {
    return reject("field_too_long", { field, size: value.length, limit: IDENTIFIER_LENGTH_MAX });
  }
  return undefined;
}
