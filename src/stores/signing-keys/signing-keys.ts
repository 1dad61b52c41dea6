import { createHash, createPrivateKey, generateKeyPairSync, sign } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../lib/durable-write.js";
import type { Clock } from "../../lib/clock.js";
import { keyIdsText, openWithAnyKey, SecretEnvelopeError, type MasterKey } from "../../lib/secret-envelope.js";
import { makeDirectoryDurable } from "../../lib/sync-directory.js";
import { KeyedQueue } from "../../lib/keyed-queue.js";

/**
 * Digest signing keys (spec §3.4): one RSA-2048 key pair per region, rotated with overlapping
 * validity so that a digest signed just before a rotation still verifies with a key ListPublicKeys
 * returns for its time range. Keys live in `<data-dir>/keys/<region>/<start>-<fingerprint>.json`
 * (mode 0600), the private key sealed with the master key (docs/reference/security.md); nothing is
 * ever deleted, because old digests must stay verifiable for as long as they exist.
 */
export const DAY_MS = 86_400_000;
export const KEY_VALIDITY_DAYS_DEFAULT = 30;
/** A new key is made when the current one has less than this left, so validity windows overlap. */
export const KEY_ROTATE_BEFORE_DAYS_DEFAULT = 7;

export interface PublicKeyInfo {
  readonly region: string;
  /** Lowercase hex MD5 of `publicKeyDer` — what digests name in `digestPublicKeyFingerprint`. */
  readonly fingerprint: string;
  readonly validityStartMs: number;
  readonly validityEndMs: number;
  /** DER of the PKCS#1 RSAPublicKey: ListPublicKeys returns it base64-encoded as `Value`. */
  readonly publicKeyDer: Buffer;
}

export interface SigningKey extends PublicKeyInfo {
  /** RSASSA-PKCS1-v1_5 with SHA-256 over the UTF-8 bytes; lowercase hex, as `x-amz-meta-signature` carries it. */
  signHex(data: string): string;
}

/**
 * The digest signing keys of every region. A cluster backend keeps them (encrypted) in PostgreSQL;
 * whichever node signs, every node lists the same public keys.
 */
export interface SigningKeyStore {
  signingKey(region: string): Promise<SigningKey>;
  /** Keys whose validity overlaps [startMs, endMs], oldest first (ListPublicKeys). */
  publicKeys(region: string, startMs: number, endMs: number): Promise<PublicKeyInfo[]>;
}

interface KeyFile {
  readonly region: string;
  readonly fingerprint: string;
  readonly validityStartMs: number;
  readonly validityEndMs: number;
  readonly publicKeyDer: string;
  /** The PKCS#8 PEM sealed with the master key (secret-envelope.ts), bound to region and fingerprint. */
  readonly privateKeySealed?: string;
  /** Files written before secrets were sealed; sealSigningKeyFiles replaces it with privateKeySealed. */
  readonly privateKeyPem?: string;
}

/** A key file cannot be read with the master key given. */
class SigningKeySecretsError extends Error {
  override readonly name = "SigningKeySecretsError";
}

/** What a sealed private key is bound to (every backend): its region and fingerprint. */
function privateKeyAssociatedData(file: Pick<KeyFile, "region" | "fingerprint">): string {
  return `cairn signing key ${file.region} ${file.fingerprint}`;
}

/**
 * The file's private key PEM: opened with the master key (with either key while a master key
 * rotation re-seals the files), or the plaintext of a legacy file.
 */
function privateKeyPemOf(file: KeyFile, masterKey: MasterKey | readonly MasterKey[], path: string): string {
  if (file.privateKeySealed === undefined) {
    if (file.privateKeyPem === undefined) throw new SigningKeySecretsError(`${path} holds no private key.`);
    return file.privateKeyPem;
  }
  const keys = "id" in masterKey ? [masterKey] : masterKey;
  try {
    return openWithAnyKey(keys, file.privateKeySealed, privateKeyAssociatedData(file));
  } catch (error) {
    if (!(error instanceof SecretEnvelopeError)) throw error;
    throw new SigningKeySecretsError(
      `${path}: the private key does not open with master key ${keyIdsText(keys)}. ` +
        "Is CAIRN_MASTER_KEY (or CAIRN_MASTER_KEY_FILE, or the data directory's master.key) the key this data directory was sealed with?",
    );
  }
}

