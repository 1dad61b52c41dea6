import type { Principal } from "../stores/principals/index.js";

/** What every operation handler receives: the verified caller and where the call was signed for. */
export interface OperationContext {
  readonly principal: Principal;
  readonly accountId: string;
  readonly region: string;
  readonly requestId: string;
  readonly nowMs: number;
  /**
   * Authorises the caller for `action` on `resource` (rejects with the IAM denial), for a handler
   * whose resource only the catalog knows (StartImport's retry).
   */
  readonly authorize: (action: string, resource: string) => Promise<void>;
}

export interface OperationResult {
  /** The JSON response body (PascalCase, as the model names members). */
  readonly output: Record<string, unknown>;
  /** What CloudTrail would log as responseElements for a mutating call; ignored for read-only calls. */
  readonly responseElements?: Record<string, unknown> | null;
  /** Resources for the audit record, when the operation names one. */
  readonly resources?: Array<{ accountId: string; type: string; ARN: string }>;
}

export type OperationHandler = (input: Record<string, unknown>, context: OperationContext) => Promise<OperationResult>;
