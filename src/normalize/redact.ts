/**
 * The redaction every record path runs (ingest API, capture proxy, middleware, self-audit). CloudTrail
 * never logs secrets, and Cairn states how in three places, applied in this order:
 *
 * 1. Calls of a modelled AWS service: every member the service model marks `sensitive` becomes the
 *    service's placeholder, before the record is built (src/capture/protocols/sensitive-members.ts).
 * 2. Per-member exceptions read from CloudTrail's own records (redaction-exceptions.ts): omitted
 *    members, `****`, `<sensitiveDataRemoved>`, custom texts. Applied here, by the record's member names.
 * 3. The secret-name list below, for members no model describes (middleware apps, operations the
 *    bundled models lack, records sent to `/ingest`). Matched case-insensitively at any depth.
 *
 * A value already holding a placeholder is kept: ingesting CloudTrail's records must not rewrite
 * what CloudTrail delivered, and a later rule must not undo an earlier one.
 */
import {
  EC2_SENSITIVE_DATA_REMOVED,
  HIDDEN,
  PASSWORD_MASK,
  REDACTION_EXCEPTIONS,
  SENSITIVE_PLACEHOLDERS,
  type RedactionAction,
  type RedactionException,
} from "./redaction-exceptions.js";

export { applySizeLimits, SIZE_LIMITS, truncateField, truncateUtf8 } from "./size-limits.js";
export { EC2_SENSITIVE_DATA_REMOVED, HIDDEN, PASSWORD_MASK } from "./redaction-exceptions.js";

export interface RedactionContext {
  eventSource: string;
  eventName: string;
}

/** Which record member is redacted: the exceptions name their field. */
export interface RedactionTarget extends RedactionContext {
  field: string;
}

export interface RedactionRule {
  /** Member names, matched case-insensitively. */
  readonly members: readonly string[];
  readonly replacement: string;
  readonly why: string;
}

/**
 * The secret-name list. Exact names only: `nextToken`, `clientToken`, `sessionToken`,
 * `accessKeyId`, `passwordResetRequired` are not secrets, and CloudTrail logs them.
 */
export const REDACTION_RULES: readonly RedactionRule[] = [
  {
    members: [
      "password",
      "masterUserPassword",
      "newPassword",
      "oldPassword",
      "previousPassword",
      "proposedPassword",
      "tdeCredentialPassword",
    ],
    replacement: PASSWORD_MASK,
    why: "Passwords (RDS, IAM, Cognito, Directory Service): masked as RDS's records mask master passwords.",
  },
  {
    members: [
      "secretAccessKey",
      "secretKey",
      "privateKey",
      "secretString",
      "secretBinary",
      "clientSecret",
      "authToken",
      "tokenValue",
      "accessToken",
      "refreshToken",
      "idToken",
      "plaintext",
      "keyMaterial",
    ],
    replacement: HIDDEN,
    why: "Secret keys, private keys, Secrets Manager values, OAuth client secrets and tokens, SSM session tokens, KMS plaintext.",
  },
];

/** Past this depth a subtree is replaced whole: failing closed beats walking a hostile structure. */
export const REDACTION_DEPTH_MAX = 64;

interface CompiledRules {
  readonly byMember: ReadonlyMap<string, string>;
  /** This event's exceptions by record field, paths split and lower-cased. */
  readonly exceptions: ReadonlyMap<string, readonly CompiledException[]>;
  /** Lower-cased member names either step can change: the secret names and the exceptions' last names. */
  readonly names: ReadonlySet<string>;
}

/** `keep` entries only stop the model pass (capture, sensitive-members.ts): nothing to do here. */
type AppliedAction = Exclude<RedactionAction, { keep: true }>;
type AppliedException = RedactionException & { readonly action: AppliedAction };

interface CompiledException {
  readonly path: readonly string[];
  readonly action: AppliedAction;
}

