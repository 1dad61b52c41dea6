import { createHash } from "node:crypto";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/durable-write.js";
import type { PreviousDigest } from "../../model/digest-format.js";

/**
 * Everything one trail's delivery must remember across restarts, in one file replaced atomically
 * (`<data-dir>/trails/<trail>.json`), so cursor, intent and digest chain never disagree.
 * The exactly-once protocol (docs/specs/trail-delivery.md):
 * 1. plan: choose keys and the exact seqs of each file, save `intent` (the cursor does not move);
 * 2. put every planned object (S3 overwrites, so repeating a put is harmless);
 * 3. commit: `cursor = intent.toSeq`, `intent = null`, files join `undigested` — one save.
 * A crash between 1 and 3 leaves the intent, which the next start puts again with the same keys and
 * the same records (read back by seq) before anything new is planned.
 */
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
}

export function emptyDeliveryState(trailArn: string): DeliveryState {
  return { version: 1, trailArn, cursor: 0, intent: null, undigested: [], chains: [], pendingDigests: [] };
}

/** A readable, collision-free file name: `<account>_<region>_<name>_<hash>.json`. */
export function deliveryStatePath(dataDir: string, trailArn: string): string {
  const [, , , region = "", account = ""] = trailArn.split(":");
  const name = trailArn.slice(trailArn.lastIndexOf("/") + 1).replace(/[^A-Za-z0-9._-]/g, "_");
  const hash = createHash("sha256").update(trailArn).digest("hex").slice(0, 12);
  return join(dataDir, "trails", `${account}_${region}_${name}_${hash}.json`);
}

export async function loadDeliveryState(path: string, trailArn: string): Promise<DeliveryState> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return emptyDeliveryState(trailArn);
    throw error;
  }
  const state = JSON.parse(text) as DeliveryState;
  if (state.version !== 1 || state.trailArn !== trailArn) {
    throw new Error(`Trail delivery state ${path} is not version 1 state for ${trailArn}.`);
  }
  return state;
}

export async function saveDeliveryState(path: string, state: DeliveryState): Promise<void> {
  await mkdir(join(path, ".."), { recursive: true });
  await writeFileAtomic(path, `${JSON.stringify(state)}\n`, 0o600);
}
