import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { removeFileDurable } from "./durable-file.js";
import { writeFileAtomic } from "./durable-write.js";
import { errorCode } from "./error-code.js";

/**
 * `<data-dir>/master-key-rotation`: written before a master key rotation changes anything, removed
 * once it is done. While it exists the directory's secrets are sealed partly with the old key and
 * partly with the new one, so only `cairn keys rotate-master` (which finishes the rotation) opens
 * them; the server and `cairn principal add` refuse to start (docs/reference/security.md).
 */

/** Where the new key lives: the data directory's own `master.key` (generated), or a file the operator holds. */
export type RotationTarget = "data-directory" | "external";

export interface RotationMarker {
  readonly fromKeyId: string;
  readonly toKeyId: string;
  readonly target: RotationTarget;
}

const KEY_ID = /^[0-9a-f]{16}$/;

function markerPath(dataDir: string): string {
  return join(dataDir, "master-key-rotation");
}

/** The rotation under way in `dataDir`, if any. Throws when the file is not a marker this build wrote. */
export async function readRotationMarker(dataDir: string): Promise<RotationMarker | undefined> {
  const path = markerPath(dataDir);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
  const parsed = parseMarker(text);
  if (parsed === undefined) {
    // Written atomically, so never torn: anything else is not ours, and guessing could lose secrets.
    throw new Error(`${path} is not a master key rotation marker this Cairn wrote; do not start until it is resolved.`);
  }
  return parsed;
}

function parseMarker(text: string): RotationMarker | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const { fromKeyId, toKeyId, target } = value as Record<string, unknown>;
  if (typeof fromKeyId !== "string" || !KEY_ID.test(fromKeyId)) return undefined;
  if (typeof toKeyId !== "string" || !KEY_ID.test(toKeyId)) return undefined;
  if (target !== "data-directory" && target !== "external") return undefined;
  return { fromKeyId, toKeyId, target };
}

/** Writes the marker durably (0600, temp → fsync → rename → fsync of the directory). */
export async function writeRotationMarker(dataDir: string, marker: RotationMarker): Promise<void> {
  const { fromKeyId, toKeyId, target } = marker;
  await writeFileAtomic(markerPath(dataDir), `${JSON.stringify({ fromKeyId, toKeyId, target })}\n`);
}

/** Removes the marker durably: the last step of a rotation. */
export async function removeRotationMarker(dataDir: string): Promise<void> {
  await removeFileDurable(markerPath(dataDir));
}

/** Why a process other than the rotation refuses the directory, and what the operator does about it. */
export function rotationUnderWayMessage(dataDir: string, marker: RotationMarker): string {
  const newKeyFlag = marker.target === "external" ? " --new-master-key-file <the new key's file>" : "";
  return (
    `${dataDir} is in the middle of a master key rotation (master key ${marker.fromKeyId} → ${marker.toKeyId}) ` +
    "that did not finish: some secrets are sealed with one key, some with the other. " +
    `Run \`cairn keys rotate-master --data-dir ${dataDir}${newKeyFlag}\` again, with the same master key ` +
    `set as for the first run, to finish it; the directory then opens with master key ${marker.toKeyId}.`
  );
}
