import { randomBytes } from "node:crypto";
import { chmod, link, open, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "./durable-write.js";
import { errorCode } from "./error-code.js";
import { readRotationMarker, rotationUnderWayMessage } from "./master-key-rotation-marker.js";
import { PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE, restrictTree } from "./file-modes.js";
import { MASTER_KEY_BYTES, masterKeyOf, type MasterKey } from "./secret-envelope.js";
import { makeDirectoryDurable, syncDirectory } from "./sync-directory.js";

/** Where the master key may come from: CAIRN_MASTER_KEY, CAIRN_MASTER_KEY_FILE (docs/reference/security.md). */
export interface MasterKeySource {
  /** Base64 of 32 bytes. */
  readonly masterKey?: string;
  /** A file holding base64 of 32 bytes. */
  readonly masterKeyFile?: string;
}

export interface ResolvedMasterKey {
  readonly key: MasterKey;
  /** Where it came from, for the banner: the variable's name or the file's path (never the key). */
  readonly origin: string;
  /** True when this call generated `<data-dir>/master.key`. */
  readonly generated: boolean;
}

export interface SecuredDataDirectory extends ResolvedMasterKey {
  /**
   * Records the key's id in `master-key-id` (when not recorded yet). Call it once the stores have
   * opened every sealed secret with the key: a wrong key must never be recorded as the right one.
   */
  recordKeyId(): Promise<void>;
}

/** The master key is missing, malformed, or not the one the data directory's secrets were sealed with. */
export class MasterKeyError extends Error {
  override readonly name = "MasterKeyError";
}

/** The embedded default's key, generated on first start when no key is configured. */
export function dataDirectoryKeyPath(dataDir: string): string {
  return join(dataDir, "master.key");
}

/** Names the key the data directory's secrets are sealed with (its public id, never the key). */
export function keyIdPath(dataDir: string): string {
  return join(dataDir, "master-key-id");
}

const KEY_FORMAT_HINT = `32 random bytes, base64-encoded (44 characters, e.g. from \`openssl rand -base64 ${MASTER_KEY_BYTES}\`)`;

/** Decodes a key text; the error never quotes it. */
export function decodeKey(text: string, origin: string): MasterKey {
  const trimmed = text.trim();
  const bytes = Buffer.from(trimmed, "base64");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || bytes.length !== MASTER_KEY_BYTES) {
    throw new MasterKeyError(`${origin}: must be ${KEY_FORMAT_HINT}; got ${trimmed.length} characters.`);
  }
  return masterKeyOf(bytes);
}

/** The file's text, or undefined when it does not exist. */
export async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
}

/** The configured key: the variable, else the variable's file, else the data directory's master.key. */
export async function configuredKey(
  dataDir: string,
  source: MasterKeySource,
): Promise<{ key: MasterKey; origin: string } | undefined> {
  if (source.masterKey !== undefined && source.masterKeyFile !== undefined) {
    throw new MasterKeyError("CAIRN_MASTER_KEY and CAIRN_MASTER_KEY_FILE: set one or the other, not both.");
  }
  if (source.masterKey !== undefined) {
    return { key: decodeKey(source.masterKey, "CAIRN_MASTER_KEY"), origin: "CAIRN_MASTER_KEY" };
  }
  if (source.masterKeyFile !== undefined) {
    const text = await readFile(source.masterKeyFile, "utf8").catch((error: unknown) => {
      throw new MasterKeyError(`CAIRN_MASTER_KEY_FILE: cannot read ${source.masterKeyFile} (${errorCode(error)}).`);
    });
    return { key: decodeKey(text, `CAIRN_MASTER_KEY_FILE ${source.masterKeyFile}`), origin: source.masterKeyFile };
  }
  const path = dataDirectoryKeyPath(dataDir);
  const text = await readOptional(path);
  return text === undefined ? undefined : { key: decodeKey(text, path), origin: path };
}

/**
 * Writes a fresh key to `<data-dir>/master.key` (0600) unless a concurrent start (the server and
 * `cairn principal add`) wrote one first: link() never replaces, so both end up with the same key.
 */
async function generateKeyFile(dataDir: string): Promise<{ key: MasterKey; generated: boolean }> {
  const path = dataDirectoryKeyPath(dataDir);
  const temporaryPath = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  const file = await open(temporaryPath, "wx", PRIVATE_FILE_MODE);
  try {
    await file.chmod(PRIVATE_FILE_MODE);
    await file.writeFile(`${randomBytes(MASTER_KEY_BYTES).toString("base64")}\n`);
    await file.sync();
  } finally {
    await file.close();
  }
  let generated = true;
  try {
    await link(temporaryPath, path);
  } catch (error) {
    if (errorCode(error) !== "EEXIST") throw error;
    generated = false;
  } finally {
    await rm(temporaryPath, { force: true });
  }
  await syncDirectory(dataDir);
  return { key: decodeKey(await readFile(path, "utf8"), path), generated };
}

