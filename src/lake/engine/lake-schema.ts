/**
 * The Parquet schema of a CloudTrail event data store (spec §7.3) and the conversion of a normalised
 * record into one row. Struct members are lower-case, as in Lake's schema; DuckDB's struct access is
 * case-insensitive, so `userIdentity.sessionContext.sessionIssuer.arn` works as Lake users write it.
 * Maps hold strings only: nested JSON values become JSON strings (Lake does the same). A record
 * field whose JSON type is not its column's (the ingest rules check only the fields they know, and
 * match names exactly where the Lake does not) is NULL in that column and kept in eventJson.
 */
import { createHash } from "node:crypto";
import { parseIsoDateTime } from "../../lib/iso-date-time.js";
import { PROVENANCE_MEMBERS, type IngestProvenance } from "../../model/provenance.js";
import type { CloudTrailRecord } from "../../model/record.js";

/**
 * A column's type as a tree. Rows are shaped by it (a value that does not have the type is stored as
 * NULL) and DuckDB's type text is written from it, so the two cannot drift apart.
 */
type LakeType =
  | "VARCHAR"
  | "TIMESTAMP"
  | "BOOLEAN"
  /** MAP(VARCHAR, VARCHAR) */
  | "MAP"
  | { readonly struct: ReadonlyArray<readonly [string, LakeType]> }
  | { readonly list: LakeType };

const S = "VARCHAR";
const struct = (...members: ReadonlyArray<readonly [string, LakeType]>): LakeType => ({ struct: members });
const strings = (...names: string[]): Array<readonly [string, LakeType]> => names.map((name) => [name, S] as const);

const SESSION_CONTEXT = struct(
  ["attributes", struct(["creationdate", "TIMESTAMP"], ["mfaauthenticated", S])],
  ["sessionissuer", struct(...strings("type", "principalid", "arn", "accountid", "username"))],
  ["webidfederationdata", struct(["federatedprovider", S], ["attributes", "MAP"])],
  ...strings("sourceidentity", "ec2roledelivery", "ec2issuedinvpc"),
);
const USER_IDENTITY = struct(
  ...strings("type", "principalid", "arn", "accountid", "accesskeyid", "username"),
  ["sessioncontext", SESSION_CONTEXT],
  ["onbehalfof", struct(...strings("userid", "identitystorearn"))],
  ...strings("invokedby", "identityprovider"),
);
const ACTIVITY_EVENT_DATA = struct(
  ["version", S],
  // userIdentity.details is any JSON the sender chose: kept as JSON text.
  ["useridentity", struct(...strings("type", "principalid", "details"))],
  ...strings("useragent", "eventsource", "eventname", "eventtime", "uid"),
  ["requestparameters", "MAP"],
  ["responseelements", "MAP"],
  ...strings("errorcode", "errormessage", "sourceipaddress", "recipientaccountid"),
  ["additionaleventdata", "MAP"],
);

/** The columns in table order. Names keep CloudTrail's casing for readable results. */
const LAKE_SCHEMA: ReadonlyArray<readonly [string, LakeType]> = [
  ["eventVersion", S],
  ["userIdentity", USER_IDENTITY],
  ["eventTime", "TIMESTAMP"],
  ...strings("eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent", "errorCode", "errorMessage"),
  ["requestParameters", "MAP"],
  ["responseElements", "MAP"],
  ["additionalEventData", "MAP"],
  ...strings("requestID", "eventID"),
  ["readOnly", "BOOLEAN"],
  ["resources", { list: struct(...strings("accountid", "type", "arn", "arnprefix")) }],
  ...strings("eventType", "apiVersion"),
  ["managementEvent", "BOOLEAN"],
  ...strings("recipientAccountId", "sharedEventID", "annotation", "vpcEndpointId", "vpcEndpointAccountId"),
  ["serviceEventDetails", "MAP"],
  ["addendum", "MAP"],
  ["edgeDeviceDetails", "MAP"],
  ["insightDetails", "MAP"],
  ["eventCategory", S],
  ["tlsDetails", struct(...strings("tlsversion", "ciphersuite", "clientprovidedhostheader"))],
  ["sessionCredentialFromConsole", S],
  // ActivityAuditLog stores (PutAuditEvents): the event as sent, and where it came in (spec §7.5).
  ["eventData", ACTIVITY_EVENT_DATA],
  ["metadata", struct(...strings("ingestiontime", "channelarn"))],
  // The record as normalised: whatever a typed column could not hold is here as the sender wrote it.
  ["eventJson", S],
  // Lake documents the column without its format; Cairn stores the hex SHA-256 of eventJson.
  ["eventJsonChecksum", S],
  // Cairn's own column, not CloudTrail Lake's (hence the prefix, as Cairn's SQL macros have `cairn_`):
  // who put the record in, from the journal entry's envelope or the import (src/model/provenance.ts),
  // never from the record. NULL for records journaled before it existed. Last, so that the files
  // written before it keep the other columns' order.
  ["cairnIngestedBy", struct(...strings(...PROVENANCE_MEMBERS.map((member) => member.toLowerCase())))],
];

function duckType(type: LakeType): string {
  if (type === "MAP") return "MAP(VARCHAR, VARCHAR)";
  if (typeof type === "string") return type;
  if ("list" in type) return `${duckType(type.list)}[]`;
  return `STRUCT(${type.struct.map(([name, member]) => `${name} ${duckType(member)}`).join(", ")})`;
}