const BY_MEMBER: ReadonlyMap<string, string> = new Map(
  REDACTION_RULES.flatMap((rule) => rule.members.map((member) => [member.toLowerCase(), rule.replacement] as const)),
);

const compiledCache = new Map<string, CompiledRules>();

/** The table by event source, so the ingest hot path looks at a service's few entries only. */
const EXCEPTIONS_BY_SOURCE = new Map<string, RedactionException[]>();
for (const exception of REDACTION_EXCEPTIONS) {
  EXCEPTIONS_BY_SOURCE.set(exception.eventSource, [
    ...(EXCEPTIONS_BY_SOURCE.get(exception.eventSource) ?? []),
    exception,
  ]);
}

function compileRules(context: RedactionContext): CompiledRules {
  const here = (EXCEPTIONS_BY_SOURCE.get(context.eventSource) ?? []).filter(
    (exception): exception is AppliedException =>
      !("keep" in exception.action) &&
      (exception.eventNames === "*" || exception.eventNames.includes(context.eventName)),
  );
  // Keyed by which entries apply, not by the event's name: `/ingest` senders choose event names, and
  // a key per name would let them grow this cache without bound.
  const cacheKey = here.map((exception) => REDACTION_EXCEPTIONS.indexOf(exception)).join(",");
  const cached = compiledCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const exceptions = new Map<string, CompiledException[]>();
  for (const exception of here) {
    const path = exception.path.toLowerCase().split(".");
    exceptions.set(exception.field, [...(exceptions.get(exception.field) ?? []), { path, action: exception.action }]);
  }
  const leafNames = here.map((exception) => (exception.path.split(".").at(-1) ?? "").toLowerCase());
  const compiled = { byMember: BY_MEMBER, exceptions, names: new Set([...BY_MEMBER.keys(), ...leafNames]) };
  compiledCache.set(cacheKey, compiled);
  return compiled;
}

/**
 * Cheap pre-check for the ingest hot path: false proves that redactSecrets(value, target) returns
 * `value` itself for each of `values`, so the copy-on-write walk can be skipped. It visits every
 * member name at any depth, as the walk does, and matches it the same way (`toLowerCase()`, then the
 * set of names either step can change: a secret name, or the last name of an exception path; an
 * exception changes nothing but the member its path ends in). Past REDACTION_DEPTH_MAX the walk
 * replaces a subtree, so an object that deep answers true. A regex over the record's JSON text was
 * used before; without the `u` flag its `i` does not fold U+212A KELVIN SIGN to `k` as toLowerCase
 * does, so a member named `secret\u212Aey` skipped the walk and kept its value.
 */
export function mayNeedRedaction(values: readonly unknown[], context: RedactionContext): boolean {
  const { names } = compileRules(context);
  return values.some((value) => holdsName(value, names, 0));
}

function holdsName(value: unknown, names: ReadonlySet<string>, depth: number): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (depth >= REDACTION_DEPTH_MAX) return true;
  if (Array.isArray(value)) return (value as unknown[]).some((item) => holdsName(item, names, depth + 1));
  // for…in visits every own enumerable key Object.keys gives the walk (and inherited ones: more, never fewer).
  for (const key in value) {
    if (names.has(key.toLowerCase())) return true;
    if (holdsName((value as Record<string, unknown>)[key], names, depth + 1)) return true;
  }
  return false;
}

/**
 * Returns `value` (the record's `target.field`) with this event's exceptions applied, then the
 * secret-name list. Copy-on-write: unchanged subtrees (and the whole value, when nothing matched)
 * are returned as the same references, and the input is never mutated.
 *
 * @example redactSecrets({ masterUserPassword: "hunter2" }, { eventSource: "rds.amazonaws.com", eventName: "CreateDBInstance", field: "requestParameters" })
 * // → { masterUserPassword: "****" }
 */