export function mismatch(origin: string, key: MasterKey, dataDir: string, sealedWithId: string): MasterKeyError {
  return new MasterKeyError(
    `${origin} is master key ${key.id}, but the secrets in ${dataDir} are sealed with master key ${sealedWithId}. ` +
      "Start with the key this data directory was sealed with (a wrong key would leave its principals and signing keys unreadable).",
  );
}

function missing(dataDir: string, sealedWithId: string): MasterKeyError {
  return new MasterKeyError(
    `${dataDir} holds secrets sealed with master key ${sealedWithId}, but no master key is set: ` +
      `set CAIRN_MASTER_KEY or CAIRN_MASTER_KEY_FILE, or restore ${dataDirectoryKeyPath(dataDir)}. ` +
      "(No new key is generated over sealed data.)",
  );
}

export interface SecureDataDirectoryOptions {
  /**
   * Whether the directory holds sealed secrets, asked of the stores when no key is configured and
   * no `master-key-id` records one: a fresh key is never generated over sealed data.
   */
  readonly hasSealedSecrets: () => Promise<boolean>;
}

/**
 * Prepares the data directory of a process that writes secrets (the server, `cairn principal add`):
 * the directory is made 0700, the master key is resolved (CAIRN_MASTER_KEY, else
 * CAIRN_MASTER_KEY_FILE, else `<data-dir>/master.key`, else a key generated there on first start)
 * and checked against the key id the directory's secrets were sealed with. On the first start of a
 * directory an older Cairn wrote, every file and directory in it is set to 0600/0700. Throws
 * MasterKeyError, with what to do, when the key is malformed, wrong, or missing over sealed data.
 *
 * @example
 * const secured = await secureDataDirectory(settings.dataDir, settings, { hasSealedSecrets });
 * // … open the stores with secured.key …
 * await secured.recordKeyId();
 */
export async function secureDataDirectory(
  dataDir: string,
  source: MasterKeySource,
  options: SecureDataDirectoryOptions,
): Promise<SecuredDataDirectory> {
  await refuseDuringRotation(dataDir);
  await makeDirectoryDurable(dataDir);
  await chmod(dataDir, PRIVATE_DIRECTORY_MODE);
  const sealedWith = (await readOptional(keyIdPath(dataDir)))?.trim();
  let resolved: ResolvedMasterKey;
  const configured = await configuredKey(dataDir, source);
  if (configured !== undefined) {
    resolved = { ...configured, generated: false };
  } else {
    if (sealedWith !== undefined) throw missing(dataDir, sealedWith);
    if (await options.hasSealedSecrets()) throw missing(dataDir, "(unknown: master-key-id is missing)");
    resolved = { ...(await generateKeyFile(dataDir)), origin: dataDirectoryKeyPath(dataDir) };
  }
  if (sealedWith !== undefined && sealedWith !== resolved.key.id) {
    throw mismatch(resolved.origin, resolved.key, dataDir, sealedWith);
  }
  // First start of this format here (or one that stopped before recording the key): tighten what
  // older versions wrote under the umask.
  if (sealedWith === undefined) await restrictTree(dataDir);
  return {
    ...resolved,
    recordKeyId: async () => {
      if (sealedWith === undefined) await writeFileAtomic(keyIdPath(dataDir), `${resolved.key.id}\n`);
    },
  };
}

/**
 * The configured master key for a process that only reads (the capture proxy), checked against the
 * directory's key id; undefined when no key is configured. Never writes, never generates.
 */
export async function readDataDirectoryKey(dataDir: string, source: MasterKeySource): Promise<MasterKey | undefined> {
  const configured = await configuredKey(dataDir, source);
  if (configured === undefined) return undefined;
  await refuseDuringRotation(dataDir);
  const sealedWith = (await readOptional(keyIdPath(dataDir)))?.trim();
  if (sealedWith !== undefined && sealedWith !== configured.key.id) {
    throw mismatch(configured.origin, configured.key, dataDir, sealedWith);
  }
  return configured.key;
}

/** Half the secrets may be sealed with each key: only `cairn keys rotate-master` opens the directory then. */
async function refuseDuringRotation(dataDir: string): Promise<void> {
  const marker = await readRotationMarker(dataDir);
  if (marker !== undefined) throw new MasterKeyError(rotationUnderWayMessage(dataDir, marker));
}
