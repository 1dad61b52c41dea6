/**
 * Who put a record into Cairn (issue #11). It is kept next to the record — the journal entry's
 * envelope, the Lake's `cairnIngestedBy` column, the live tail's opt-in `ingestedBy` — and never
 * written into it: the record stays exactly what its sender sent, and a principal that forges a
 * record's `userIdentity` (a Root record from a stolen key of the same account) cannot forge this,
 * because Cairn fills it from the signature it verified.
 */

/** The path a record came in by. */
export type IngestSource =
  /** `POST /ingest`: the Node middleware, the standalone capture proxy's spool, `cairn ingest`, scripts. */
  | "ingest"
  /** cloudtrail-data PutAuditEvents, through a channel. */
  | "put-audit-events"
  /** A Lake import (StartImport): written to the store directly, never journaled. */
  | "import"
  /** Cairn's record of a call to its own API, written by Cairn itself. */
  | "self-audit"
  /** The capture proxy inside `cairn server`, which journals what it saw without an HTTP hop. */
  | "proxy";

export interface IngestProvenance {
  readonly source: IngestSource;
  /** The authenticated caller's ARN, as CloudTrail names it (`arn:aws:iam::111122223333:user/alice`). */
  readonly principalArn?: string;
  /** The access key the call was signed with. */
  readonly accessKeyId?: string;
  /** PutAuditEvents: the channel the events came through. */
  readonly channelArn?: string;
  /** Lake imports: the import's id (GetImport). */
  readonly importId?: string;
}

/** Cairn's own records (of calls to its API, of refused requests): no caller put them in. */
export const SELF_AUDIT_PROVENANCE: IngestProvenance = Object.freeze({ source: "self-audit" });

/** Records the in-process capture proxy journals: built by Cairn from calls it forwarded, signatures unverified. */
export const PROXY_PROVENANCE: IngestProvenance = Object.freeze({ source: "proxy" });

/** The members in the order they are serialised (equal values give equal texts) and become the Lake's struct members. */
export const PROVENANCE_MEMBERS = ["source", "principalArn", "accessKeyId", "channelArn", "importId"] as const;

/**
 * Upper bound on one serialised value: an IAM ARN is at most 2,048 characters, an access key id 128,
 * a channel ARN 256. A value past it is a bug in the caller, never data to store.
 */
export const PROVENANCE_BYTES_MAX = 4096;

/** Compact JSON with the members in a fixed order and undefined ones left out. */
export function provenanceText(provenance: IngestProvenance): string {
  const ordered: Record<string, string> = {};
  for (const member of PROVENANCE_MEMBERS) {
    const value = provenance[member];
    if (value !== undefined) ordered[member] = value;
  }
  return JSON.stringify(ordered);
}

/** The value of a text provenanceText wrote; undefined when the text is not one (damaged, or from a newer build). */
export function parseProvenance(text: string): IngestProvenance | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const value = parsed as Record<string, unknown>;
  if (typeof value["source"] !== "string") return undefined;
  for (const member of PROVENANCE_MEMBERS)
    if (value[member] !== undefined && typeof value[member] !== "string") return undefined;
  return value as unknown as IngestProvenance;
}
