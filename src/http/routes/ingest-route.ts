import { randomUUID } from "node:crypto";
import { gunzip } from "node:zlib";
import { promisify } from "node:util";
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { PrincipalStore } from "../../stores/principals/index.js";
import type { Journal, JournalAppendItem } from "../../journal/journal.js";
import { JournalUnavailableError } from "../../journal/journal.js";
import type { Clock } from "../../lib/clock.js";
import { normalizeIngestedRecord } from "../../normalize/pipeline.js";
import { authenticate, toSignedRequest, type CallerAttribution } from "../../auth/authenticate.js";
import { ApiError, isApiError } from "../../lib/api-error.js";
import { sendAwsError } from "./cloudtrail-route.js";
import { auditRecordOf, type AuditDefaults } from "../../capture/self-audit/audit-record.js";
import { isPlainObject } from "../../lib/plain-object.js";

const gunzipAsync = promisify(gunzip);

/** Limits of one ingest call (docs/reference/ingest.md). A caller splits larger archives into batches. */
export const INGEST_BODY_BYTES_MAX = 32 * 1024 * 1024;
export const INGEST_DECODED_BYTES_MAX = 128 * 1024 * 1024;
export const INGEST_RECORDS_MAX = 10_000;

export interface IngestFailure {
  index: number;
  errorCode: string;
  message: string;
}

export interface IngestRouteOptions {
  readonly journal: Journal;
  readonly principals: PrincipalStore;
  readonly clock: Clock;
  readonly accountId: string;
  readonly region: string;
  readonly audit: AuditDefaults;
  readonly onInternalError: (error: unknown) => void;
}

async function decodeBody(request: FastifyRequest, body: Buffer): Promise<unknown> {
  const encoding = String(request.headers["content-encoding"] ?? "identity").toLowerCase();
  let text: Buffer = body;
  if (encoding === "gzip") {
    try {
      text = await gunzipAsync(body, { maxOutputLength: INGEST_DECODED_BYTES_MAX });
    } catch {
      throw new ApiError(
        "SerializationException",
        `The gzip body is corrupt or decodes to more than ${INGEST_DECODED_BYTES_MAX} bytes.`,
      );
    }
  } else if (encoding !== "identity") {
    throw new ApiError("SerializationException", `Unsupported Content-Encoding '${encoding}'; use gzip or none.`);
  }
  try {
    return JSON.parse(text.toString("utf8"));
  } catch {
    throw new ApiError("SerializationException", 'The request body is not valid JSON; send {"Records":[...]}.');
  }
}

function recordsOf(document: unknown): unknown[] {
  if (!isPlainObject(document) || !Array.isArray(document["Records"])) {
    throw new ApiError(
      "SerializationException",
      'The request body must be a trail log-file document {"Records":[...]}.',
    );
  }
  const records = document["Records"];
  if (records.length > INGEST_RECORDS_MAX) {
    throw new ApiError(
      "SerializationException",
      `At most ${INGEST_RECORDS_MAX} records per call (got ${records.length}); split the batch.`,
    );
  }
  return records;
}

/**
 * Records without any account belong to the caller. The bootstrap admin (root of the server's home
 * account) may ingest any account's records, as an organization's management account receives its
 * members' trails; every other principal only its own account's.
 */
function admit(raw: unknown, callerAccountId: string): unknown {
  if (!isPlainObject(raw)) return raw;
  const identity = isPlainObject(raw["userIdentity"]) ? raw["userIdentity"] : undefined;
  if (raw["recipientAccountId"] === undefined && identity?.["accountId"] === undefined) {
    return { ...raw, recipientAccountId: callerAccountId };
  }
  return raw;
}

interface Triage {
  items: JournalAppendItem[];
  itemIndexes: number[];
  failed: IngestFailure[];
}

function triage(
  records: unknown[],
  callerAccountId: string,
  mayIngestAnyAccount: boolean,
  receivedAtMs: number,
): Triage {
  const out: Triage = { items: [], itemIndexes: [], failed: [] };
  records.forEach((raw, index) => {
    const result = normalizeIngestedRecord(admit(raw, callerAccountId), { receivedAtMs });
    if (!result.ok) {
      out.failed.push({ index, errorCode: result.errorCode, message: result.message });
      return;
    }
    const account = result.record.recipientAccountId ?? result.record.userIdentity?.accountId ?? callerAccountId;
    if (!mayIngestAnyAccount && account !== callerAccountId) {
      out.failed.push({
        index,
        errorCode: "AccessDeniedException",
        message: `The record belongs to account ${account}; sign with a principal of that account (cairn principal add --account-id ${account}).`,
      });
      return;
    }
    out.items.push({ json: result.json, dedupKey: result.dedupKey });
    out.itemIndexes.push(index);
  });
  return out;
}

export function registerIngestRoute(app: FastifyInstance, options: IngestRouteOptions): void {
  app.post("/ingest", { bodyLimit: INGEST_BODY_BYTES_MAX }, async (request, reply) => {
    const requestId = randomUUID();
    const nowMs = options.clock.nowMs();
    const attribution: CallerAttribution = {};
    let outcome: { accepted: number; duplicates: number; failed: IngestFailure[] } | undefined;
    let failure: ApiError | undefined;
    let items: JournalAppendItem[] = [];
    let recordCount = 0;
    try {
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const { principal } = await authenticate(toSignedRequest(request, body), options.principals, attribution, nowMs);
      const records = recordsOf(await decodeBody(request, body));
      recordCount = records.length;
      const mayIngestAnyAccount = principal.type === "Root" && principal.accountId === options.accountId;
      const sorted = triage(records, principal.accountId, mayIngestAnyAccount, nowMs);
      items = sorted.items;
      outcome = { accepted: items.length, duplicates: 0, failed: sorted.failed };
    } catch (error) {
      if (isApiError(error)) failure = error;
      else {
        options.onInternalError(error);
        failure = new ApiError("InternalFailure", "The request processing has failed because of an unknown error.");
      }
    }
    const audit = auditRecordOf(request, options.audit, {
      eventName: "Ingest",
      attribution,
      requestId,
      readOnly: false,
      input: failure === undefined ? { RecordCount: recordCount } : null,
      responseElements: outcome === undefined ? null : { accepted: outcome.accepted, failed: outcome.failed.length },
      failure,
    });
    try {
      // One atomic group: the records and the record of their ingestion become durable together.
      const { seqs } = await options.journal.append([...items, { json: audit.json }]);
      if (outcome !== undefined) outcome.duplicates = seqs.slice(0, items.length).filter((s) => s === null).length;
    } catch (error) {
      if (!(error instanceof JournalUnavailableError)) options.onInternalError(error);
      sendAwsError(
        reply,
        requestId,
        new ApiError(
          "ServiceUnavailableException",
          "Cairn cannot durably store events right now; nothing was stored. Retry later.",
          { "retry-after": "1" },
        ),
      );
      return reply;
    }
    if (failure !== undefined || outcome === undefined) {
      sendAwsError(reply, requestId, failure ?? new ApiError("InternalFailure", "No outcome."));
      return reply;
    }
    void reply
      .code(200)
      .headers({ "content-type": "application/json", "x-amzn-requestid": requestId })
      .send(JSON.stringify(outcome));
    return reply;
  });
}
