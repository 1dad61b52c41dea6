import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type BucketLocationConstraint,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { join } from "node:path";
import { openFilesystemObjectStore } from "./filesystem-object-store.js";
import {
  ObjectStoreError,
  PRECONDITION_FAILED,
  type DeleteObjectOptions,
  type ListObjectsPage,
  type ObjectStore,
  type PutObjectOptions,
  type StoredObject,
} from "./object-store.js";
import { toObjectStoreError } from "./s3-error.js";
import { hangAwareRetryStrategy } from "./s3-retry.js";

/** CAIRN_S3_TIMEOUT_MS's default (src/config/settings.ts): below 6 s, where the SDK arms its idle timer at once. */
const S3_TIMEOUT_MS_DEFAULT = 5_000;

export interface S3ObjectStoreOptions {
  /** e.g. `http://127.0.0.1:9000` for MinIO; unset = AWS S3 in `region`. */
  readonly endpoint?: string;
  readonly region: string;
  /** Both or neither; neither = the SDK's default credential chain (env, profile, instance role). */
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly forcePathStyle?: boolean;
  /**
   * Connect timeout, and idle timeout of every request: no byte sent or received for this long fails
   * the call with a `TimeoutError`. Not a deadline: an upload that keeps moving is never cut.
   * Default S3_TIMEOUT_MS_DEFAULT.
   */
  readonly timeoutMs?: number;
}

/**
 * An ObjectStore on any S3-compatible endpoint (AWS S3, MinIO, Ceph, Garage, moto) through the
 * official SDK. Every failure becomes an ObjectStoreError (see s3-error.ts).
 *
 * @example
 * const store = createS3ObjectStore({ endpoint: "http://127.0.0.1:9000", region: "us-east-1", forcePathStyle: true });
 */
export function createS3ObjectStore(options: S3ObjectStoreOptions): ObjectStore {
  return new S3ObjectStore(options);
}

class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly endpointLabel: string;

  constructor(private readonly options: S3ObjectStoreOptions) {
    this.client = new S3Client(clientConfig(options));
    this.endpointLabel = options.endpoint ?? `AWS S3 (${options.region})`;
  }

  async bucketExists(bucket: string): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
      return true;
    } catch (error) {
      const mapped = this.failure("HeadBucket", `s3://${bucket}`, error);
      if (mapped.code === "NotFound" || mapped.code === "NoSuchBucket") return false;
      throw mapped;
    }
  }

  async ensureBucket(bucket: string): Promise<void> {
    if (await this.bucketExists(bucket)) return;
    // us-east-1 is the one region S3 refuses as an explicit LocationConstraint.
    const configuration =
      this.options.region === "us-east-1"
        ? {}
        : { CreateBucketConfiguration: { LocationConstraint: this.options.region as BucketLocationConstraint } };
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: bucket, ...configuration }));
    } catch (error) {
      const mapped = this.failure("CreateBucket", `s3://${bucket}`, error);
      if (mapped.code !== "BucketAlreadyOwnedByYou") throw mapped;
    }
  }

  async putObject(bucket: string, key: string, body: Buffer, options: PutObjectOptions = {}): Promise<void> {
    try {
      await this.client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ...(options.contentType !== undefined ? { ContentType: options.contentType } : {}),
          ...(options.contentEncoding !== undefined ? { ContentEncoding: options.contentEncoding } : {}),
          ...(options.metadata !== undefined ? { Metadata: { ...options.metadata } } : {}),
          ...(options.ifMatch !== undefined ? { IfMatch: quoteEtag(options.ifMatch) } : {}),
          ...(options.ifNoneMatch !== undefined ? { IfNoneMatch: options.ifNoneMatch } : {}),
        }),
      );
    } catch (error) {
      throw conditional(options, this.failure("PutObject", `s3://${bucket}/${key}`, error));
    }
  }

  async getObject(bucket: string, key: string): Promise<StoredObject | undefined> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      const body =
        response.Body === undefined ? Buffer.alloc(0) : Buffer.from(await response.Body.transformToByteArray());
      return {
        body,
        ...(response.ContentType !== undefined ? { contentType: response.ContentType } : {}),
        ...(response.ContentEncoding !== undefined ? { contentEncoding: response.ContentEncoding } : {}),
        metadata: { ...(response.Metadata ?? {}) },
        lastModifiedMs: response.LastModified?.getTime() ?? 0,
        etag: unquoteEtag(response.ETag),
      };
    } catch (error) {
      const mapped = this.failure("GetObject", `s3://${bucket}/${key}`, error);
      if (mapped.code === "NoSuchKey") return undefined;
      throw mapped;
    }
  }

  async listObjects(
    bucket: string,
    options: { prefix?: string; startAfter?: string; maxKeys?: number },
  ): Promise<ListObjectsPage> {
    try {
      const response = await this.client.send(
        new ListObjectsV2Command({
          Bucket: bucket,
          ...(options.prefix !== undefined && options.prefix !== "" ? { Prefix: options.prefix } : {}),
          ...(options.startAfter !== undefined && options.startAfter !== "" ? { StartAfter: options.startAfter } : {}),
          MaxKeys: Math.max(0, Math.min(options.maxKeys ?? 1000, 1000)),
        }),
      );
      const objects = (response.Contents ?? []).map((entry) => ({
        key: entry.Key ?? "",
        sizeBytes: entry.Size ?? 0,
        lastModifiedMs: entry.LastModified?.getTime() ?? 0,
        etag: unquoteEtag(entry.ETag),
      }));
      const last = objects[objects.length - 1];
      return response.IsTruncated === true && last !== undefined ? { objects, nextStartAfter: last.key } : { objects };
    } catch (error) {
      throw this.failure("ListObjectsV2", `s3://${bucket}/${options.prefix ?? ""}`, error);
    }
  }

  async deleteObject(bucket: string, key: string, options: DeleteObjectOptions = {}): Promise<void> {
    try {
      await this.client.send(
        new DeleteObjectCommand({
          Bucket: bucket,
          Key: key,
          ...(options.ifMatch !== undefined ? { IfMatch: quoteEtag(options.ifMatch) } : {}),
        }),
      );
    } catch (error) {
      throw conditional(options, this.failure("DeleteObject", `s3://${bucket}/${key}`, error));
    }
  }

  private failure(operation: string, target: string, error: unknown): ObjectStoreError {
    return toObjectStoreError(operation, target, this.endpointLabel, error);
  }
}

