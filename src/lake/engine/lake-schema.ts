/**
 * The Parquet schema of a CloudTrail event data store (spec §7.3) and the conversion of a normalised
 * record into one row. Struct members are lower-case, as in Lake's schema; DuckDB's struct access is
 * case-insensitive, so `userIdentity.sessionContext.sessionIssuer.arn` works as Lake users write it.
 * Maps hold strings only: nested JSON values become JSON strings (Lake does the same).
 */
import { createHash } from "node:crypto";
import { PROVENANCE_MEMBERS, type IngestProvenance } from "../../model/provenance.js";
import type { CloudTrailRecord } from "../../model/record.js";

const S = "VARCHAR";
const STRING_MAP = "MAP(VARCHAR, VARCHAR)";
const SESSION_ISSUER = `STRUCT(type ${S}, principalid ${S}, arn ${S}, accountid ${S}, username ${S})`;
const SESSION_CONTEXT =
  `STRUCT(attributes STRUCT(creationdate TIMESTAMP, mfaauthenticated ${S}), sessionissuer ${SESSION_ISSUER}, ` +
  `webidfederationdata STRUCT(federatedprovider ${S}, attributes ${STRING_MAP}), sourceidentity ${S}, ` +
  `ec2roledelivery ${S}, ec2issuedinvpc ${S})`;
const USER_IDENTITY =
  `STRUCT(type ${S}, principalid ${S}, arn ${S}, accountid ${S}, accesskeyid ${S}, username ${S}, ` +
  `sessioncontext ${SESSION_CONTEXT}, onbehalfof STRUCT(userid ${S}, identitystorearn ${S}), ` +
  `invokedby ${S}, identityprovider ${S})`;

const ACTIVITY_EVENT_DATA =
  `STRUCT(version ${S}, useridentity STRUCT(type ${S}, principalid ${S}, details ${S}), useragent ${S}, ` +
  `eventsource ${S}, eventname ${S}, eventtime ${S}, uid ${S}, requestparameters ${STRING_MAP}, ` +
  `responseelements ${STRING_MAP}, errorcode ${S}, errormessage ${S}, sourceipaddress ${S}, ` +
  `recipientaccountid ${S}, additionaleventdata ${STRING_MAP})`;

/** cairnIngestedBy: IngestProvenance's members, lower-case as every struct member here. */
const INGESTED_BY = `STRUCT(${PROVENANCE_MEMBERS.map((member) => `${member.toLowerCase()} ${S}`).join(", ")})`;

/** Column name → DuckDB type, in table order. Names keep CloudTrail's casing for readable results. */
export const LAKE_COLUMNS: ReadonlyArray<readonly [string, string]> = [
  ["eventVersion", S],
  ["userIdentity", USER_IDENTITY],
  ["eventTime", "TIMESTAMP"],
  ["eventSource", S],
  ["eventName", S],
  ["awsRegion", S],
  ["sourceIPAddress", S],
  ["userAgent", S],
  ["errorCode", S],
  ["errorMessage", S],
  ["requestParameters", STRING_MAP],
  ["responseElements", STRING_MAP],
  ["additionalEventData", STRING_MAP],
  ["requestID", S],
  ["eventID", S],
  ["readOnly", "BOOLEAN"],
  ["resources", `STRUCT(accountid ${S}, type ${S}, arn ${S}, arnprefix ${S})[]`],
  ["eventType", S],
  ["apiVersion", S],
  ["managementEvent", "BOOLEAN"],
  ["recipientAccountId", S],
  ["sharedEventID", S],
  ["annotation", S],
  ["vpcEndpointId", S],
  ["vpcEndpointAccountId", S],
  ["serviceEventDetails", STRING_MAP],
  ["addendum", STRING_MAP],
  ["edgeDeviceDetails", STRING_MAP],
  ["insightDetails", STRING_MAP],
  ["eventCategory", S],
  ["tlsDetails", `STRUCT(tlsversion ${S}, ciphersuite ${S}, clientprovidedhostheader ${S})`],
  ["sessionCredentialFromConsole", S],
  // ActivityAuditLog stores (PutAuditEvents): the event as sent, and where it came in (spec §7.5).
  ["eventData", ACTIVITY_EVENT_DATA],
  ["metadata", `STRUCT(ingestiontime ${S}, channelarn ${S})`],
  ["eventJson", S],
  // Lake documents the column without its format; Cairn stores the hex SHA-256 of eventJson.
  ["eventJsonChecksum", S],
  // Cairn's own column, not CloudTrail Lake's (hence the prefix, as Cairn's SQL macros have `cairn_`):
  // who put the record in, from the journal entry's envelope or the import (src/model/provenance.ts),
  // never from the record. NULL for records journaled before it existed. Last, so that the files
  // written before it keep the other columns' order.
  ["cairnIngestedBy", INGESTED_BY],
];

const MAP_COLUMNS: ReadonlySet<string> = new Set(LAKE_COLUMNS.filter(([, t]) => t === STRING_MAP).map(([n]) => n));

