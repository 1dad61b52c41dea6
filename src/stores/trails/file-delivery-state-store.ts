import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/durable-write.js";
import { makeDirectoryDurable } from "../../lib/sync-directory.js";
import {
  checkFencingToken,
  emptyDeliveryState,
  StaleFencingTokenError,
  type DeliveryState,
  type DeliveryStateStore,
} from "./delivery-state.js";

/** What the file holds: the state, and beside it the highest fencing token that claimed it (when any did). */
interface StoredState {
  readonly state: DeliveryState;
  readonly fencingToken?: number;
}

/**
 * The embedded delivery-state store: one JSON file per trail under `<data-dir>/trails/`, replaced
 * with temp file → fsync → rename → directory fsync, so a crash keeps the old state or the new one.
 * The highest fencing token is a member of the file; one process owns the data dir, and its calls
 * for one trail's file run one after the other (whatever handle made them), so reading the token and
 * writing the file is not interleaved with another call of the trail.
 *
 * @example const states = openFileDeliveryStateStore(settings.dataDir);
 */
export function openFileDeliveryStateStore(dataDir: string): DeliveryStateStore {
  return {
    async load(trailArn, options) {
      const token = checkFencingToken(options);
      const path = deliveryStatePath(dataDir, trailArn);
      if (token === undefined) return (await readStoredState(path, trailArn)).state;
      return inTurn(path, async () => {
        const stored = await readStoredState(path, trailArn);
        refuseStale(trailArn, token, stored.fencingToken);
        if (stored.fencingToken !== token) await writeStoredState(path, { state: stored.state, fencingToken: token });
        return stored.state;
      });
    },
    async save(state, options) {
      const token = checkFencingToken(options);
      const path = deliveryStatePath(dataDir, state.trailArn);
      // Serialised now: the deliverer goes on mutating its state after the call.
      const copy = structuredClone(state);
      await inTurn(path, async () => {
        const { fencingToken } = await readStoredState(path, state.trailArn);
        refuseStale(state.trailArn, token, fencingToken);
        await writeStoredState(path, { state: copy, fencingToken: token ?? fencingToken });
      });
    },
  };
}

/** Once a token claimed the state, a lower one or none is refused. */
function refuseStale(trailArn: string, token: number | undefined, current: number | undefined): void {
  if (current !== undefined && (token === undefined || current > token))
    throw new StaleFencingTokenError(trailArn, token, current);
}

/** The last queued call per state file of this process. */
const tails = new Map<string, Promise<unknown>>();

/** Runs the tasks of one file one after the other, in call order; files are independent. */
function inTurn<T>(path: string, task: () => Promise<T>): Promise<T> {
  const run = (tails.get(path) ?? Promise.resolve()).then(task);
  const tail = run.catch(() => undefined);
  tails.set(path, tail);
  void tail.then(() => {
    if (tails.get(path) === tail) tails.delete(path);
  });
  return run;
}

/** A readable, collision-free file name: `<account>_<region>_<name>_<hash>.json`. */
export function deliveryStatePath(dataDir: string, trailArn: string): string {
  const [, , , region = "", account = ""] = trailArn.split(":");
  const name = trailArn.slice(trailArn.lastIndexOf("/") + 1).replace(/[^A-Za-z0-9._-]/g, "_");
  const hash = createHash("sha256").update(trailArn).digest("hex").slice(0, 12);
  return join(dataDir, "trails", `${account}_${region}_${name}_${hash}.json`);
}

async function readStoredState(path: string, trailArn: string): Promise<StoredState> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { state: emptyDeliveryState(trailArn) };
    throw error;
  }
  const { fencingToken, ...state } = JSON.parse(text) as DeliveryState & { fencingToken?: number };
  if (state.version !== 1 || state.trailArn !== trailArn) {
    throw new Error(`Trail delivery state ${path} is not version 1 state for ${trailArn}.`);
  }
  return fencingToken === undefined ? { state } : { state, fencingToken };
}

async function writeStoredState(path: string, { state, fencingToken }: StoredState): Promise<void> {
  await makeDirectoryDurable(join(path, ".."));
  // Files of earlier releases have no token; a file without one is read as never fenced.
  const stored = fencingToken === undefined ? state : { ...state, fencingToken };
  await writeFileAtomic(path, `${JSON.stringify(stored)}\n`, { mode: 0o600 });
}
