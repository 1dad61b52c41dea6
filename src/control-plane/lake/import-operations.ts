/**
 * StartImport, GetImport, ListImports, ListImportFailures (spec §7.6) for trail-format archives in an
 * S3 location (`s3://bucket/prefix`, in the object store Cairn is configured with, of a bucket the
 * caller's account owns) or a directory on the server under CAIRN_IMPORT_ALLOWED_DIRS (`file:///…`, a
 * Cairn extension; import/import-source.ts). The import runs in the background (import-runner.ts):
 * files are read and normalised with the ingest rules, duplicates (same dedup key already in the
 * store) are skipped, and rows are written as Parquet in chunks, each chunk recorded in the catalog with
 * its keys. Bad files and records become ListImportFailures entries.
 */
import { randomUUID } from "node:crypto";
import type { DuckDBInstance } from "@duckdb/node-api";
import { ApiError } from "../../lib/api-error.js";
import { optionalInteger, optionalList, optionalString, optionalTimestampMs } from "../input.js";
import { isPlainObject } from "../../lib/plain-object.js";
import type { OperationContext, OperationHandler, OperationResult } from "../operation.js";
import { requireActive, type LakeOperationDeps } from "./eds-input.js";
import { resolveImportLocation } from "./import/import-source.js";
import { runImport, type ImportDocument } from "./import/import-runner.js";
import { accountObjectStore, type BucketOwnerStore } from "../../stores/bucket-owners/index.js";
import { ingestedBy } from "../../stores/principals/index.js";
import type { ObjectStore } from "../../stores/objects/index.js";

const view = (doc: ImportDocument): Record<string, unknown> => ({
  ImportId: doc.id,
  Destinations: [doc.destinationArn],
  ImportSource: {
    S3: { S3LocationUri: doc.sourceUri, S3BucketRegion: doc.region, S3BucketAccessRoleArn: doc.roleArn },
  },
  ...(doc.startEventTimeMs !== undefined ? { StartEventTime: doc.startEventTimeMs / 1000 } : {}),
  ...(doc.endEventTimeMs !== undefined ? { EndEventTime: doc.endEventTimeMs / 1000 } : {}),
  ImportStatus: doc.status,
  CreatedTimestamp: doc.createdMs / 1000,
  UpdatedTimestamp: doc.updatedMs / 1000,
});

function pageOf(token: string | undefined, total: number, prefix: string): number {
  const offset = token === undefined ? 0 : Number.parseInt(token.slice(prefix.length), 10);
  if (token !== undefined && !token.startsWith(prefix))
    throw new ApiError("InvalidNextTokenException", "The NextToken is invalid.");
  if (!Number.isInteger(offset) || offset < 0 || offset > total)
    throw new ApiError("InvalidNextTokenException", "The NextToken is invalid.");
  return offset;
}

export type ImportOperationDeps = LakeOperationDeps & {
  duck: DuckDBInstance;
  lakeDir: string;
  nowMs: () => number;
  objectStore?: ObjectStore;
  owners: BucketOwnerStore;
  /** CAIRN_IMPORT_ALLOWED_DIRS: the only directories file:// sources may name (none: file:// is refused). */
  importAllowedDirectories: readonly string[];
  /**
   * Cluster mode (decision 0015): StartImport only records the import (INITIALIZING); the node
   * holding the Lake writer lease runs it (runImportDocument).
   */
  leasedRuns?: boolean;
};

export function createImportOperations(deps: ImportOperationDeps): Array<[string, OperationHandler]> {
  return [
    ["StartImport", startImportOperation(deps)],
    ["GetImport", getImportOperation(deps)],
    ["ListImports", listImportsOperation(deps)],
    ["ListImportFailures", listImportFailuresOperation(deps)],
  ];
}

function saveImport(deps: ImportOperationDeps, doc: ImportDocument): Promise<void> {
  return deps.catalog.putDocument("imports", doc);
}

/** An ongoing import of the account: there is at most one (AccountHasOngoingImportException). */
async function refuseOngoing(deps: ImportOperationDeps, accountId: string): Promise<void> {
  const docs = await deps.catalog.documents<ImportDocument>("imports", accountId);
  if (docs.some((d) => d.status === "INITIALIZING" || d.status === "IN_PROGRESS"))
    throw new ApiError("AccountHasOngoingImportException", "The account already has an import in progress.");
}

