/**
 * Native ingest (`POST /ingest`, docs/reference/ingest-rules.md): a trail log-file document
 * `{"Records":[…]}` from a caller, decoded, each record normalised and checked against the
 * caller's account; what passes is journaled with the call's own record.
 */
import { gunzip } from "node:zlib";
import { promisify } from "node:util";
import type { JournalAppendItem } from "../../journal/index.js";
import type { IngestProvenance } from "../../model/provenance.js";
import { ApiError } from "../../lib/api-error.js";
import { isPlainObject } from "../../lib/plain-object.js";
import { normalizeIngestedRecord } from "../../normalize/pipeline.js";

const gunzipAsync = promisify(gunzip);

/** Limits of one ingest call (docs/reference/ingest.md). A caller splits larger archives into batches. */
export const INGEST_BODY_BYTES_MAX = 32 * 1024 * 1024;
const INGEST_DECODED_BYTES_MAX = 128 * 1024 * 1024;
const INGEST_RECORDS_MAX = 10_000;

export interface IngestFailure {
  index: number;
  errorCode: string;
  message: string;
}

export async function decodeBody(body: Buffer, contentEncoding: string | undefined): Promise<unknown> {
  const encoding = (contentEncoding ?? "identity").toLowerCase();
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

export function recordsOf(document: unknown): unknown[] {
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

/** A record accepted after a repair (ingest rule 13): how many unpaired surrogates became U+FFFD. */
export interface IngestRepair {
  index: number;
  unpairedSurrogates: number;
}

export interface Triage {
  items: JournalAppendItem[];
  itemIndexes: number[];
  failed: IngestFailure[];
  repaired: IngestRepair[];
}

/** Who is ingesting: their account, whether they may ingest any account's records, and the envelope their records get. */
export interface IngestCaller {
  readonly accountId: string;
  readonly mayIngestAnyAccount: boolean;
  /** Kept next to each accepted record (the journal entry's envelope), never written into it. */
  readonly provenance: IngestProvenance;
}

/**
 * What another account may see of who ingested its record (the home account's root ingesting for
 * it): the ingesting identity, not the key it signed with.
 */
function shownTo(account: string, callerAccountId: string, provenance: IngestProvenance): IngestProvenance {
  if (account === callerAccountId || provenance.accessKeyId === undefined) return provenance;
  const { accessKeyId: _withheld, ...rest } = provenance;
  return rest;
}

export function triage(records: unknown[], caller: IngestCaller, receivedAtMs: number): Triage {
  const { accountId: callerAccountId, mayIngestAnyAccount, provenance } = caller;
  const out: Triage = { items: [], itemIndexes: [], failed: [], repaired: [] };
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
    out.items.push({
      json: result.json,
      dedupKey: result.dedupKey,
      provenance: shownTo(account, callerAccountId, provenance),
      // Parsed already: the Event history's postings are derived from it, not from `json` again.
      record: result.record,
    });
    out.itemIndexes.push(index);
    if (result.repairs > 0) out.repaired.push({ index, unpairedSurrogates: result.repairs });
  });
  return out;
}
