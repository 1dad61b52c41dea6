import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/durable-write.js";
import { makeDirectoryDurable } from "../../lib/sync-directory.js";
import { emptyDeliveryState, type DeliveryState, type DeliveryStateStore } from "./delivery-state.js";

/**
 * The embedded delivery-state store: one JSON file per trail under `<data-dir>/trails/`, replaced
 * with temp file → fsync → rename → directory fsync, so a crash keeps the old state or the new one.
 *
 * @example const states = openFileDeliveryStateStore(settings.dataDir);
 */
export function openFileDeliveryStateStore(dataDir: string): DeliveryStateStore {
  return {
    load: (trailArn) => loadDeliveryState(deliveryStatePath(dataDir, trailArn), trailArn),
    save: (state) => saveDeliveryState(deliveryStatePath(dataDir, state.trailArn), state),
  };
}

/** A readable, collision-free file name: `<account>_<region>_<name>_<hash>.json`. */
export function deliveryStatePath(dataDir: string, trailArn: string): string {
  const [, , , region = "", account = ""] = trailArn.split(":");
  const name = trailArn.slice(trailArn.lastIndexOf("/") + 1).replace(/[^A-Za-z0-9._-]/g, "_");
  const hash = createHash("sha256").update(trailArn).digest("hex").slice(0, 12);
  return join(dataDir, "trails", `${account}_${region}_${name}_${hash}.json`);
}

async function loadDeliveryState(path: string, trailArn: string): Promise<DeliveryState> {
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

async function saveDeliveryState(path: string, state: DeliveryState): Promise<void> {
  await makeDirectoryDurable(join(path, ".."));
  await writeFileAtomic(path, `${JSON.stringify(state)}\n`, { mode: 0o600 });
}
