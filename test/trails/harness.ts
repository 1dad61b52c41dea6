import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { ApiError, type ApiErrorCode } from "../../src/lib/api-error.js";
import type { OperationResult } from "../../src/control-plane/operation.js";
import { openFilesystemObjectStore } from "../../src/stores/objects/filesystem-object-store.js";
import type { ObjectStore } from "../../src/stores/objects/object-store.js";
import { openSqliteTrailStore, type SqliteTrailStore } from "../../src/stores/trails/sqlite-trail-store.js";
import { createTrailOperations } from "../../src/control-plane/trails/trail-operations.js";
import { openSqliteBucketOwnerStore, type BucketOwnerStore } from "../../src/stores/bucket-owners/index.js";
import { openSqliteSnsStore, type SnsStore } from "../../src/stores/sns/index.js";

export const ACCOUNT = "111122223333";
export const OTHER_ACCOUNT = "444455556666";
export const NOW_MS = Date.parse("2024-05-01T12:00:00.250Z");

export interface Harness {
  readonly trails: SqliteTrailStore;
  readonly objectStore: ObjectStore;
  /** Which account owns each bucket (a real SQLite store in the harness's directory). */
  readonly owners: BucketOwnerStore;
  /** The SNS topics SnsTopicName may name (a real SQLite store in the harness's directory). */
  readonly sns: SnsStore;
  /** The fake journal head StartLogging reads. */
  head: number;
  call(
    operation: string,
    input: Record<string, unknown>,
    where?: { region?: string; accountId?: string },
  ): Promise<OperationResult>;
  /** Expects the call to fail with `code` (and a message matching `message`). */
  refuses(
    operation: string,
    input: Record<string, unknown>,
    code: ApiErrorCode,
    message?: RegExp | string,
    where?: { region?: string; accountId?: string },
  ): Promise<void>;
  close(): Promise<void>;
}

/** The trail operations over a real SQLite store and a real filesystem object store in a temp dir. */
export function openHarness(options: { objectStore?: ObjectStore; maxTrailsPerRegion?: number } = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), "cairn-trail-ops-"));
  const trails = openSqliteTrailStore(join(dir, "control-plane.db"));
  const objectStore = options.objectStore ?? openFilesystemObjectStore(join(dir, "objects"));
  const owners = openSqliteBucketOwnerStore(join(dir, "bucket-owners.db"));
  const sns = openSqliteSnsStore(join(dir, "sns.db"));
  const harness: Harness = {
    trails,
    objectStore,
    owners,
    sns,
    head: 100,
    async call(operation, input, where = {}) {
      const handler = operations.get(operation);
      assert.ok(handler, operation);
      const accountId = where.accountId ?? ACCOUNT;
      return handler(input, {
        principal: {
          name: "admin",
          type: "Root",
          accountId,
          accessKeyId: "AKIAEXAMPLE",
          secretAccessKey: "x",
          principalId: accountId,
          createdAtMs: 0,
        },
        accountId,
        region: where.region ?? "us-east-1",
        requestId: "req",
        nowMs: NOW_MS,
        // The harness calls handlers as the account's root, whom IAM allows everything.
        authorize: async () => undefined,
      });
    },
    async refuses(operation, input, code, message, where) {
      await assert.rejects(harness.call(operation, input, where), (error: unknown) => {
        assert.ok(error instanceof ApiError, String(error));
        assert.equal(error.code, code, error.message);
        if (typeof message === "string") assert.equal(error.message, message);
        else if (message !== undefined) assert.match(error.message, message);
        return true;
      });
    },
    async close() {
      trails.close();
      await owners.close();
      await sns.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const operations = createTrailOperations({
    trails,
    objectStore,
    owners,
    clock: { nowMs: () => NOW_MS },
    journalHeadSeq: () => Promise.resolve(harness.head),
    createMissingBuckets: true,
    snsTopics: sns,
    ...(options.maxTrailsPerRegion !== undefined ? { maxTrailsPerRegion: options.maxTrailsPerRegion } : {}),
  });
  return harness;
}

/** An object store in front of S3 that refuses to create buckets (as a real S3 backend does). */
export function refusingObjectStore(existing: readonly string[]): ObjectStore {
  const fail = () => Promise.reject(new Error("not used"));
  return {
    bucketExists: (bucket) => Promise.resolve(existing.includes(bucket)),
    ensureBucket: (bucket) =>
      existing.includes(bucket) ? Promise.resolve() : Promise.reject(new Error(`NoSuchBucket ${bucket}`)),
    putObject: fail,
    getObject: fail,
    listObjects: fail,
    deleteObject: fail,
  };
}