/** Column name → DuckDB type, in table order. */
export const LAKE_COLUMNS: ReadonlyArray<readonly [string, string]> = LAKE_SCHEMA.map(
  ([name, type]) => [name, duckType(type)] as const,
);

/** The `columns={…}` argument of DuckDB's read_json for rows made by recordToRow. */
export function readJsonColumnsArgument(): string {
  return `{${LAKE_COLUMNS.map(([name, type]) => `'${name}': '${type}'`).join(", ")}}`;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
/** Turns any JSON value into one of its column's type, or null. */
type Shaper = (value: unknown) => Json;

/** A JSON object as a map of strings: scalars as text, objects and arrays as compact JSON. */
function stringMap(value: unknown): Record<string, string> | null {
  if (!isObject(value)) return null;
  const out: Record<string, string> = {};
  for (const [key, member] of Object.entries(value)) {
    if (member === null || member === undefined) continue;
    out[key] = typeof member === "string" ? member : JSON.stringify(member);
  }
  return out;
}

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === "string" ? value : JSON.stringify(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * An ISO-8601 time (extended or basic form, fractions, offsets) as DuckDB TIMESTAMP text in UTC;
 * null for anything else, which stays readable in eventJson.
 */
function timestampText(value: unknown): string | null {
  if (typeof value !== "string") return null;
  const time = parseIsoDateTime(value, { basicFormat: true });
  if (time === undefined) return null;
  const whole = new Date(time.ms).toISOString().slice(0, 19).replace("T", " ");
  return time.fraction === "" ? whole : `${whole}.${time.fraction.slice(0, 6)}`;
}

/**
 * The shaper of a type. Struct members are matched case-insensitively (the last of two spellings
 * wins) and members the type does not name are dropped, as DuckDB would drop them.
 */
function shaperOf(type: LakeType): Shaper {
  if (type === "VARCHAR") return text;
  if (type === "TIMESTAMP") return timestampText;
  if (type === "BOOLEAN") return (value) => (typeof value === "boolean" ? value : null);
  if (type === "MAP") return stringMap;
  if ("list" in type) {
    const item = shaperOf(type.list);
    return (value) => (Array.isArray(value) ? value.map(item) : null);
  }
  const members = new Map(type.struct.map(([name, member]) => [name, shaperOf(member)] as const));
  return (value) => {
    if (!isObject(value)) return null;
    const out: { [key: string]: Json } = {};
    for (const [key, member] of Object.entries(value)) {
      const lower = key.toLowerCase();
      const shape = members.get(lower);
      if (shape !== undefined) out[lower] = shape(member);
    }
    return out;
  };
}

const COLUMN_SHAPERS: ReadonlyArray<readonly [string, Shaper]> = LAKE_SCHEMA.map(
  ([name, type]) => [name, shaperOf(type)] as const,
);

const SHAPER_OF_COLUMN: ReadonlyMap<string, Shaper> = new Map(COLUMN_SHAPERS);

/**
 * One column's value as recordToRow shapes it (its type, or null). For the import's row lines, which
 * need a few struct columns only: building the whole row for them cost more than normalising the record.
 */
export function shapeColumn(name: string, value: unknown): unknown {
  const shape = SHAPER_OF_COLUMN.get(name);
  if (shape === undefined) throw new Error(`No Lake column ${name}`);
  return shape(value);
}

/** "2023-01-02T03:04:05Z" → "2023-01-02 03:04:05" (DuckDB TIMESTAMP text, UTC). */
function toTimestampText(eventTime: string): string {
  return eventTime.replace("T", " ").replace(/Z$/, "");
}

/** The UTC date partition of a record: `eventdate=YYYY-MM-DD`. */
export function eventDateOf(record: CloudTrailRecord): string {
  return record.eventTime.slice(0, 10);
}

/** The cairnIngestedBy struct: the known members only, lower-case; absent ones are NULL. */
function ingestedByStruct(provenance: IngestProvenance): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const member of PROVENANCE_MEMBERS) out[member.toLowerCase()] = provenance[member] ?? null;
  return out;
}

/**
 * One Parquet row (as a JSON object for read_json) from a normalised record, its JSON text and who
 * ingested it. Every column gets a value of its type or null, so DuckDB cannot refuse the row: a
 * value of another type (an onBehalfOf that is a list, a creationDate that is no time) is null in its
 * column and kept as written in eventJson, Event history and the trail's files.
 */
export function recordToRow(
  record: CloudTrailRecord,
  json: string,
  provenance?: IngestProvenance,
): Record<string, Json> {
  const raw = record as unknown as Record<string, unknown>;
  const row: Record<string, Json> = {};
  for (const [name, shape] of COLUMN_SHAPERS) row[name] = shape(raw[name]);
  // Normalised to CloudTrail's form; the import's SQL makes the same text (bulk-writer.ts).
  row["eventTime"] = toTimestampText(record.eventTime);
  row["eventJson"] = json;
  row["eventJsonChecksum"] = createHash("sha256").update(json).digest("hex");
  // From Cairn's envelope only: a record that names a cairnIngestedBy field of its own forges nothing.
  row["cairnIngestedBy"] = provenance === undefined ? null : ingestedByStruct(provenance);
  return row;
}
