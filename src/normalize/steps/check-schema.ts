/**
 * JSON-type check of the known fields against the compiled TypeBox schema. Unknown fields are not
 * checked: they are kept as the sender wrote them.
 */
import type { TSchema } from "@sinclair/typebox";
import { checkCloudTrailRecord, checkInsightRecord } from "../../model/schema.js";
import { describeJsonType, reject, type Rejection } from "../reasons.js";

/**
 * A known field with the wrong JSON type is rejected rather than repaired or kept: consumers index
 * these fields by type (LookupEvents, Lake columns), and a guess such as parsing a string
 * requestParameters would store something the sender did not write.
 */
export function checkKnownFieldTypes(
  record: Readonly<Record<string, unknown>>,
  isInsight: boolean,
): Rejection | undefined {
  const checker = isInsight ? checkInsightRecord : checkCloudTrailRecord;
  if (checker.Check(record)) return undefined;
  const error = checker.Errors(record).First();
  if (error === undefined)
    return reject("invalid_field_type", { field: "(record)", expected: "a CloudTrail record", got: "something else" });
  const field = error.path.replace(/^\//, "").replace(/\//g, ".") || "(record)";
  return reject("invalid_field_type", {
    field,
    expected: describeSchema(error.schema),
    got: describeJsonType(error.value),
  });
}

/** Human wording of the JSON type a schema expects ("an object or null"). */
function describeSchema(schema: TSchema): string {
  const anyOf: unknown = schema.anyOf;
  if (Array.isArray(anyOf)) return anyOf.map((option: TSchema) => describeSchema(option)).join(" or ");
  switch (schema.type) {
    case "object":
      return "an object";
    case "array":
      return "an array";
    case "string":
      return "a string";
    case "boolean":
      return "a boolean";
    case "null":
      return "null";
    default:
      return "a valid value";
  }
}
