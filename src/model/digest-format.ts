import { createHash } from "node:crypto";

/**
 * The digest file (spec §3.2) and the string its signature covers (§3.3). Shared by the writer
 * (src/consumers/trails/) and by `cairn validate-logs`, so both sides agree byte for byte.
 */
export const HASH_ALGORITHM = "SHA-256";
/** How digests (and Lake query results) are signed: RSA over SHA-256, as CloudTrail does. */
export const SIGNATURE_ALGORITHM = "SHA256withRSA";

export interface DigestLogFileEntry {
  readonly s3Bucket: string;
  readonly s3Object: string;
  readonly hashValue: string;
  readonly hashAlgorithm: string;
  readonly newestEventTime: string | null;
  readonly oldestEventTime: string | null;
}

/** Field order follows AWS's samples; the validator hashes the stored bytes, so order is cosmetic. */
export interface DigestDocument {
  readonly awsAccountId: string;
  readonly digestStartTime: string;
  readonly digestEndTime: string;
  readonly digestS3Bucket: string;
  readonly digestS3Object: string;
  readonly digestPublicKeyFingerprint: string;
  readonly digestSignatureAlgorithm: string;
  readonly newestEventTime: string | null;
  readonly oldestEventTime: string | null;
  readonly previousDigestS3Bucket: string | null;
  readonly previousDigestS3Object: string | null;
  readonly previousDigestHashValue: string | null;
  readonly previousDigestHashAlgorithm: string | null;
  readonly previousDigestSignature: string | null;
  readonly logFiles: readonly DigestLogFileEntry[];
}

/** What a digest needs to know about the one before it in its chain. */
export interface PreviousDigest {
  readonly bucket: string;
  readonly key: string;
  /** Hex SHA-256 of the previous digest's uncompressed JSON. */
  readonly hashValue: string;
  readonly signature: string;
}

export interface DigestInput {
  readonly accountId: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly bucket: string;
  readonly key: string;
  readonly fingerprint: string;
  readonly previous: PreviousDigest | null;
  readonly logFiles: readonly DigestLogFileEntry[];
}

/** `YYYY-MM-DDTHH:MM:SSZ`, the only time format digests use. */
export function digestTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function buildDigestDocument(input: DigestInput): DigestDocument {
  const times = (pick: (f: DigestLogFileEntry) => string | null): string[] =>
    input.logFiles.map(pick).filter((t): t is string => t !== null);
  const newest = times((f) => f.newestEventTime).sort();
  const oldest = times((f) => f.oldestEventTime).sort();
  const previous = input.previous;
  return {
    awsAccountId: input.accountId,
    digestStartTime: digestTime(input.startMs),
    digestEndTime: digestTime(input.endMs),
    digestS3Bucket: input.bucket,
    digestS3Object: input.key,
    digestPublicKeyFingerprint: input.fingerprint,
    digestSignatureAlgorithm: SIGNATURE_ALGORITHM,
    newestEventTime: newest.at(-1) ?? null,
    oldestEventTime: oldest[0] ?? null,
    previousDigestS3Bucket: previous?.bucket ?? null,
    previousDigestS3Object: previous?.key ?? null,
    previousDigestHashValue: previous?.hashValue ?? null,
    previousDigestHashAlgorithm: previous ? HASH_ALGORITHM : null,
    previousDigestSignature: previous?.signature ?? null,
    logFiles: input.logFiles,
  };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/**
 * `<digestEndTime>\n<bucket>/<key>\n<sha256 hex of the uncompressed digest>\n<previousDigestSignature>`,
 * with the literal `null` for a chain's first digest ("to match the Java implementation", aws-cli).
 */
export function digestStringToSign(
  fields: {
    digestEndTime: string;
    digestS3Bucket: string;
    digestS3Object: string;
    previousDigestSignature: string | null;
  },
  uncompressedDigest: Uint8Array,
): string {
  return [
    fields.digestEndTime,
    `${fields.digestS3Bucket}/${fields.digestS3Object}`,
    sha256Hex(uncompressedDigest),
    fields.previousDigestSignature ?? "null",
  ].join("\n");
}
