import type { IpRange } from "../lib/ip-address.js";
import type { Wildcard } from "./wildcard.js";

/** One bound of a numeric range. */
export interface NumericBound {
  readonly value: number;
  readonly inclusive: boolean;
}

/** A test of one leaf value of the event (a string, number, boolean or null). */
export type ValueTest =
  | { readonly kind: "exact-string"; readonly value: string }
  | { readonly kind: "exact-number"; readonly value: number }
  | { readonly kind: "exact-literal"; readonly value: boolean | null }
  | { readonly kind: "prefix"; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: "suffix"; readonly value: string; readonly ignoreCase: boolean }
  | { readonly kind: "equals-ignore-case"; readonly value: string }
  | { readonly kind: "wildcard"; readonly wildcard: Wildcard }
  | { readonly kind: "numeric"; readonly lower?: NumericBound; readonly upper?: NumericBound }
  | { readonly kind: "cidr"; readonly range: IpRange };

/** One element of a field's list of conditions: the field matches when any element does. */
export type Condition =
  | ValueTest
  | { readonly kind: "anything-but"; readonly excluded: readonly ValueTest[] }
  | { readonly kind: "exists"; readonly present: boolean };

/**
 * A compiled pattern: every field must match (AND); `or` holds the `$or` groups at this level, of
 * which each must have one matching branch.
 */
export interface CompiledPattern {
  readonly leaves: ReadonlyArray<{ readonly field: string; readonly conditions: readonly Condition[] }>;
  readonly nested: ReadonlyArray<{ readonly field: string; readonly pattern: CompiledPattern }>;
  readonly or: ReadonlyArray<readonly CompiledPattern[]>;
}
