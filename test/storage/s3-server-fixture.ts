import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  openFilesystemObjectStore,
  type FilesystemObjectStore,
} from "../../src/stores/objects/filesystem-object-store.js";
import type { Authorizer } from "../../src/auth/authorizer.js";
import { startS3Server, type S3Server } from "../../src/http/s3-server/start-s3-server.js";
import { openS3Access, STRANGER_ACCOUNT, type Credentials } from "../helpers/s3-access.js";

export const BUCKET = "trail-bucket";
export const MANY_PREFIX = "many/";
export const MANY_COUNT = 1205;
export const DIGEST_KEY =
  "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/20/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261120T100000Z.json.gz";
export const LOG_KEY =
  "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/111122223333_CloudTrail_us-east-1_20261120T1000Z_Mu0KsOhtH1ar15ZZ.json.gz";
export const SPECIAL_KEY = "special/a b+c&d<e>'\"%41 ü.json";
export const DIGEST_BODY = gzipSync(Buffer.from('{"awsAccountId":"111122223333"}'));
const LOG_BODY = gzipSync(Buffer.from('{"Records":[]}'));
export const SIGNATURE = "0a1b".repeat(128);
/** A bucket of another account (STRANGER_ACCOUNT) beside the owner's: never visible to the owner. */
export const OTHER_BUCKET = "other-account-bucket";
export const OTHER_KEY = "AWSLogs/210987654321/secret.json";

export function manyKey(i: number): string {
  return `${MANY_PREFIX}${String(i).padStart(5, "0")}.json`;
}

/**
 * An embedded store with a small trail and 1205 extra keys, served by a real S3 server on 127.0.0.1:
 * `trail-bucket` and `empty-bucket` belong to the account of `owner`, OTHER_BUCKET to `stranger`'s.
 */
export interface ServedStore {
  readonly store: FilesystemObjectStore;
  readonly server: S3Server;
  /** Keys of the root principal of the account owning BUCKET. */
  readonly owner: Credentials;
  /** Keys of the root principal of STRANGER_ACCOUNT, which owns OTHER_BUCKET. */
  readonly stranger: Credentials;
  close(): Promise<void>;
}

/** `authorizer` replaces the app's (which allows everything) to exercise the IAM seam. */
export async function startServedStore(options: { authorizer?: Authorizer } = {}): Promise<ServedStore> {
  const root = await mkdtemp(join(tmpdir(), "cairn-s3-server-"));
  const store = openFilesystemObjectStore(join(root, "buckets"));
  await store.ensureBucket(BUCKET);
  await store.ensureBucket("empty-bucket");
  await store.putObject(BUCKET, DIGEST_KEY, DIGEST_BODY, {
    contentType: "application/json",
    contentEncoding: "gzip",
    metadata: { signature: SIGNATURE, "signature-algorithm": "SHA256withRSA" },
  });
  await store.putObject(BUCKET, LOG_KEY, LOG_BODY, { contentType: "application/json", contentEncoding: "gzip" });
  await store.putObject(BUCKET, SPECIAL_KEY, Buffer.from("special"));
  const keys = Array.from({ length: MANY_COUNT }, (_, i) => manyKey(i));
  for (let start = 0; start < keys.length; start += 50) {
    await Promise.all(keys.slice(start, start + 50).map((key) => store.putObject(BUCKET, key, Buffer.from(key))));
  }
  await store.ensureBucket(OTHER_BUCKET);
  await store.putObject(OTHER_BUCKET, OTHER_KEY, Buffer.from('{"Records":[{"secret":true}]}'));
  const access = await openS3Access(root, [BUCKET, "empty-bucket"]);
  await access.owners.claim(OTHER_BUCKET, STRANGER_ACCOUNT);
  const server = await startS3Server({
    store,
    host: "127.0.0.1",
    port: 0,
    listBuckets: () => store.listBuckets(),
    principals: access.principals,
    owners: access.owners,
    authorizer: options.authorizer ?? access.authorizer,
  });
  return {
    store,
    server,
    owner: access.owner,
    stranger: access.stranger,
    async close() {
      await server.close();
      await access.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