/** The `columns={…}` argument of DuckDB's read_json for rows made by recordToRow. */
export function readJsonColumnsArgument(): string {
  return `{${LAKE_COLUMNS.map(([name, type]) => `'${name}': '${type}'`).join(", ")}}`;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON object as a map of strings: scalars as text, objects and arrays as compact JSON. */
function stringMap(value: unknown): Record<string, string> | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const out: Record<string, string> = {};
  for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
    if (member === null || member === undefined) continue;
    out[key] = typeof member === "string" ? member : JSON.stringify(member);
  }
  return out;
}

function text(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return typeof value === "string" ? value : JSON.stringify(value);
}

function isObject(value: unknown): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Lower-cases the keys of a JSON object tree (struct members); scalars become text. */
function lowerKeys(value: unknown): Json {
  if (typeof value !== "object" || value === null) return text(value);
  if (Array.isArray(value)) return value.map((item) => lowerKeys(item));
  const out: { [key: string]: Json } = {};
  for (const [key, member] of Object.entries(value as Record<string, unknown>))
    out[key.toLowerCase()] = lowerKeys(member);
  return out;
}

/** userIdentity as the struct: creationDate becomes a timestamp, web identity attributes a map. */
function identityStruct(value: unknown): Json {
  const identity = lowerKeys(value);
  const session = isObject(identity) ? identity["sessioncontext"] : undefined;
  if (!isObject(session)) return identity;
  const attributes = session["attributes"];
  if (isObject(attributes) && typeof attributes["creationdate"] === "string")
    attributes["creationdate"] = toTimestampText(attributes["creationdate"]);
  const web = session["webidfederationdata"];
  if (isObject(web)) web["attributes"] = stringMap(web["attributes"]);
  return identity;
}

const ACTIVITY_TEXT_MEMBERS: ReadonlySet<string> = new Set(
  ["version", "useragent", "eventsource", "eventname", "eventtime", "uid", "errorcode", "errormessage"].concat(
    "sourceipaddress",
    "recipientaccountid",
  ),
);

/** The eventData struct of an ActivityAuditLog record; userIdentity.details stays JSON text. */
function activityEventData(value: unknown): Json {
  if (!isObject(value)) return null;
  const identity = isObject(value["userIdentity"]) ? value["userIdentity"] : {};
  const out: { [key: string]: Json } = {};
  for (const [key, member] of Object.entries(value)) {
    const lower = key.toLowerCase();
    if (lower === "useridentity")
      out[lower] = {
        type: text(identity["type"]),
        principalid: text(identity["principalId"]),
        details: text(identity["details"]),
      };
    else if (["requestparameters", "responseelements", "additionaleventdata"].includes(lower))
      out[lower] = stringMap(member);
    else if (ACTIVITY_TEXT_MEMBERS.has(lower)) out[lower] = text(member);
  }
  return out;
}

/** The cairnIngestedBy struct: the known members only, lower-case; absent ones are NULL. */
function ingestedByStruct(provenance: IngestProvenance): { [key: string]: Json } {
  const out: { [key: string]: Json } = {};
  for (const member of PROVENANCE_MEMBERS) out[member.toLowerCase()] = provenance[member] ?? null;
  return out;
}

/** "2023-01-02T03:04:05Z" → "2023-01-02 03:04:05" (DuckDB TIMESTAMP text, UTC). */
function toTimestampText(eventTime: string): string {
  return eventTime.replace("T", " ").replace(/Z$/, "");
}

/** The UTC date partition of a record: `eventdate=YYYY-MM-DD`. */
export function eventDateOf(record: CloudTrailRecord): string {
  return record.eventTime.slice(0, 10);
}

/** One Parquet row (as a JSON object for read_json) from a normalised record, its JSON text and who ingested it. */
export function recordToRow(
  record: CloudTrailRecord,
  json: string,
  provenance?: IngestProvenance,
): Record<string, Json> {
  const raw = record as unknown as Record<string, unknown>;
  const row: Record<string, Json> = {};
  for (const [name] of LAKE_COLUMNS) {
    const value = raw[name];
    switch (name) {
      case "userIdentity":
        row[name] = identityStruct(value);
        break;
      case "eventTime":
        row[name] = toTimestampText(record.eventTime);
        break;
      case "readOnly":
      case "managementEvent":
        row[name] = typeof value === "boolean" ? value : null;
        break;
      case "resources":
      case "tlsDetails":
        row[name] = lowerKeys(value);
        break;
      case "eventData":
        row[name] = activityEventData(value);
        break;
      case "metadata":
        row[name] = isObject(value) ? lowerKeys(value) : null;
        break;
      case "eventJson":
        row[name] = json;
        break;
      case "eventJsonChecksum":
        row[name] = createHash("sha256").update(json).digest("hex");
        break;
      case "cairnIngestedBy":
        row[name] = provenance === undefined ? null : ingestedByStruct(provenance);
        break;
      default:
        row[name] = MAP_COLUMNS.has(name) ? stringMap(value) : text(value);
    }
  }
  return row;
}
