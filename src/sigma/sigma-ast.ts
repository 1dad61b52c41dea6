/**
 * The compiled form of a Sigma detection: one tree that both the in-memory evaluator
 * (evaluate-detection.ts) and the Lake SQL translator (lake-sql.ts) read, so the two cannot
 * disagree about what a rule means.
 */

/** A wildcard value: literal text and `*` / `?` wildcards, Sigma escapes already resolved. */
export type PatternPart = { readonly literal: string } | { readonly wildcard: "*" | "?" };

export type ValueTest =
  /** Plain, contains, startswith, endswith and windash/base64 values all end up as patterns. */
  | { readonly kind: "pattern"; readonly parts: readonly PatternPart[]; readonly cased: boolean }
  | { readonly kind: "regex"; readonly source: string; readonly flags: string }
  | {
      readonly kind: "cidr";
      readonly cidr: string;
      readonly bits: 32 | 128;
      readonly low: bigint;
      readonly high: bigint;
    }
  | { readonly kind: "compare"; readonly op: "lt" | "lte" | "gt" | "gte"; readonly value: number }
  | { readonly kind: "fieldref"; readonly path: readonly string[]; readonly cased: boolean };

export type DetectionNode =
  | { readonly kind: "and"; readonly children: readonly DetectionNode[] }
  | { readonly kind: "or"; readonly children: readonly DetectionNode[] }
  | { readonly kind: "not"; readonly child: DetectionNode }
  /** Some value at `path` passes `test` (lists: any element). */
  | { readonly kind: "field"; readonly path: readonly string[]; readonly test: ValueTest }
  /** `field: null`: no value at `path`, or only nulls. */
  | { readonly kind: "null"; readonly path: readonly string[] }
  /** `field|exists: true|false`: whether the record has the member at all (a null counts as present). */
  | { readonly kind: "exists"; readonly path: readonly string[] }
  /** A keyword (field-less) search: some string or number anywhere in the record passes `test`. */
  | { readonly kind: "keyword"; readonly test: ValueTest }
  | { readonly kind: "constant"; readonly value: boolean };
