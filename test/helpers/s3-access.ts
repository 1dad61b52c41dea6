import { join } from "node:path";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import { appAuthorizer } from "../../src/app/authorizer.js";
import type { Authorizer } from "../../src/auth/authorizer.js";
import { openSqliteBucketOwnerStore, type BucketOwnerStore } from "../../src/stores/bucket-owners/index.js";
import { generatePrincipal } from "../../src/stores/principals/keys.js";
import type { PrincipalStore } from "../../src/stores/principals/principal.js";
import { openSqlitePrincipalStore } from "../../src/stores/principals/sqlite-principal-store.js";
import { testMasterKey } from "./master-key.js";

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** What the read-only S3 server is started with, over real stores in a test's directory. */
export interface S3Access {
  readonly principals: PrincipalStore;
  readonly owners: BucketOwnerStore;
  readonly authorizer: Authorizer;
  /** The root principal of the account owning the buckets. */
  readonly owner: Credentials;
  /** The root principal of another account, owning none of them. */
  readonly stranger: Credentials;
  close(): Promise<void>;
}

export const OWNER_ACCOUNT = "111122223333";
export const STRANGER_ACCOUNT = "210987654321";

/**
 * A principal store holding one root principal per account and a bucket-owner store in which
 * OWNER_ACCOUNT owns `buckets`, both SQLite files in `directory`, and the app's authorizer.
 */
export async function openS3Access(directory: string, buckets: readonly string[]): Promise<S3Access> {
  const principals = openSqlitePrincipalStore(join(directory, "principals.db"), { masterKey: testMasterKey() });
  const owners = openSqliteBucketOwnerStore(join(directory, "bucket-owners.db"));
  const owner = generatePrincipal({ name: "root", type: "Root", accountId: OWNER_ACCOUNT, createdAtMs: 1 });
  const stranger = generatePrincipal({ name: "root", type: "Root", accountId: STRANGER_ACCOUNT, createdAtMs: 2 });
  await principals.add(owner);
  await principals.add(stranger);
  for (const bucket of buckets) await owners.claim(bucket, OWNER_ACCOUNT);
  return {
    principals,
    owners,
    authorizer: appAuthorizer(principals),
    owner,
    stranger,
    async close() {
      await principals.close();
      await owners.close();
    },
  };
}

/**
 * SigV4 headers for an S3 request exactly as it will be sent: `rawPath` is the path and query string
 * on the wire (S3 signs the path as sent, without encoding it again), `host` the Host header.
 */
export async function signS3(
  credentials: Credentials,
  request: { method?: string; rawPath: string; host: string; signingDate?: Date },
): Promise<Record<string, string>> {
  const queryStart = request.rawPath.indexOf("?");
  const path = queryStart === -1 ? request.rawPath : request.rawPath.slice(0, queryStart);
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(queryStart === -1 ? "" : request.rawPath.slice(queryStart + 1)))
    query[key] = value;
  const signer = new SignatureV4({
    credentials,
    region: "us-east-1",
    service: "s3",
    sha256: Sha256,
    uriEscapePath: false,
  });
  const signed = await signer.sign(
    {
      method: request.method ?? "GET",
      protocol: "http:",
      hostname: request.host,
      path,
      query,
      headers: { host: request.host, "x-amz-content-sha256": "UNSIGNED-PAYLOAD" },
    },
    request.signingDate ? { signingDate: request.signingDate } : {},
  );
  return signed.headers as Record<string, string>;
}
