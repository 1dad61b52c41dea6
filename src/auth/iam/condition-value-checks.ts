import type { OperatorFamily } from "./condition-operators.js";
import { readBase64, readBool, readCidr, readDateMs, readNumber } from "./condition-values.js";

/**
 * Whether every literal value suits its operator's family. Cairn refuses what cannot compare (a
 * NumericLessThan of "ten", an IpAddress of "10.0.0.0/33"): read as "matches nothing", such a value
 * would make a negated operator always true, and an Allow with NotIpAddress would allow everyone.
 * A Boolean value may be a policy variable, resolved per request.
 */
export function checkConditionValues(family: OperatorFamily, values: readonly string[], variables: boolean): boolean {
  switch (family) {
    case "Numeric":
      return values.every((value) => readNumber(value) !== undefined);
    case "Date":
      return values.every((value) => readDateMs(value) !== undefined);
    case "Bool":
      return values.every((value) => readBool(value) !== undefined || (variables && value.includes("${")));
    case "Null":
      return values.every((value) => readBool(value) !== undefined);
    case "Binary":
      return values.every((value) => readBase64(value) !== undefined);
    case "IpAddress":
      return values.every((value) => readCidr(value) !== undefined);
    default:
      return true;
  }
}
