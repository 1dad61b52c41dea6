import type { AuthorizationDecision, AuthorizationRequest } from "../authorizer.js";
import { compilePolicy, type CompiledPolicy, type StatementInput } from "./compile-policy.js";
import { parsePolicyDocument } from "./policy-document.js";
import { requestContextOf } from "./request-context.js";

/** Compiled documents kept, by text: bounded in count and in the characters of the texts they hold. */
const CACHE_ENTRIES_MAX = 1024;
const CACHE_TEXT_CHARS_MAX = 16 * 1024 * 1024;

/** A least-recently-used cache: a Map keeps insertion order, so the first key is the oldest. */
class CompiledPolicyCache {
  private readonly entries = new Map<string, CompiledPolicy>();
  private textChars = 0;

  get(text: string): CompiledPolicy | undefined {
    const found = this.entries.get(text);
    if (found !== undefined) {
      this.entries.delete(text);
      this.entries.set(text, found);
    }
    return found;
  }

  set(text: string, policy: CompiledPolicy): void {
    this.entries.set(text, policy);
    this.textChars += text.length;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= CACHE_ENTRIES_MAX && this.textChars <= CACHE_TEXT_CHARS_MAX) break;
      if (oldest === text) break;
      this.entries.delete(oldest);
      this.textChars -= oldest.length;
    }
  }
}

const cache = new CompiledPolicyCache();

/**
 * A stored document, parsed and compiled once and then served from the cache. Stored documents were
 * checked against the size quotas when they were put, so none is applied here (AWS's own texts are
 * larger than any customer quota). A text that no longer parses throws: evaluation fails closed
 * rather than skip a document that might hold a Deny.
 */
export function compiledPolicyOf(text: string): CompiledPolicy {
  const cached = cache.get(text);
  if (cached !== undefined) return cached;
  const compiled = compilePolicy(parsePolicyDocument(text, { kind: "aws-managed" }));
  cache.set(text, compiled);
  return compiled;
}

/**
 * IAM's evaluation of identity-based policies within one account ("Policy evaluation logic";
 * "Determining whether a request is allowed or denied within an account"): a statement that applies
 * with Deny is an explicit deny and wins over everything; otherwise one that applies with Allow
 * allows; otherwise the request is implicitly denied. No documents: implicit deny.
 */
export function evaluatePolicies(documents: readonly string[], request: AuthorizationRequest): AuthorizationDecision {
  const input: StatementInput = {
    actionLower: request.action.toLowerCase(),
    resource: request.resource,
    context: requestContextOf(request),
  };
  let allowed = false;
  for (const text of documents) {
    for (const statement of compiledPolicyOf(text).statements) {
      if (statement.effect === "Allow" && allowed) continue;
      if (!statement.applies(input)) continue;
      if (statement.effect === "Deny") return "ExplicitDeny";
      allowed = true;
    }
  }
  return allowed ? "Allow" : "ImplicitDeny";
}