function clientConfig(options: S3ObjectStoreOptions): S3ClientConfig {
  const hasKey = options.accessKeyId !== undefined;
  if (hasKey !== (options.secretAccessKey !== undefined)) {
    throw new ObjectStoreError("Set both the S3 access key id and the secret access key, or neither.", "InvalidConfig");
  }
  const timeoutMs = options.timeoutMs ?? S3_TIMEOUT_MS_DEFAULT;
  // 0 would switch the SDK's timeouts off: never wait forever for a store.
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new ObjectStoreError(
      `The S3 timeout must be a positive number of milliseconds (got ${timeoutMs}).`,
      "InvalidConfig",
    );
  }
  return {
    region: options.region,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.forcePathStyle !== undefined ? { forcePathStyle: options.forcePathStyle } : {}),
    ...(hasKey
      ? { credentials: { accessKeyId: options.accessKeyId!, secretAccessKey: options.secretAccessKey! } }
      : {}),
    // Newer SDKs add CRC32 checksums to every upload; many S3-compatible servers reject or ignore
    // them. Send them only where S3 requires them, and don't fail reads on servers that omit them.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // A hung endpoint (it accepts the connection, then says nothing) is an error, not a stall: the SDK's
    // default has no timeout at all. socketTimeout is an idle timeout (it restarts with every byte either
    // way), so large uploads are never cut; no requestTimeout, which would be a total deadline.
    requestHandler: { connectionTimeout: timeoutMs, socketTimeout: timeoutMs },
    retryStrategy: hangAwareRetryStrategy(),
    // From 2 MB the SDK would send `Expect: 100-continue` and wait up to 6 s in silence for a server
    // that ignores it: under an idle timeout below that, every large upload would time out there.
    expectContinueHeader: false,
  };
}

function quoteEtag(etag: string): string {
  return `"${unquoteEtag(etag)}"`;
}

