/**
 * The Lake catalog: what Lake knows besides the Parquet bytes. Event data stores, the Parquet files
 * that are committed (a file counts only once its row is here), the de-duplication keys per store,
 * the live consumer's cursor, the control plane's JSON documents (queries, imports, channels) and
 * import failures. Files and keys are recorded in the same transaction as the cursor (or an import
 * chunk's progress), so a crash leaves either both or neither.
 *
 * Every method is asynchronous so a networked backend can implement it; callers await each call
 * before relying on its effect. The embedded backend is SQLite (sqlite-lake-catalog.ts), the cluster
 * one PostgreSQL (postgres-lake-catalog.ts, decision 0014); the shared contract suite is
 * test/contract/lake-catalog.suite.ts.
 */
import { hash } from "node:crypto";
import type { AdvancedEventSelector } from "../../selectors/selector-types.js";

export type EdsStatus = "CREATED" | "ENABLED" | "PENDING_DELETION" | "STOPPED_INGESTION";

export interface EventDataStore {
  readonly id: string;
  readonly accountId: string;
  readonly region: string;
  readonly name: string;
  readonly arn: string;
  readonly status: EdsStatus;
  readonly advancedEventSelectors: AdvancedEventSelector[];
  readonly multiRegionEnabled: boolean;
  readonly organizationEnabled: boolean;
  readonly retentionPeriod: number;
  readonly terminationProtectionEnabled: boolean;
  readonly billingMode: string;
  readonly tags: Array<{ Key: string; Value?: string }>;
  readonly createdMs: number;
  readonly updatedMs: number;
  /** When DeleteEventDataStore ran; the store is purged 7 days later. */
  readonly deletedMs?: number;
  /** Only journal entries after this seq belong to the store (a new store starts empty, as in AWS). */
  readonly fromSeq: number;
  /** PutInsightSelectors on this (source) store (spec §8.1, decision 0019); absent: Insights off. */
  readonly insightSelectors?: ReadonlyArray<{
    readonly InsightType: "ApiCallRateInsight" | "ApiErrorRateInsight";
    readonly EventCategories?: ReadonlyArray<"Management" | "Data">;
  }>;
  /** The ARN of the Insights event data store the source's Insights records go to. */
  readonly insightsDestination?: string;
}

/** The length of a de-duplication key. */
export const KEY_BYTES = 16;

/** 16 bytes of SHA-256 of the record's dedup key: collisions are negligible and the index stays small. */
export function keyHash(dedupKey: string): Buffer {
  return hash("sha256", dedupKey, "buffer").subarray(0, KEY_BYTES);
}

/** A committed Parquet file of one store. */
export interface CatalogFile {
  readonly path: string;
  readonly edsId: string;
  readonly rows: number;
}

/** One Parquet file written and fsynced, with the keys (keyHash) of the rows it holds. */
export interface CommittedFile extends CatalogFile {
  readonly keys: readonly Buffer[];
}

/** Control-plane objects kept as JSON documents keyed by id and scoped by account. */
export type DocumentTable = "queries" | "imports" | "channels";

/** What every catalog document carries; the rest of it is the caller's. */
export interface CatalogDocument {
  readonly id: string;
  readonly accountId: string;
}

/** A file or record an import could not take (a ListImportFailures entry). */
export interface ImportFailure {
  readonly Location: string;
  readonly Status: string;
  readonly ErrorType: string;
  readonly ErrorMessage: string;
  /** Seconds since the epoch. */
  readonly LastUpdatedTime: number;
}

/**
 * Cluster mode: the lease whose holder alone may change the committed files (decision 0015). A
 * fenced catalog checks, inside each file-changing transaction, that the lease row still names this
 * token and has not lapsed; otherwise nothing is changed and the call rejects with LakeFencedError.
 */
export interface LakeFence {
  /** The grant this node holds now, or undefined once it lost it (then every fenced write is refused). */
  current(): { readonly name: string; readonly fencingToken: number } | undefined;
}

