/**
 * The one redaction list every capture path uses (ingest API, capture proxy, middleware,
 * self-audit). CloudTrail never logs secrets: most services replace them with
 * `HIDDEN_DUE_TO_SECURITY_REASONS`, EC2 CreateKeyPair with `<sensitiveDataRemoved>` (spec §1.7), and
 * Cairn masks passwords as `****` (the capture-proxy issue asks for RDS `masterUserPassword` so).
 * Member names match case-insensitively and at any depth, because services nest them
 * (`PublishBatch` entries, `ModifyDBInstance` inside batch wrappers).
 */
export { applySizeLimits, SIZE_LIMITS, truncateField, truncateUtf8 } from "./size-limits.js";

export const HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS";
export const PASSWORD_MASK = "****";
export const EC2_SENSITIVE_DATA_REMOVED = "<sensitiveDataRemoved>";

export interface RedactionContext {
  eventSource: string;
  eventName: string;
}

export interface RedactionRule {
  /** Member names, matched case-insensitively. */
  readonly members: readonly string[];
  readonly replacement: string;
  /** Limits the rule to some events; a scoped rule overrides an unscoped one for the same member. */
  readonly only?: { readonly eventSource: string; readonly eventNames: readonly string[] };
  readonly why: string;
}

/** The redaction table. Each entry is exercised by test/normalize/redact.test.ts. */
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
    why: "Passwords (RDS, IAM, Cognito, Directory Service): masked, never stored.",
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
      "plaintext",
      "keyMaterial",
    ],
    replacement: HIDDEN,
    why: "Secret keys, private keys, Secrets Manager values, OAuth client secrets, KMS plaintext. STS AssumeRole's accessKeyId/sessionToken stay, as in CloudTrail.",
  },
  {
    members: ["keyMaterial"],
    replacement: EC2_SENSITIVE_DATA_REMOVED,
    only: { eventSource: "ec2.amazonaws.com", eventNames: ["CreateKeyPair"] },
    why: "EC2 CreateKeyPair uses its own placeholder (spec §1.7).",
  },
  {
    members: ["message", "subject", "messageAttributes"],
    replacement: HIDDEN,
    only: { eventSource: "sns.amazonaws.com", eventNames: ["Publish", "PublishBatch"] },
    why: "SNS message bodies are customer data (spec §1.7, Publish data event example).",
  },
];

/** Past this depth a subtree is replaced whole: failing closed beats walking a hostile structure. */
export const REDACTION_DEPTH_MAX = 64;

interface CompiledRules {
  readonly byMember: ReadonlyMap<string, string>;
  readonly gate: RegExp;
}

const compiledCache = new Map<string, CompiledRules>();

function compileRules(context: RedactionContext): CompiledRules {
  const scopedHere = REDACTION_RULES.filter(
    (rule) => rule.only?.eventSource === context.eventSource && rule.only.eventNames.includes(context.eventName),
  );
  const cacheKey = scopedHere.length === 0 ? "" : `${context.eventSource}\u0000${context.eventName}`;
  const cached = compiledCache.get(cacheKey);
  if (cached !== undefined) return cached;
  const byMember = new Map<string, string>();
  // Unscoped rules first so scoped ones overwrite them.
  for (const rule of [...REDACTION_RULES.filter((r) => r.only === undefined), ...scopedHere]) {
    for (const member of rule.members) byMember.set(member.toLowerCase(), rule.replacement);
  }
  const names = [...byMember.keys()].map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const compiled = { byMember, gate: new RegExp(`"(?:${names.join("|")})":`, "i") };
  compiledCache.set(cacheKey, compiled);
  return compiled;
}

/**
 * Cheap pre-check on compact JSON (as JSON.stringify writes it): false means no member in it can
 * need redaction, so the walk can be skipped. Used on the ingest hot path.
 */
export function mayContainSecrets(json: string, context: RedactionContext): boolean {
  return compileRules(context).gate.test(json);
}

/**
 * Returns `value` with secret-bearing members replaced. Copy-on-write: unchanged subtrees (and the
 * whole value, when nothing matched) are returned as the same references, and the input is never
 * mutated.
 *
 * @example redactSecrets({ masterUserPassword: "hunter2" }, { eventSource: "rds.amazonaws.com", eventName: "CreateDBInstance" })
 * // → { masterUserPassword: "****" }
 */
export function redactSecrets(value: unknown, context: RedactionContext): unknown {
  return redactValue(value, compileRules(context).byMember, 0);
}

/** Placeholders CloudTrail itself writes; a value already redacted is kept as the service wrote it. */
const REDACTION_PLACEHOLDERS: ReadonlySet<unknown> = new Set([HIDDEN, PASSWORD_MASK, EC2_SENSITIVE_DATA_REMOVED]);

/**
 * null stays null (nothing to hide), and an existing placeholder stays: real CloudTrail records
 * carry e.g. RDS `masterUserPassword: "HIDDEN_DUE_TO_SECURITY_REASONS"`, and ingesting them must not
 * rewrite what CloudTrail delivered.
 */
function maskedValue(member: unknown, replacement: string): unknown {
  return member === null || REDACTION_PLACEHOLDERS.has(member) ? member : replacement;
}

function redactValue(value: unknown, byMember: ReadonlyMap<string, string>, depth: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth >= REDACTION_DEPTH_MAX) return HIDDEN;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let index = 0; index < value.length; index += 1) {
      const item: unknown = value[index];
      const redacted = redactValue(item, byMember, depth + 1);
      if (redacted !== item) {
        copy ??= value.slice();
        copy[index] = redacted;
      }
    }
    return copy ?? value;
  }
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