/** The answer, and the run here unless the lease holder runs it (cluster mode). */
function started(deps: ImportOperationDeps, doc: ImportDocument): OperationResult {
  // The answer describes the import as recorded, before a run here changes the document.
  const answer = view(doc);
  if (deps.leasedRuns !== true) void runImportDocument(deps, doc);
  return { output: answer, responseElements: answer };
}

/**
 * The import a retry names, once the caller is authorised for StartImport on its event data store
 * (on `*` when there is no such import, so a caller without the permission learns nothing).
 */
async function retriedImport(
  deps: ImportOperationDeps,
  input: Record<string, unknown>,
  context: OperationContext,
): Promise<ImportDocument> {
  const { authorize } = context;
  const found = await loadImport(deps, input, context.accountId).catch(async (error: unknown) => {
    await authorize("cloudtrail:StartImport", "*");
    throw error;
  });
  await authorize("cloudtrail:StartImport", found.destinationArn);
  return found;
}

/**
 * StartImport with `ImportId` (spec: "or {ImportId} to retry"): runs a FAILED or STOPPED import of
 * the caller's account again from the beginning, with its source, destination and time bounds. The
 * source is checked again as a new import's is (CAIRN_IMPORT_ALLOWED_DIRS, the bucket's owner); the
 * run replaces the earlier runs' failures and skips what they committed (import-runner.ts).
 */
function retryImport(deps: ImportOperationDeps): OperationHandler {
  return async (input, context) => {
    const previous = await retriedImport(deps, input, context);
    const location = await resolveImportLocation(previous.sourceUri, context.accountId, {
      ...(deps.objectStore !== undefined ? { objectStore: deps.objectStore } : {}),
      owners: deps.owners,
      allowedDirectories: deps.importAllowedDirectories,
    });
    const doc = await deps.writeTurns(async () => {
      // Read again in the turn: another retry may have started it meanwhile.
      const current = await loadImport(deps, input, context.accountId);
      requireActive(await deps.resolve({ EventDataStore: current.edsId }, context));
      await refuseOngoing(deps, context.accountId);
      if (current.status !== "FAILED" && current.status !== "STOPPED")
        throw new ApiError(
          "InvalidParameterException",
          `The import ${current.id} is ${current.status}; only a FAILED or STOPPED import can be retried.`,
        );
      const retried: ImportDocument = {
        ...current,
        directory: location.kind === "file" ? location.directory : "",
        location,
        // Who retried it: the cairnIngestedBy of the rows this run writes.
        ingestedBy: ingestedBy(context.principal, "import", { importId: current.id }),
        status: "INITIALIZING",
        updatedMs: context.nowMs,
      };
      await saveImport(deps, retried);
      return retried;
    });
    return started(deps, doc);
  };
}

function startImportOperation(deps: ImportOperationDeps): OperationHandler {
  const retry = retryImport(deps);
  return async (input, context) => {
    if (input["ImportId"] !== undefined) return retry(input, context);
    const destinations = optionalList(input, "Destinations");
    const source = input["ImportSource"];
    if (destinations === undefined || destinations.length !== 1 || typeof destinations[0] !== "string")
      throw new ApiError("InvalidParameterException", "Destinations must name exactly one event data store.");
    const s3 = isPlainObject(source) && isPlainObject(source["S3"]) ? source["S3"] : undefined;
    const uri = s3 !== undefined && typeof s3["S3LocationUri"] === "string" ? s3["S3LocationUri"] : undefined;
    if (uri === undefined)
      throw new ApiError("InvalidParameterException", "ImportSource.S3.S3LocationUri is required.");
    const location = await resolveImportLocation(uri, context.accountId, {
      ...(deps.objectStore !== undefined ? { objectStore: deps.objectStore } : {}),
      owners: deps.owners,
      allowedDirectories: deps.importAllowedDirectories,
    });
    // The check for an ongoing import and the new document take one write turn, as
    // DeleteEventDataStore's check for one does.
    const doc = await deps.writeTurns(async () => {
      const store = requireActive(await deps.resolve({ EventDataStore: destinations[0] }, context));
      await refuseOngoing(deps, context.accountId);
      const startMs = optionalTimestampMs(input, "StartEventTime", "InvalidParameterException");
      const endMs = optionalTimestampMs(input, "EndEventTime", "InvalidParameterException");
      const id = randomUUID();
      const created: ImportDocument = {
        id,
        accountId: context.accountId,
        edsId: store.id,
        destinationArn: store.arn,
        sourceUri: uri,
        directory: location.kind === "file" ? location.directory : "",
        location,
        region: typeof s3?.["S3BucketRegion"] === "string" ? s3["S3BucketRegion"] : context.region,
        roleArn: typeof s3?.["S3BucketAccessRoleArn"] === "string" ? s3["S3BucketAccessRoleArn"] : "",
        ...(startMs !== undefined ? { startEventTimeMs: startMs } : {}),
        ...(endMs !== undefined ? { endEventTimeMs: endMs } : {}),
        // Who started it: the cairnIngestedBy of every row it writes (never shown by GetImport).
        ingestedBy: ingestedBy(context.principal, "import", { importId: id }),
        status: "INITIALIZING",
        createdMs: context.nowMs,
        updatedMs: context.nowMs,
        stats: { PrefixesFound: 0, PrefixesCompleted: 0, FilesCompleted: 0, EventsCompleted: 0, FailedEntries: 0 },
      };
      await saveImport(deps, created);
      return created;
    });
    return started(deps, doc);
  };
}