export function redactSecrets(value: unknown, target: RedactionTarget): unknown {
  const rules = compileRules(target);
  let out = value;
  for (const exception of rules.exceptions.get(target.field) ?? []) {
    out = applyException(out, exception.path, exception.action, 0);
  }
  return redactValue(out, rules.byMember, 0);
}

/** Placeholders CloudTrail itself writes; a value already redacted is kept as the service wrote it. */
const REDACTION_PLACEHOLDERS: ReadonlySet<unknown> = new Set([
  HIDDEN,
  PASSWORD_MASK,
  EC2_SENSITIVE_DATA_REMOVED,
  ...SENSITIVE_PLACEHOLDERS.map((entry) => entry.placeholder),
  ...REDACTION_EXCEPTIONS.flatMap((exception) => ("replace" in exception.action ? [exception.action.replace] : [])),
]);

/** True when `value` is one of the placeholders CloudTrail (or an earlier redaction step) writes. */
export function isRedactionPlaceholder(value: unknown): boolean {
  return REDACTION_PLACEHOLDERS.has(value);
}

/**
 * null stays null (nothing to hide), and an existing placeholder stays: real CloudTrail records
 * carry e.g. RDS `masterUserPassword: "HIDDEN_DUE_TO_SECURITY_REASONS"`, and ingesting them must not
 * rewrite what CloudTrail delivered.
 */
function maskedValue(member: unknown, replacement: string): unknown {
  return member === null || REDACTION_PLACEHOLDERS.has(member) ? member : replacement;
}

const OMITTED: unique symbol = Symbol("omitted");

/** Applies one exception along its path; lists and EC2's `{items: [...]}` are stepped through. */
function applyException(value: unknown, path: readonly string[], action: AppliedAction, depth: number): unknown {
  if (typeof value !== "object" || value === null || depth >= REDACTION_DEPTH_MAX) return value;
  if (Array.isArray(value)) return mapArray(value, (item) => applyException(item, path, action, depth + 1));
  const object = value as Record<string, unknown>;
  const [head, ...rest] = path;
  const keys = Object.keys(object).filter((key) => key.toLowerCase() === head);
  if (keys.length === 0) {
    const items = object["items"];
    if (!Array.isArray(items)) return value;
    const walked = applyException(items, path, action, depth + 1);
    return walked === items ? value : { ...object, items: walked };
  }
  let copy: Record<string, unknown> | undefined;
  for (const key of keys) {
    const member = object[key];
    const next =
      rest.length > 0
        ? applyException(member, rest, action, depth + 1)
        : "omit" in action
          ? OMITTED
          : maskedValue(member, action.replace);
    if (next === member) continue;
    copy ??= { ...object };
    if (next === OMITTED) delete copy[key];
    else Object.defineProperty(copy, key, { value: next, enumerable: true, writable: true, configurable: true });
  }
  return copy ?? object;
}

function mapArray(items: readonly unknown[], map: (item: unknown) => unknown): readonly unknown[] {
  let copy: unknown[] | undefined;
  items.forEach((item, index) => {
    const next = map(item);
    if (next === item) return;
    copy ??= items.slice();
    copy[index] = next;
  });
  return copy ?? items;
}

function redactValue(value: unknown, byMember: ReadonlyMap<string, string>, depth: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth >= REDACTION_DEPTH_MAX) return HIDDEN;
  if (Array.isArray(value)) return mapArray(value, (item) => redactValue(item, byMember, depth + 1));
  return redactObject(value as Record<string, unknown>, byMember, depth);
}

function redactObject(
  object: Record<string, unknown>,
  byMember: ReadonlyMap<string, string>,
  depth: number,
): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(object)) {
    const member = object[key];
    const replacement = byMember.get(key.toLowerCase());
    const redacted =
      replacement === undefined ? redactValue(member, byMember, depth + 1) : maskedValue(member, replacement);
    if (redacted !== member) {
      copy ??= { ...object };
      Object.defineProperty(copy, key, { value: redacted, enumerable: true, writable: true, configurable: true });
    }
  }
  return copy ?? object;
}
