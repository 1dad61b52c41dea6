/**
 * Everything one trail's delivery must remember across restarts, saved as one unit so cursor,
 * intent and digest chain never disagree. The exactly-once protocol (docs/specs/trail-delivery.md):
 * 1. plan: choose keys and the exact seqs of each file, save `intent` (the cursor does not move);
 * 2. put every planned object (S3 overwrites, so repeating a put is harmless);
 * 3. commit: `cursor = intent.toSeq`, `intent = null`, files join `undigested` — one save.
 * A crash between 1 and 3 leaves the intent, which the next start puts again with the same keys and
 * the same records (read back by seq) before anything new is planned.
 */
import type { PreviousDigest } from "../../model/digest-format.js";

export interface PlannedFile {
  readonly bucket: string;
  readonly key: string;
  readonly accountId: string;
  readonly region: string;
  /** The journal entries in the file, ascending. Seqs rather than a range: selectors may change before a redo. */
  readonly seqs: readonly number[];
}

export interface DeliveryIntent {
  /** Every seq up to here is in a planned file or was not selected. */
  readonly toSeq: number;
  readonly plannedAtMs: number;
  readonly files: readonly PlannedFile[];
}

/** A stored log file waiting for the next digest of its account and region. */
export interface DeliveredFile {
  readonly accountId: string;
  readonly region: string;
  readonly bucket: string;
  readonly key: string;
  readonly hashValue: string;
  readonly oldestEventTime: string | null;
  readonly newestEventTime: string | null;
  readonly deliveredAtMs: number;
}

/** One digest chain: per trail, account and region (spec §3.2). */
export interface DigestChain {
  readonly accountId: string;
  readonly region: string;
  /** The trail's StartLogging time when the chain began: a new logging session starts a new chain. */
  epoch: number;
  /** `digestStartTime` of the next digest = `digestEndTime` of the last one. */
  nextStartMs: number;
  previous: PreviousDigest | null;
}

/** A signed digest whose put has not been confirmed: put again, byte for byte, before the next one. */
export interface PendingDigest {
  readonly bucket: string;
  readonly key: string;
  /** The uncompressed JSON the signature covers. */
  readonly json: string;
  readonly signature: string;
}

export interface DeliveryState {
  readonly version: 1;
  readonly trailArn: string;
  cursor: number;
  intent: DeliveryIntent | null;
  undigested: DeliveredFile[];
  chains: DigestChain[];
  pendingDigests: PendingDigest[];
  /**
   * The `deliverUntilSeq` of the last StopLogging whose drain finished (its final digest written):
   * a stopped trail whose drain no node finished is drained by the next one that takes it.
   */
  drainedUntilSeq?: number;
}

export function emptyDeliveryState(trailArn: string): DeliveryState {
  return { version: 1, trailArn, cursor: 0, intent: null, undigested: [], chains: [], pendingDigests: [] };
}

/**
 * Fences a load or save with the fencing token of the holder's lease (LeaseGrant.fencingToken). A
 * store keeps the highest token that loaded or saved each trail's state and refuses a lower one
 * with StaleFencingTokenError, so a holder that paused past its lease cannot overwrite the state of
 * the holder that took over. Without a token (the embedded server: one process, no lease) the call
 * is unfenced: a load reads, a save writes as long as no fenced call ever claimed the trail's state
 * (once one did, an unfenced save is refused too: it would bypass the fence).
 */
export interface FencingOptions {
  readonly fencingToken?: number;
}

/**
 * A fenced load or save whose token is lower than one that already loaded or saved the trail's
 * state, or an unfenced save (`fencingToken` undefined) of a state a fenced call claimed.
 */
export class StaleFencingTokenError extends Error {
  constructor(
    readonly trailArn: string,
    readonly fencingToken: number | undefined,
    readonly currentToken: number,
  ) {
    super(
      fencingToken === undefined
        ? `The delivery state of ${trailArn} is held under fencing token ${currentToken}; a save without a token is refused.`
        : `The delivery state of ${trailArn} is held under fencing token ${currentToken}; token ${fencingToken} is stale (its lease passed to another holder).`,
    );
    this.name = "StaleFencingTokenError";
  }
}

/**
 * Per-trail delivery state (cursor, intent, undigested files, digest chains, pending digests),
 * keyed by trail ARN. The deliverer mutates its loaded state in place and saves it whole.
 */
export interface DeliveryStateStore {
  /**
   * The saved state, or `emptyDeliveryState(trailArn)` when none was ever saved. With a fencing
   * token, the load also claims the state for that token (durably, before it resolves): from then
   * on saves under lower tokens are refused, so a new holder's state cannot be overtaken by its
   * predecessor's late commit.
   */
  load(trailArn: string, options?: FencingOptions): Promise<DeliveryState>;
  /**
   * Replaces the trail's state atomically and durably: once the promise resolves, a crash leaves this
   * state (or a later one), never a mix of old and new members. A fenced save is refused, and changes
   * nothing, when a higher token has loaded or saved the state; an unfenced one once any token has.
   */
  save(state: DeliveryState, options?: FencingOptions): Promise<void>;
}

/** A fencing token is a lease's: a safe integer ≥ 0. */
export function checkFencingToken(options: FencingOptions | undefined): number | undefined {
  const token = options?.fencingToken;
  if (token !== undefined && (!Number.isSafeInteger(token) || token < 0))
    throw new RangeError(`A fencing token is an integer ≥ 0, not ${token}.`);
  return token;
}