/** Runs a recorded import to its end; `save` records its progress (default: the catalog document). */
export function runImportDocument(
  deps: ImportOperationDeps,
  doc: ImportDocument,
  save: (doc: ImportDocument) => Promise<void> = (updated) => saveImport(deps, updated),
): Promise<void> {
  const { objectStore } = deps;
  return runImport(doc, {
    ...deps,
    // Reads go through the account's view of the store, which refuses any bucket not its own.
    ...(objectStore !== undefined ? { objectStore: accountObjectStore(objectStore, deps.owners, doc.accountId) } : {}),
    save,
  });
}

async function loadImport(
  deps: ImportOperationDeps,
  input: Record<string, unknown>,
  accountId: string,
): Promise<ImportDocument> {
  const id = optionalString(input, "ImportId");
  if (id === undefined) throw new ApiError("InvalidParameterException", "ImportId is required.");
  const doc = await deps.catalog.document<ImportDocument>("imports", id, accountId);
  if (doc === undefined) throw new ApiError("ImportNotFoundException", `The import ${id} was not found.`);
  return doc;
}

function getImportOperation(deps: ImportOperationDeps): OperationHandler {
  return async (input, context) => {
    const doc = await loadImport(deps, input, context.accountId);
    return { output: { ...view(doc), ImportStatistics: doc.stats } };
  };
}

function listImportsOperation(deps: ImportOperationDeps): OperationHandler {
  return async (input, context) => {
    const max = optionalInteger(input, "MaxResults") ?? 1000;
    if (max < 1 || max > 1000)
      throw new ApiError("InvalidMaxResultsException", "MaxResults must be between 1 and 1000.");
    const destination = optionalString(input, "Destination");
    const status = optionalString(input, "ImportStatus");
    const all = (await deps.catalog.documents<ImportDocument>("imports", context.accountId))
      .filter(
        (d) => destination === undefined || d.destinationArn === destination || d.edsId === destination.toLowerCase(),
      )
      .filter((d) => status === undefined || d.status === status)
      .sort((a, b) => a.createdMs - b.createdMs);
    const offset = pageOf(optionalString(input, "NextToken"), all.length, "imports-");
    const page = all.slice(offset, offset + max).map((d) => {
      const { ImportSource: _source, StartEventTime: _s, EndEventTime: _e, ...item } = view(d);
      return item;
    });
    return {
      output: { Imports: page, ...(offset + max < all.length ? { NextToken: `imports-${offset + max}` } : {}) },
    };
  };
}

function listImportFailuresOperation(deps: ImportOperationDeps): OperationHandler {
  return async (input, context) => {
    const doc = await loadImport(deps, input, context.accountId);
    const max = optionalInteger(input, "MaxResults") ?? 1000;
    if (max < 1 || max > 1000)
      throw new ApiError("InvalidMaxResultsException", "MaxResults must be between 1 and 1000.");
    const offset = pageOf(optionalString(input, "NextToken"), doc.stats.FailedEntries, "failures-");
    const failures = await deps.catalog.importFailures(doc.id, offset, max);
    const more = offset + max < doc.stats.FailedEntries ? { NextToken: `failures-${offset + max}` } : {};
    return { output: { Failures: failures, ...more } };
  };
}
