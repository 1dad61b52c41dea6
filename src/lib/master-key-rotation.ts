import { randomBytes } from "node:crypto";
import { readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { removeFileDurable } from "./durable-file.js";
import { writeFileAtomic } from "./durable-write.js";
import { errorCode } from "./error-code.js";
import {
  configuredKey,
  dataDirectoryKeyPath,
  decodeKey,
  keyIdPath,
  MasterKeyError,
  mismatch,
  readOptional,
  type MasterKeySource,
  type ResolvedMasterKey,
} from "./master-key.js";
import { removeRotationMarker, writeRotationMarker, type RotationMarker } from "./master-key-rotation-marker.js";
import { MASTER_KEY_BYTES, type MasterKey } from "./secret-envelope.js";
import { syncDirectory } from "./sync-directory.js";

/**
 * The key-file half of `cairn keys rotate-master` (the stores re-seal their own values): which keys
 * a run works with, and the durable steps around the re-sealing. The order makes a crash at any
 * point recoverable (docs/reference/security.md, "Rotating the master key"):
 *
 * 1. a generated new key is written to `master.key.next`, so it exists before anything is sealed
 *    with it (a crash here leaves the directory as it was; a re-run generates another key);
 * 2. the marker names both key ids: from now on only a re-run opens the directory, with either key;
 * 3. the stores re-seal every value with the new key (each step atomic);
 * 4. the new key takes the old one's place (`master.key.next` → `master.key`, or the old generated
 *    `master.key` is removed when the new key is external), then `master-key-id` names it;
 * 5. the marker is removed.
 */

export { readRotationMarker, type RotationMarker, type RotationTarget } from "./master-key-rotation-marker.js";

export interface RotationRequest {
  readonly dataDir: string;
  /** Where the current key comes from (CAIRN_MASTER_KEY, CAIRN_MASTER_KEY_FILE), as for the server. */
  readonly source: MasterKeySource;
  /** A file holding the new key (base64 of 32 bytes); absent: a generated key replaces `<data-dir>/master.key`. */
  readonly newMasterKeyFile?: string;
}

/** A rotation's keys, decided before anything is written. */
export interface RotationPlan {
  readonly dataDir: string;
  readonly marker: RotationMarker;
  readonly to: MasterKey;
  /** Where the new key is kept once the rotation is done: `<data-dir>/master.key` or the operator's file. */
  readonly toOrigin: string;
  /** The keys a value may be sealed with now: the new key, then the old one when it is at hand. */
  readonly openers: readonly MasterKey[];
  /** This run finishes a rotation an earlier run began (and stopped). */
  readonly resumed: boolean;
  /** The generated key's text, written to `master.key.next` by beginRotation (new rotations to a generated key). */
  readonly generatedKeyText?: string;
}

/** What happened to the key files when the new key took the old one's place. */
export type KeyInstallation = "master.key replaced" | "master.key removed" | "nothing to move";

/** The generated new key, kept beside `master.key` until it replaces it. */
function nextKeyPath(dataDir: string): string {
  return join(dataDir, "master.key.next");
}

/** The id recorded in `<data-dir>/master-key-id`, if any. */
export async function recordedKeyId(dataDir: string): Promise<string | undefined> {
  return (await readOptional(keyIdPath(dataDir)))?.trim();
}

/** The key in the file given with --new-master-key-file. */
export async function readNewKeyFile(path: string): Promise<MasterKey> {
  const text = await readFile(path, "utf8").catch((error: unknown) => {
    throw new MasterKeyError(`--new-master-key-file: cannot read ${path} (${errorCode(error)}).`);
  });
  return decodeKey(text, `--new-master-key-file ${path}`);
}

/**
 * A new rotation away from `current`: the key the directory's secrets were just opened with,
 * resolved as the server resolves it. Writes nothing (beginRotation does).
 */
export async function planNewRotation(request: RotationRequest, current: ResolvedMasterKey): Promise<RotationPlan> {
  const { dataDir, newMasterKeyFile } = request;
  const from = current.key;
  if (newMasterKeyFile !== undefined) {
    const to = await readNewKeyFile(newMasterKeyFile);
    if (to.id === from.id) {
      throw new MasterKeyError(
        `--new-master-key-file ${newMasterKeyFile} is master key ${to.id}, the key ${dataDir} is already sealed with.`,
      );
    }
    const marker: RotationMarker = { fromKeyId: from.id, toKeyId: to.id, target: "external" };
    return { dataDir, marker, to, toOrigin: newMasterKeyFile, openers: [to, from], resumed: false };
  }
  if (current.origin !== dataDirectoryKeyPath(dataDir)) {
    // Cairn writes a key only into its own master.key: it cannot update a secret store it does not own.
    throw new MasterKeyError(
      `The master key comes from ${current.origin}, not from ${dataDirectoryKeyPath(dataDir)}: ` +
        "write the new key to a file (`openssl rand -base64 32`) and give it with --new-master-key-file.",
    );
  }
  const generatedKeyText = `${randomBytes(MASTER_KEY_BYTES).toString("base64")}\n`;
  const to = decodeKey(generatedKeyText, "the generated key");
  const marker: RotationMarker = { fromKeyId: from.id, toKeyId: to.id, target: "data-directory" };
  const toOrigin = dataDirectoryKeyPath(dataDir);
  return { dataDir, marker, to, toOrigin, openers: [to, from], resumed: false, generatedKeyText };
}

/**
 * The rotation an earlier run began (its marker exists): the new key must be the one the marker
 * names; the current key, when set, must be the old or the new one.
 */
export async function planResumedRotation(request: RotationRequest, marker: RotationMarker): Promise<RotationPlan> {
  const { dataDir } = request;
  const { to, toOrigin } = await resumedNewKey(request, marker);
  const current = await configuredKey(dataDir, request.source);
  if (current !== undefined && current.key.id !== marker.fromKeyId && current.key.id !== marker.toKeyId) {
    throw mismatch(current.origin, current.key, dataDir, `${marker.fromKeyId} (or, partly, ${marker.toKeyId})`);
  }
  const openers = current === undefined || current.key.id === to.id ? [to] : [to, current.key];
  return { dataDir, marker, to, toOrigin, openers, resumed: true };
}

async function resumedNewKey(
  request: RotationRequest,
  marker: RotationMarker,
): Promise<{ to: MasterKey; toOrigin: string }> {
  const { dataDir, newMasterKeyFile } = request;
  const under = `A rotation to master key ${marker.toKeyId} is under way in ${dataDir}`;
  if (marker.target === "external") {
    if (newMasterKeyFile === undefined) {
      throw new MasterKeyError(`${under}: give its file again with --new-master-key-file to finish it.`);
    }
    const to = await readNewKeyFile(newMasterKeyFile);
    if (to.id !== marker.toKeyId) {
      throw new MasterKeyError(
        `${under}, but --new-master-key-file ${newMasterKeyFile} is master key ${to.id}: give the file of master key ${marker.toKeyId}.`,
      );
    }
    return { to, toOrigin: newMasterKeyFile };
  }
  if (newMasterKeyFile !== undefined) {
    throw new MasterKeyError(`${under}, to a generated key: run it again without --new-master-key-file.`);
  }
  // Before step 4 the generated key is in master.key.next; after it, in master.key.
  for (const path of [nextKeyPath(dataDir), dataDirectoryKeyPath(dataDir)]) {
    const text = await readOptional(path);
    if (text === undefined) continue;
    const key = decodeKey(text, path);
    if (key.id === marker.toKeyId) return { to: key, toOrigin: dataDirectoryKeyPath(dataDir) };
  }
  throw new MasterKeyError(
    `${under}, but neither ${nextKeyPath(dataDir)} nor ${dataDirectoryKeyPath(dataDir)} holds it: ` +
      "restore the file that holds it (the secrets already re-sealed open with no other key).",
  );
}

/** Steps 1 and 2: the generated key, then the marker. A resumed rotation has done both already. */
export async function beginRotation(plan: RotationPlan): Promise<void> {
  if (plan.resumed) return;
  if (plan.generatedKeyText !== undefined) await writeFileAtomic(nextKeyPath(plan.dataDir), plan.generatedKeyText);
  await writeRotationMarker(plan.dataDir, plan.marker);
}

/**
 * Step 4, first half, once every value is sealed with the new key: a generated key replaces
 * `master.key` (rename: atomic); an external key makes the old generated `master.key`, which now
 * opens nothing here, go away so that a start without the new key fails instead of finding it.
 */
export async function installNewKey(plan: RotationPlan): Promise<KeyInstallation> {
  const { dataDir } = plan;
  const keyPath = dataDirectoryKeyPath(dataDir);
  if (plan.marker.target === "data-directory") {
    if ((await readOptional(nextKeyPath(dataDir))) === undefined) return "nothing to move";
    await rename(nextKeyPath(dataDir), keyPath);
    await syncDirectory(dataDir);
    return "master.key replaced";
  }
  // A key generated by an earlier rotation that stopped before its marker: never used, never needed.
  await removeFileDurable(nextKeyPath(dataDir));
  const text = await readOptional(keyPath);
  if (text === undefined || decodeKey(text, keyPath).id !== plan.marker.fromKeyId) return "nothing to move";
  await removeFileDurable(keyPath);
  return "master.key removed";
}

/** Step 4, second half: `master-key-id` names the new key. */
export async function recordNewKeyId(plan: RotationPlan): Promise<void> {
  await writeFileAtomic(keyIdPath(plan.dataDir), `${plan.to.id}\n`);
}

/** Step 5: the marker goes; the directory opens with the new key only. */
export async function endRotation(plan: RotationPlan): Promise<void> {
  await removeRotationMarker(plan.dataDir);
}