function keysDirectory(dataDir: string): string {
  return join(dataDir, "keys");
}

export function fingerprintOf(publicKeyDer: Uint8Array): string {
  return createHash("md5").update(publicKeyDer).digest("hex");
}

/**
 * Reads a region's public keys from the key files (no private key leaves this function). Used by the
 * store and by `cairn validate-logs --data-dir` when no server is reachable.
 */
export async function readPublicKeys(dataDir: string, region: string): Promise<PublicKeyInfo[]> {
  return (await readKeyFiles(dataDir, region)).map(toPublicInfo);
}

async function readKeyFiles(dataDir: string, region: string): Promise<KeyFile[]> {
  return (await readKeyFileEntries(dataDir, region)).map((entry) => entry.file);
}

async function readKeyFileEntries(dataDir: string, region: string): Promise<Array<{ path: string; file: KeyFile }>> {
  const directory = join(keysDirectory(dataDir), region);
  const entries: Array<{ path: string; file: KeyFile }> = [];
  for (const name of (await readdirOrEmpty(directory)).filter((n) => n.endsWith(".json")).sort()) {
    const path = join(directory, name);
    entries.push({ path, file: JSON.parse(await readFile(path, "utf8")) as KeyFile });
  }
  return entries.sort((a, b) => a.file.validityStartMs - b.file.validityStartMs);
}

