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

/**
 * Trail delivery writes `AWSLogs/<account>/CloudTrail/<region>/…/<account>_CloudTrail_<region>_….json.gz`
 * (spec §2.1), so these values become S3 key segments: a separator or `..` would move the file, a
 * control character cannot be a file name, and a long value would break S3's 255-byte segment limit
 * for every later file of the batch. 64 characters leave the file name well inside that limit.
 * Odd but harmless values stay importable: test data holds fake regions (`us-north-2r`) and
 * placeholders (`redacted`, `<organization master account ID>`).
 */
const PATH_IDENTIFIER_LENGTH_MAX = 64;
// eslint-disable-next-line no-control-regex -- control characters are what this rule looks for.
const UNUSABLE_CHARACTER = /[/\\\u0000-\u001f\u007f-\u009f]/;

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
  const pathProblem = checkPathIdentifiers(draft);
  if (pathProblem !== undefined) return pathProblem;
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

/** awsRegion and the account ids Cairn files records under (recordAccountId). */
function checkPathIdentifiers(draft: Readonly<Record<string, unknown>>): Rejection | undefined {
  const identity = draft.userIdentity;
  const identityAccount =
    typeof identity === "object" && identity !== null ? (identity as Record<string, unknown>).accountId : undefined;
  const fields: Array<readonly [string, unknown]> = [
    ["awsRegion", draft.awsRegion],
    ["recipientAccountId", draft.recipientAccountId],
    ["userIdentity.accountId", identityAccount],
  ];
  for (const [field, value] of fields) {
    if (typeof value !== "string") continue;
    const problem = pathSegmentProblem(value);
    if (problem !== undefined) return reject("unusable_identifier", { field, problem });
  }
  return undefined;
}

/** Why `value` cannot be an account id or region Cairn files records under, or undefined. */
function pathSegmentProblem(value: string): string | undefined {
  const bad = UNUSABLE_CHARACTER.exec(value);
  if (bad !== null) {
    const code = bad[0].charCodeAt(0).toString(16).padStart(4, "0");
    return `contains ${bad[0] === "/" || bad[0] === "\\" ? `the separator '${bad[0]}'` : `the control character U+${code.toUpperCase()}`}`;
  }
  if (value === "") return "must not be empty";
  if (value === "." || value === "..") return `is ${JSON.stringify(value)}`;
  if (value.length > PATH_IDENTIFIER_LENGTH_MAX)
    return `is ${value.length} characters (at most ${PATH_IDENTIFIER_LENGTH_MAX})`;
  return undefined;
}
