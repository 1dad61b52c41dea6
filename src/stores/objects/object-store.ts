/**
 * S3-compatible object storage, as trails need it (spec §2, §3). Two real backends implement it: the
 * embedded filesystem store (a directory per bucket under the data dir, also served read-only over the
 * S3 protocol) and any S3 endpoint through @aws-sdk/client-s3. docs/specs/object-store.md is the
 * contract; test/contract/object-store.suite.ts runs against both.
 */
export interface PutObjectOptions {
  readonly contentType?: string;
  readonly contentEncoding?: string;
  /** User metadata without the `x-amz-meta-` prefix, e.g. `{ signature: "…" }` for digests. */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Write only over the object with this ETag (S3 `If-Match`); else PreconditionFailed, nothing written. */
  readonly ifMatch?: string;
  /** `*`: write only when the key holds no object (S3 `If-None-Match: *`); else PreconditionFailed. */
  readonly ifNoneMatch?: "*";
}

/** A conditional delete: only the object with this ETag (S3 `If-Match`); else PreconditionFailed. */
export interface DeleteObjectOptions {
  readonly ifMatch?: string;
}

/** The ObjectStoreError code of a conditional write or delete whose condition did not hold. */
export const PRECONDITION_FAILED = "PreconditionFailed";

export interface StoredObject {
  readonly body: Buffer;
  readonly contentType?: string;
  readonly contentEncoding?: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly lastModifiedMs: number;
  readonly etag: string;
}

export interface ObjectSummary {
  readonly key: string;
  readonly sizeBytes: number;
  readonly lastModifiedMs: number;
  readonly etag: string;
}

export interface ListObjectsPage {
  readonly objects: ObjectSummary[];
  /** Present when more keys follow: pass it as `startAfter` to continue. */
  readonly nextStartAfter?: string;
}

export interface ObjectStore {
  /** Whether the bucket exists (CreateTrail refuses a missing bucket on S3; the embedded store creates it). */
  bucketExists(bucket: string): Promise<boolean>;
  /** Creates the bucket if the backend allows (embedded: yes); resolves when it exists. */
  ensureBucket(bucket: string): Promise<void>;
  /** Durable on resolve (embedded: temp file → fsync → rename → fsync dir). Overwrites. */
  putObject(bucket: string, key: string, body: Buffer, options?: PutObjectOptions): Promise<void>;
  /** `undefined` when the object does not exist. */
  getObject(bucket: string, key: string): Promise<StoredObject | undefined>;
  /** Keys in lexicographic (UTF-8 byte) order, as S3 lists them. */
  listObjects(
    bucket: string,
    options: { prefix?: string; startAfter?: string; maxKeys?: number },
  ): Promise<ListObjectsPage>;
  /** No-op when the key holds no object, unless `ifMatch` is given (then PreconditionFailed). */
  deleteObject(bucket: string, key: string, options?: DeleteObjectOptions): Promise<void>;
}

/** The storage could not be reached or refused the request; delivery retries, GetTrailStatus shows it. */
export class ObjectStoreError extends Error {
  override readonly name = "ObjectStoreError";
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