async function readdirOrEmpty(directory: string): Promise<string[]> {
  try {
    return await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
}

/** Whether any region's key file holds a sealed private key (the master key resolver asks). */
export async function signingKeysAreSealed(dataDir: string): Promise<boolean> {
  for (const region of await readdirOrEmpty(keysDirectory(dataDir))) {
    if ((await readKeyFiles(dataDir, region)).some((file) => file.privateKeySealed !== undefined)) return true;
  }
  return false;
}

/**
 * Upgrades the key files of every region in place: a file from before secrets were sealed gets its
 * private key sealed with `masterKey` (the file is replaced atomically). Every sealed file is opened
 * too, so a wrong master key fails the server's start rather than its first digest. Resolves how
 * many files were sealed.
 */
export async function sealSigningKeyFiles(dataDir: string, masterKey: MasterKey): Promise<number> {
  const entries = await allKeyFileEntries(dataDir);
  // Open every sealed file before sealing anything: a wrong key must not seal plaintext keys first.
  for (const { path, file } of entries) if (file.privateKeySealed !== undefined) privateKeyPemOf(file, masterKey, path);
  let sealed = 0;
  for (const { path, file } of entries) {
    if (file.privateKeySealed !== undefined) continue;
    const { privateKeyPem: _plaintext, ...rest } = file;
    const pem = privateKeyPemOf(file, masterKey, path);
    const upgraded: KeyFile = { ...rest, privateKeySealed: masterKey.seal(pem, privateKeyAssociatedData(file)) };
    await writeFileAtomic(path, `${JSON.stringify(upgraded)}\n`);
    sealed += 1;
  }
  return sealed;
}

/** A key with its private key in the clear: only while `cairn migrate --to-cluster` re-seals it elsewhere. */
export interface OpenedSigningKey {
  readonly info: PublicKeyInfo;
  readonly privateKeyPem: string;
}

/** Every region's key files, oldest first per region, each private key opened with `masterKey`. */
export async function openSigningKeyFiles(dataDir: string, masterKey: MasterKey): Promise<OpenedSigningKey[]> {
  return (await allKeyFileEntries(dataDir)).map(({ path, file }) => ({
    info: toPublicInfo(file),
    privateKeyPem: privateKeyPemOf(file, masterKey, path),
  }));
}

async function allKeyFileEntries(dataDir: string): Promise<Array<{ path: string; file: KeyFile }>> {
  const entries: Array<{ path: string; file: KeyFile }> = [];
  for (const region of (await readdirOrEmpty(keysDirectory(dataDir))).sort()) {
    entries.push(...(await readKeyFileEntries(dataDir, region)));
  }
  return entries;
}

/**
 * A master key rotation's step for the signing keys: every region's key files, one by one, get
 * their private key opened with any of `from` and sealed with `to`, each file replaced atomically,
 * so a crash leaves every file opening with one key or the other and a re-run (with both keys in
 * `from`) finishes the job. `afterFile` runs once each file is durable (tests stop there). Every
 * file is opened before the first is rewritten: a key missing from `from` changes nothing.
 * Resolves how many files were re-sealed.
 */
export async function resealSigningKeyFiles(
  dataDir: string,
  from: readonly MasterKey[],
  to: MasterKey,
  afterFile: (resealed: number) => Promise<void> = async () => undefined,
): Promise<number> {
  const entries = await allKeyFileEntries(dataDir);
  const pems = entries.map(({ path, file }) => privateKeyPemOf(file, from, path));
  for (const [index, { path, file }] of entries.entries()) {
    const { privateKeyPem: _plaintext, privateKeySealed: _sealed, ...rest } = file;
    const resealed: KeyFile = { ...rest, privateKeySealed: to.seal(pems[index]!, privateKeyAssociatedData(file)) };
    await writeFileAtomic(path, `${JSON.stringify(resealed)}\n`);
    await afterFile(index + 1);
  }
  return entries.length;
}

function toPublicInfo(file: KeyFile): PublicKeyInfo {
  return {
    region: file.region,
    fingerprint: file.fingerprint,
    validityStartMs: file.validityStartMs,
    validityEndMs: file.validityEndMs,
    publicKeyDer: Buffer.from(file.publicKeyDer, "base64"),
  };
}

function toSigningKey(file: KeyFile, masterKey: MasterKey): SigningKey {
  return signingKeyOf(toPublicInfo(file), privateKeyPemOf(file, masterKey, `${file.region} key ${file.fingerprint}`));
}

function signingKeyOf(info: PublicKeyInfo, privateKeyPem: string): SigningKey {
  const privateKey = createPrivateKey(privateKeyPem);
  return { ...info, signHex: (data) => sign("sha256", Buffer.from(data, "utf8"), privateKey).toString("hex") };
}

/**
 * A stored key whose private key is sealed (a cluster backend's row): opened with any of `keys`,
 * or SigningKeySecretsError naming `where`.
 */
export function openSealedSigningKey(
  info: PublicKeyInfo,
  privateKeySealed: string,
  keys: MasterKey | readonly MasterKey[],
  where: string,
): SigningKey {
  return signingKeyOf(info, openSealedPrivateKey(info, privateKeySealed, keys, where));
}

/** The PEM of a sealed private key, opened with any of `keys` (SigningKeySecretsError naming `where` when none opens it). */
export function openSealedPrivateKey(
  info: PublicKeyInfo,
  privateKeySealed: string,
  keys: MasterKey | readonly MasterKey[],
  where: string,
): string {
  const file: KeyFile = { ...info, publicKeyDer: info.publicKeyDer.toString("base64"), privateKeySealed };
  return privateKeyPemOf(file, keys, where);
}

/** A private key PEM sealed with `masterKey`, bound to the key's region and fingerprint. */
export function sealPrivateKey(
  info: Pick<PublicKeyInfo, "region" | "fingerprint">,
  pem: string,
  masterKey: MasterKey,
): string {
  return masterKey.seal(pem, privateKeyAssociatedData(info));
}

/** Refuses a region name that is not one before it names a directory or a row. */
export function assertRegionName(region: string): void {
  if (!/^[a-z0-9-]+$/.test(region)) throw new RangeError(`Invalid region name "${region}".`);
}

/** A fresh RSA-2048 key pair for `region`, its private key sealed with `masterKey`. */
export function generateSealedKeyPair(
  region: string,
  masterKey: MasterKey,
): { fingerprint: string; publicKeyDer: Buffer; privateKeySealed: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const publicKeyDer = publicKey.export({ type: "pkcs1", format: "der" });
  const fingerprint = fingerprintOf(publicKeyDer);
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  return {
    fingerprint,
    publicKeyDer,
    privateKeySealed: sealPrivateKey({ region, fingerprint }, pem, masterKey),
  };
}

export interface SigningKeyStoreOptions {
  readonly dataDir: string;
  readonly clock: Clock;
  /** Seals new private keys and opens stored ones. */
  readonly masterKey: MasterKey;
  readonly validityDays?: number;
  readonly rotateBeforeDays?: number;
}

/** The embedded signing keys: files under `<data-dir>/keys/`. */
export function openFileSigningKeyStore(options: SigningKeyStoreOptions): SigningKeyStore {
  return new FileSigningKeyStore(options);
}

class FileSigningKeyStore implements SigningKeyStore {
  private readonly cache = new Map<string, KeyFile[]>();
  /** Per region, so two digests in the same region never create two keys at once. */
  /** One region's key creation at a time in this process. */
  private readonly regions = new KeyedQueue();
  private readonly validityMs: number;
  private readonly rotateBeforeMs: number;

  constructor(private readonly options: SigningKeyStoreOptions) {
    this.validityMs = (options.validityDays ?? KEY_VALIDITY_DAYS_DEFAULT) * DAY_MS;
    this.rotateBeforeMs = (options.rotateBeforeDays ?? KEY_ROTATE_BEFORE_DAYS_DEFAULT) * DAY_MS;
  }

  /** The key to sign with now: the newest valid key, after creating a fresh one when it is about to expire. */
  signingKey(region: string): Promise<SigningKey> {
    return this.regions.run(region, async () => {
      const files = await this.files(region);
      const now = this.options.clock.nowMs();
      let current = files.filter((f) => f.validityStartMs <= now && now < f.validityEndMs).at(-1);
      if (current === undefined || current.validityEndMs - now < this.rotateBeforeMs) {
        current = await this.create(region, now);
        files.push(current);
      }
      return toSigningKey(current, this.options.masterKey);
    });
  }

  async publicKeys(region: string, startMs: number, endMs: number): Promise<PublicKeyInfo[]> {
    const files = await this.regions.run(region, () => this.files(region));
    return files.filter((f) => f.validityStartMs <= endMs && f.validityEndMs >= startMs).map(toPublicInfo);
  }

  private async files(region: string): Promise<KeyFile[]> {
    let files = this.cache.get(region);
    if (files === undefined) {
      files = await readKeyFiles(this.options.dataDir, region);
      this.cache.set(region, files);
    }
    return files;
  }

  private async create(region: string, nowMs: number): Promise<KeyFile> {
    assertRegionName(region);
    const { fingerprint, publicKeyDer, privateKeySealed } = generateSealedKeyPair(region, this.options.masterKey);
    const file: KeyFile = {
      region,
      fingerprint,
      validityStartMs: nowMs,
      validityEndMs: nowMs + this.validityMs,
      publicKeyDer: publicKeyDer.toString("base64"),
      privateKeySealed,
    };
    const directory = join(keysDirectory(this.options.dataDir), region);
    await makeDirectoryDurable(directory);
    const name = `${new Date(nowMs).toISOString().replace(/[-:.]/g, "")}-${file.fingerprint}.json`;
    await writeFileAtomic(join(directory, name), `${JSON.stringify(file)}\n`);
    return file;
  }
}
