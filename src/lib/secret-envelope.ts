import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

/**
 * Envelope encryption of the secrets Cairn keeps at rest (secret access keys, digest signing private
 * keys): AES-256-GCM under a key derived from the master key, a fresh random 12-byte IV per value,
 * the 16-byte tag, and associated data that binds each ciphertext to what it protects (an access key
 * id, a key fingerprint), so a sealed value copied onto another row does not open.
 *
 * Sealed text: `v1:` + base64(IV ‖ ciphertext ‖ tag). The version prefix lets a later format (another
 * cipher, a wrapped data key) sit beside this one.
 */
const FORMAT_PREFIX = "v1:";
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const MASTER_KEY_BYTES = 32;

/** A sealed value did not open: wrong master key, wrong associated data, or altered bytes. */
export class SecretEnvelopeError extends Error {
  override readonly name = "SecretEnvelopeError";
}

export interface MasterKey {
  /**
   * A short public name of the key (16 hex characters, derived one-way): error messages and the
   * data directory's `master-key-id` file tell keys apart by it without revealing them.
   */
  readonly id: string;
  seal(plaintext: string, associatedData: string): string;
  /** Throws SecretEnvelopeError when the value does not open with this key and associated data. */
  open(sealed: string, associatedData: string): string;
}

/** Whether `text` is in a sealed format this build reads (as opposed to a legacy plaintext value). */
export function isSealed(text: string): boolean {
  return text.startsWith(FORMAT_PREFIX);
}

/**
 * The master key from its 32 raw bytes. The AES key and the id are derived with HKDF-SHA256 under
 * distinct labels, so publishing the id reveals nothing about the encryption key.
 *
 * @example
 * const key = masterKeyOf(randomBytes(32));
 * key.open(key.seal("secret", "principal/AKIA…"), "principal/AKIA…"); // "secret"
 */
export function masterKeyOf(bytes: Uint8Array): MasterKey {
  if (bytes.length !== MASTER_KEY_BYTES) {
    throw new RangeError(`A master key is ${MASTER_KEY_BYTES} bytes (got ${bytes.length}).`);
  }
  const derive = (label: string, length: number) =>
    Buffer.from(hkdfSync("sha256", bytes, Buffer.alloc(0), `cairn ${label}`, length));
  const aesKey = derive("secret envelope v1", 32);
  const id = derive("master key id", 8).toString("hex");
  return {
    id,
    seal(plaintext, associatedData) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv("aes-256-gcm", aesKey, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(associatedData, "utf8"));
      const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
      return FORMAT_PREFIX + Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64");
    },
    open(sealed, associatedData) {
      if (!isSealed(sealed)) throw new SecretEnvelopeError("Not a sealed value (no v1: prefix).");
      const bytes = Buffer.from(sealed.slice(FORMAT_PREFIX.length), "base64");
      if (bytes.length < IV_BYTES + TAG_BYTES) throw new SecretEnvelopeError("Sealed value is truncated.");
      const decipher = createDecipheriv("aes-256-gcm", aesKey, bytes.subarray(0, IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(associatedData, "utf8"));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      try {
        return Buffer.concat([
          decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
          decipher.final(),
        ]).toString("utf8");
      } catch {
        throw new SecretEnvelopeError(
          `Sealed value does not open with master key ${id}: another key sealed it, or it was altered.`,
        );
      }
    },
  };
}

/**
 * Opens `sealed` with the first of `keys` that opens it. During a master key rotation a data
 * directory holds values sealed with the old key and values already re-sealed with the new one.
 * Throws SecretEnvelopeError, naming every key tried, when none opens it.
 */
export function openWithAnyKey(keys: readonly MasterKey[], sealed: string, associatedData: string): string {
  for (const key of keys) {
    try {
      return key.open(sealed, associatedData);
    } catch (error) {
      if (!(error instanceof SecretEnvelopeError)) throw error;
    }
  }
  throw new SecretEnvelopeError(
    `Sealed value does not open with master key ${keyIdsText(keys)}: another key sealed it, or it was altered.`,
  );
}

/** "a", "a or b": the ids of the keys tried, for error messages. */
export function keyIdsText(keys: readonly MasterKey[]): string {
  return keys.map((key) => key.id).join(" or ");
}