/** A file-changing call of a fenced catalog whose lease passed to another node or lapsed: nothing was changed. */
export class LakeFencedError extends Error {
  override readonly name = "LakeFencedError";
  constructor(readonly fencingToken: number | undefined) {
    super(
      fencingToken === undefined
        ? "This node does not hold the Lake writer lease; the catalog change is refused."
        : `The Lake writer lease under fencing token ${fencingToken} passed to another node or lapsed; the catalog change is refused.`,
    );
  }
}

export interface LakeCatalog {
  // Event data stores.
  /** Creates or replaces the store with this id. */
  putStore(store: EventDataStore): Promise<void>;
  store(id: string): Promise<EventDataStore | undefined>;
  /** Every store, or an account's, in id order. */
  stores(accountId?: string): Promise<EventDataStore[]>;
  /** Purges a store with its committed files and its keys, in one transaction. */
  deleteStore(id: string): Promise<void>;

  // The live consumer's cursor and the committed files.
  /** Highest journal seq the live consumer has committed (0 before its first commit). */
  cursor(): Promise<number>;
  /**
   * Records files and their keys and, for the live consumer, the new cursor, in one transaction.
   * A path already recorded is recorded again with the new store and row count. Every key must be
   * KEY_BYTES long (keyHash); a batch holding another key is refused whole.
   */
  commitFiles(files: readonly CommittedFile[], cursor?: number): Promise<void>;
  committedPaths(): Promise<Set<string>>;
  /** A store's committed files in path order, read as one consistent snapshot (a query's file list). */
  storeFiles(edsId: string): Promise<string[]>;
  /** Every committed file with its store and row count, in path order (compaction planning). */
  allFiles(): Promise<CatalogFile[]>;
  /**
   * Compaction's swap, one transaction: records the merged file and forgets the files it replaces.
   * Changes nothing and answers false when one of them is no longer committed to that store, or the
   * store is gone (the retention sweep or a store purge got there first), so rows are never counted
   * twice or lost.
   */
  replaceFiles(merged: CatalogFile, replaced: readonly string[]): Promise<boolean>;
  /** Forgets files (retention); their keys stay, so a re-import does not bring the events back. */
  forgetFiles(paths: readonly string[]): Promise<void>;

  // De-duplication keys.
  /** For each key, whether the store already holds a record with it (one call per batch of records). */
  hasKeys(edsId: string, keys: readonly Buffer[]): Promise<boolean[]>;

  // JSON documents. A document is serialised when the call is made: later changes to the object are not stored.
  /** Creates or replaces the document with this id in `table`. */
  putDocument<T extends CatalogDocument>(table: DocumentTable, document: T): Promise<void>;
  /** The account's document with this id; another account's is not found. */
  document<T extends CatalogDocument>(table: DocumentTable, id: string, accountId: string): Promise<T | undefined>;
  /** A document by id whatever its account (PutAuditEvents finds a channel, then checks who may use it). */
  findDocument<T extends CatalogDocument>(table: DocumentTable, id: string): Promise<T | undefined>;
  /** Every document of `table`, or an account's. */
  documents<T extends CatalogDocument>(table: DocumentTable, accountId?: string): Promise<T[]>;
  /** Deletes the account's document with this id (no-op when there is none). */
  deleteDocument(table: DocumentTable, id: string, accountId: string): Promise<void>;

  // Import failures (ListImportFailures), kept in the order they were added. A fenced catalog
  // refuses both changes once its lease passed on: a superseded node still running an import must not
  // add failures to the run the new holder started again.
  addImportFailures(importId: string, failures: readonly ImportFailure[]): Promise<void>;
  /** Forgets an import's failures: a run from the beginning records each failure again, once. */
  clearImportFailures(importId: string): Promise<void>;
  /** Up to `limit` of an import's failures from the `offset`-th (0-based), in the order they were added. */
  importFailures(importId: string, offset: number, limit: number): Promise<ImportFailure[]>;

  close(): Promise<void>;
}