/**
 * S3 answers a condition that does not hold with 412 PreconditionFailed, an `If-Match` on a missing
 * key with 404 NoSuchKey, and a conditional write racing another with 409 ConditionalRequestConflict:
 * all three are PreconditionFailed to the caller (the object is not the one it expected).
 */
function conditional(
  options: { readonly ifMatch?: string; readonly ifNoneMatch?: string },
  error: ObjectStoreError,
): ObjectStoreError {
  if (options.ifMatch === undefined && options.ifNoneMatch === undefined) return error;
  if (!["PreconditionFailed", "NoSuchKey", "NotFound", "ConditionalRequestConflict"].includes(error.code)) return error;
  return new ObjectStoreError(error.message, PRECONDITION_FAILED, { cause: error });
}

function unquoteEtag(etag: string | undefined): string {
  return (etag ?? "").replace(/^"|"$/g, "");
}

/** Environment variables that select and configure the object store (docs/reference/s3.md). */
export interface ObjectStoreEnvironment {
  readonly CAIRN_S3_ENDPOINT?: string | undefined;
  readonly CAIRN_S3_REGION?: string | undefined;
  readonly CAIRN_S3_ACCESS_KEY_ID?: string | undefined;
  readonly CAIRN_S3_SECRET_ACCESS_KEY?: string | undefined;
  readonly CAIRN_S3_FORCE_PATH_STYLE?: string | undefined;
  readonly CAIRN_S3_TIMEOUT_MS?: string | undefined;
}

/**
 * The embedded store under `<dataDir>/buckets` unless `CAIRN_S3_ENDPOINT` is set, then that S3
 * endpoint. `CAIRN_S3_FORCE_PATH_STYLE` defaults to false as in src/config/settings.ts; the SDK then
 * uses path style by itself for IP-literal endpoints, but a DNS-name endpoint such as
 * `http://minio:9000` needs it set to true (no wildcard DNS for `bucket.minio`). Throws a plain
 * Error naming the variable on a bad value.
 *
 * @example
 * const { store, kind } = objectStoreFromEnvironment(process.env, "/var/lib/cairn");
 */
export function objectStoreFromEnvironment(
  env: ObjectStoreEnvironment,
  dataDir: string,
): { store: ObjectStore; kind: "embedded" | "s3" } {
  const endpoint = nonEmpty(env.CAIRN_S3_ENDPOINT);
  if (endpoint === undefined) return { store: openFilesystemObjectStore(join(dataDir, "buckets")), kind: "embedded" };
  if (!/^https?:\/\/[^/]+/.test(endpoint)) {
    throw new Error(`CAIRN_S3_ENDPOINT must be an http:// or https:// URL (got ${JSON.stringify(endpoint)}).`);
  }
  const accessKeyId = nonEmpty(env.CAIRN_S3_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.CAIRN_S3_SECRET_ACCESS_KEY);
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new Error("Set both CAIRN_S3_ACCESS_KEY_ID and CAIRN_S3_SECRET_ACCESS_KEY, or neither.");
  }
  const store = createS3ObjectStore({
    endpoint,
    region: nonEmpty(env.CAIRN_S3_REGION) ?? "us-east-1",
    forcePathStyle: parseBoolean("CAIRN_S3_FORCE_PATH_STYLE", env.CAIRN_S3_FORCE_PATH_STYLE) ?? false,
    timeoutMs: parseTimeout(env.CAIRN_S3_TIMEOUT_MS) ?? S3_TIMEOUT_MS_DEFAULT,
    ...(accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey } : {}),
  });
  return { store, kind: "s3" };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function parseBoolean(name: string, value: string | undefined): boolean | undefined {
  const text = nonEmpty(value)?.toLowerCase();
  if (text === undefined) return undefined;
  if (["true", "1", "yes"].includes(text)) return true;
  if (["false", "0", "no"].includes(text)) return false;
  throw new Error(`${name} must be true or false (got ${JSON.stringify(value)}).`);
}

function parseTimeout(value: string | undefined): number | undefined {
  const text = nonEmpty(value);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) <= 0) {
    throw new Error(`CAIRN_S3_TIMEOUT_MS must be a positive integer of milliseconds (got ${JSON.stringify(value)}).`);
  }
  return Number(text);
}
