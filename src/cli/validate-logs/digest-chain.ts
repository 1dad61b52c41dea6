import { createPublicKey, verify } from "node:crypto";
import type { ListObjectsPage, StoredObject } from "../../stores/objects/index.js";
import { accountRoot, secondStamp, dateFolders } from "../../model/trail-object-key.js";
import { digestStringToSign } from "../../model/digest-format.js";
import { gunzipFirstMember } from "./gzip-member.js";

/** Read access to buckets: an ObjectStore satisfies it, so does the S3 reader. */
export interface BucketReader {
  listObjects(
    bucket: string,
    options: { prefix?: string; startAfter?: string; maxKeys?: number },
  ): Promise<ListObjectsPage>;
  getObject(bucket: string, key: string): Promise<StoredObject | undefined>;
}

/** Fingerprint → base64 PKCS#1 DER, as ListPublicKeys returns `Value`. */
export type PublicKeyMap = Map<string, string>;

export interface ChainTarget {
  readonly accountId: string;
  readonly organizationId?: string | undefined;
  readonly trailName: string;
  readonly homeRegion: string;
  /** The region whose digests are validated (the AWS CLI's `--region`). */
  readonly sourceRegion: string;
}

/** A digest file as parsed, plus the metadata the validator needs. */
export interface DigestData {
  readonly [field: string]: unknown;
  readonly digestS3Bucket: string;
  readonly digestS3Object: string;
  readonly digestStartTime: string;
  readonly digestEndTime: string;
  readonly digestPublicKeyFingerprint: string;
  readonly previousDigestSignature: string | null;
  readonly previousDigestS3Bucket?: string | null;
  readonly previousDigestS3Object?: string | null;
  readonly logFiles?: ReadonlyArray<{ s3Bucket: string; s3Object: string; hashValue: string }>;
}

/** A digest that failed; `message` is the full output line, as the AWS CLI words it. */
export class DigestError extends Error {
  override readonly name = "DigestError";
}

export class DigestNotFoundError extends Error {
  override readonly name = "DigestNotFoundError";
}

const REQUIRED_FIELDS = [
  "digestPublicKeyFingerprint",
  "digestS3Bucket",
  "digestS3Object",
  "previousDigestSignature",
  "digestEndTime",
  "digestStartTime",
] as const;

function isBackfillKey(key: string): boolean {
  return key.endsWith("_backfill.json.gz");
}

/** The 16-character `YYYYMMDDTHHMMSSZ` a digest key ends with, by position as the AWS CLI takes it. */
export function digestKeyStamp(key: string): string {
  return isBackfillKey(key) ? key.slice(-33, -17) : key.slice(-24, -8);
}

/** Parses a `YYYYMMDDTHHMMSSZ` stamp; NaN when it is not one. */
export function stampMs(stamp: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(stamp);
  if (!m) return Number.NaN;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

/**
 * Lists the trail's digest keys once (aws-cli `load_all_digest_keys_in_range`): ListObjects from a
 * marker one minute before the start, keep this trail's keys, stop past end + 1 h (key stamps
 * compare as strings), split standard from backfill.
 */
export async function listDigestKeys(
  reader: BucketReader,
  bucket: string,
  prefix: string | undefined,
  target: ChainTarget,
  startMs: number,
  endMs: number,
): Promise<{ standard: string[]; backfill: string[] }> {
  const scope = { accountId: target.accountId, organizationId: target.organizationId, prefix };
  const root = accountRoot(scope);
  const src = target.sourceRegion;
  const markerMs = startMs - 60_000;
  const fileStem = `${target.accountId}_CloudTrail-Digest_${src}_${target.trailName}_${target.homeRegion}_`;
  const marker = `${root}CloudTrail-Digest/${src}/${dateFolders(markerMs)}/${fileStem}${secondStamp(markerMs)}.json.gz`;
  const keyPattern = new RegExp(
    `^${escapeRegex(root)}CloudTrail\\-Digest/${escapeRegex(src)}/\\d+/\\d+/\\d+/${escapeRegex(fileStem)}.+(?:_backfill)?\\.json\\.gz$`,
  );
  const first = secondStamp(startMs);
  const last = secondStamp(endMs + 3_600_000);
  const standard: string[] = [];
  const backfill: string[] = [];
  let startAfter: string | undefined = marker;
  while (startAfter !== undefined) {
    const page: ListObjectsPage = await reader.listObjects(bucket, {
      prefix: `${root}CloudTrail-Digest/${src}`,
      startAfter,
    });
    for (const { key } of page.objects) {
      if (!keyPattern.test(key)) continue;
      const stamp = digestKeyStamp(key);
      if (stamp > last) return { standard, backfill };
      if (stamp < first) continue;
      (isBackfillKey(key) ? backfill : standard).push(key);
    }
    startAfter = page.nextStartAfter;
  }
  return { standard, backfill };
}

/**
 * Fetches and checks one digest (aws-cli `fetch_digest` + `_load_and_validate_digest` +
 * `Sha256RSADigestValidator`). Throws DigestNotFoundError, or DigestError with the output line.
 */
export async function loadAndValidateDigest(
  reader: BucketReader,
  bucket: string,
  key: string,
  publicKeys: PublicKeyMap,
  homeRegion: string,
  loadBackfillKeys?: (generatedAt: string) => Promise<void>,
): Promise<DigestData> {
  const line = (reason: string) => `Digest file\ts3://${bucket}/${key}\tINVALID: ${reason}`;
  const object = await reader.getObject(bucket, key);
  if (object === undefined) throw new DigestNotFoundError(key);
  const unzipped = gunzipFirstMember(object.body);
  if (!unzipped.ok) throw new DigestError(line("invalid format"));
  const inflated = unzipped.data;
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(inflated.toString("utf8")) as Record<string, unknown>;
  } catch {
    throw new DigestError(line("invalid format"));
  }
  const signature = object.metadata["signature"];
  if (signature === undefined || object.metadata["signature-algorithm"] === undefined) {
    throw new DigestError(line("signature verification failed"));
  }
  const generatedAt = object.metadata["backfill-generation-timestamp"];
  if (isBackfillKey(key) && generatedAt === undefined) throw new DigestError(line("invalid format"));
  if (typeof data !== "object" || data === null || REQUIRED_FIELDS.some((f) => !(f in data))) {
    throw new DigestError(line("invalid format"));
  }
  const digest = data as unknown as DigestData;
  if (digest.digestS3Bucket !== bucket || digest.digestS3Object !== key) {
    throw new DigestError(line("has been moved from its original location"));
  }
  const fingerprint = digest.digestPublicKeyFingerprint;
  if (!publicKeys.has(fingerprint) && generatedAt !== undefined && loadBackfillKeys)
    await loadBackfillKeys(generatedAt);
  const keyValue = publicKeys.get(fingerprint);
  if (keyValue === undefined) {
    throw new DigestError(line(`public key not found in region ${homeRegion} for fingerprint ${fingerprint}`));
  }
  let publicKey;
  try {
    publicKey = createPublicKey({ key: Buffer.from(keyValue, "base64"), format: "der", type: "pkcs1" });
  } catch {
    throw new DigestError(line(`Unable to load PKCS #1 key with fingerprint ${fingerprint}`));
  }
  if (!/^([0-9a-fA-F]{2})*$/.test(signature)) throw new DigestError(line("Non-hexadecimal digit found"));
  const toSign = digestStringToSign(digest, inflated);
  if (!verify("sha256", Buffer.from(toSign, "utf8"), publicKey, Buffer.from(signature, "hex"))) {
    throw new DigestError(line("signature verification failed"));
  }
  return digest;
}
