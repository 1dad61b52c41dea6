import type { DetectionNode, PatternPart, ValueTest } from "./sigma-ast.js";
import type { DetectionRule } from "./sigma-rule.js";

/**
 * Sigma detections as CloudTrail Lake SQL (the dialect docs/reference/lake.md describes). Every
 * field is read from `eventJson`, the whole stored record, the way record-values.ts reads a
 * record: a path's values are the nodes of `json_tree(eventJson)` whose key path, list indexes
 * removed, is the field's (so lists at any depth match on any element), objects as their JSON
 * text, nulls as no value. A one-member path (`eventName`) reads `json_extract_scalar` directly.
 * Strings compare through lower() unless `|cased`, with LIKE for wildcards.
 */

/** Lake refuses longer statements. */
const LAKE_QUERY_CHARS_MAX = 10_000;

/** Top-level members CloudTrail always writes as strings (or leaves out): read without json_tree. */
const STRING_MEMBERS = new Set([
  ...["eventVersion", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "userAgent"],
  ...["errorCode", "errorMessage", "requestID", "eventID", "eventType", "apiVersion", "recipientAccountId"],
  ...["sharedEventID", "vpcEndpointId", "vpcEndpointAccountId", "eventCategory", "sessionCredentialFromConsole"],
]);

class Untranslatable extends Error {}

function untranslatable(reason: string): never {
  throw new Untranslatable(reason);
}

function quote(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

function jsonPath(path: readonly string[]): string {
  for (const step of path)
    if (!/^[A-Za-z0-9_]+$/.test(step))
      untranslatable(`field segment '${step}' has characters Lake JSON paths would quote`);
  return `$.${path.join(".")}`;
}

const NODE_KEY = "regexp_replace(t.fullkey, '\\[[0-9]+\\]', '', 'g')";
const NODE_TEXT =
  "CASE WHEN t.type = 'OBJECT' THEN CAST(t.value AS VARCHAR) ELSE json_extract_scalar(t.value, '$') END";
const VALUE_NODE = "t.type NOT IN ('ARRAY', 'NULL')";

function likeText(parts: readonly PatternPart[], cased: boolean): string {
  const text = parts
    .map((part) =>
      "literal" in part
        ? (cased ? part.literal : part.literal.toLowerCase()).replace(/[\\%_]/g, "\\$&")
        : part.wildcard === "*"
          ? "%"
          : "_",
    )
    .join("");
  return quote(text);
}

const OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";

/** An IPv4 range as an anchored regular expression over dotted addresses. */
function ipv4RangeRegex(low: bigint, high: bigint): string {
  const octets = (value: bigint) => [24n, 16n, 8n, 0n].map((shift) => Number((value >> shift) & 255n));
  const [lo, hi] = [octets(low), octets(high)];
  const parts = lo.map((value, index) => {
    if (lo.slice(0, index + 1).every((v, i) => v === hi[i])) return String(value);
    if (value === 0 && hi[index] === 255) return OCTET;
    const range: string[] = [];
    for (let n = value; n <= hi[index]!; n++) range.push(String(n));
    return `(${range.join("|")})`;
  });
  return `^${parts.join("\\.")}$`;
}

function regexSource(source: string, flags: string): string {
  if (/\(\?[=!<]|\\[1-9]|\\k</.test(source))
    untranslatable(`regular expression '${source}' uses lookaround or backreferences, which Lake's engine lacks`);
  const inline = ["i", "m", "s"].filter((flag) => flags.includes(flag)).join("");
  return inline === "" ? source : `(?${inline})${source}`;
}

/** A SQL boolean for one value text `value` (NULL-safe: never NULL). */
function valueCondition(value: string, test: ValueTest): string {
  switch (test.kind) {
    case "pattern": {
      const subject = test.cased ? value : `lower(${value})`;
      const exact = test.parts.every((part) => "literal" in part);
      const literal = test.parts.map((part) => ("literal" in part ? part.literal : "")).join("");
      return exact
        ? `${subject} = ${quote(test.cased ? literal : literal.toLowerCase())}`
        : `${subject} LIKE ${likeText(test.parts, test.cased)} ESCAPE '\\'`;
    }
    case "regex":
      return `regexp_like(${value}, ${quote(regexSource(test.source, test.flags))})`;
    case "cidr":
      if (test.bits !== 32) untranslatable(`|cidr '${test.cidr}': IPv6 ranges have no Lake translation yet`);
      return `regexp_like(${value}, ${quote(ipv4RangeRegex(test.low, test.high))})`;
    case "compare": {
      const op = { lt: "<", lte: "<=", gt: ">", gte: ">=" }[test.op];
      return `TRY_CAST(${value} AS DOUBLE) ${op} ${test.value}`;
    }
    case "fieldref":
      return untranslatable("a field reference compares two fields");
  }
}

function fieldCondition(path: readonly string[], test: ValueTest): string {
  if (test.kind === "fieldref") {
    const fold = (text: string) => (test.cased ? text : `lower(${text})`);
    const other = NODE_TEXT.replaceAll("t.", "u.");
    return (
      `EXISTS (SELECT 1 FROM json_tree(eventJson) AS t, json_tree(eventJson) AS u WHERE ` +
      `${NODE_KEY} = ${quote(jsonPath(path))} AND ${VALUE_NODE} AND ` +
      `${NODE_KEY.replace("t.", "u.")} = ${quote(jsonPath(test.path))} AND ${VALUE_NODE.replace("t.", "u.")} AND ` +
      `${fold(NODE_TEXT)} = ${fold(other)})`
    );
  }
  if (path.length === 1 && STRING_MEMBERS.has(path[0]!)) {
    const value = `json_extract_scalar(eventJson, ${quote(jsonPath(path))})`;
    return `COALESCE(${valueCondition(value, test)}, FALSE)`;
  }
  return (
    `EXISTS (SELECT 1 FROM json_tree(eventJson) AS t WHERE ${NODE_KEY} = ${quote(jsonPath(path))} ` +
    `AND ${VALUE_NODE} AND ${valueCondition(NODE_TEXT, test)})`
  );
}

function nodeCondition(node: DetectionNode): string {
  switch (node.kind) {
    case "and":
      return `(${node.children.map(nodeCondition).join(" AND ")})`;
    case "or":
      return `(${node.children.map(nodeCondition).join(" OR ")})`;
    case "not":
      return `NOT ${nodeCondition(node.child)}`;
    case "constant":
      return node.value ? "TRUE" : "FALSE";
    case "field":
      return fieldCondition(node.path, node.test);
    case "null":
      return node.path.length === 1 && STRING_MEMBERS.has(node.path[0]!)
        ? `json_extract_scalar(eventJson, ${quote(jsonPath(node.path))}) IS NULL`
        : `NOT EXISTS (SELECT 1 FROM json_tree(eventJson) AS t WHERE ${NODE_KEY} = ${quote(jsonPath(node.path))} AND ${VALUE_NODE})`;
    case "exists":
      return `EXISTS (SELECT 1 FROM json_tree(eventJson) AS t WHERE ${NODE_KEY} = ${quote(jsonPath(node.path))})`;
    case "keyword":
      return (
        `EXISTS (SELECT 1 FROM json_tree(eventJson) AS t WHERE t.type NOT IN ('OBJECT', 'ARRAY', 'NULL') ` +
        `AND ${valueCondition(NODE_TEXT, node.test)})`
      );
  }
}

export interface LakeQueryOptions {
  /** Event data store id or ARN. */
  readonly eventDataStore: string;
  /** Inclusive bounds on eventTime, as `YYYY-MM-DD HH:MM:SS`. */
  readonly startTime?: string;
  readonly endTime?: string;
  /** Also select the stored record (for correlations, which are evaluated over the rows). */
  readonly withRecord?: boolean;
}

export type LakeTranslation =
  { readonly ok: true; readonly sql: string } | { readonly ok: false; readonly reason: string };

/**
 * The Lake query that finds a detection rule's matches: eventID and eventTime (as the record
 * writes it) of every matching event, oldest first.
 *
 * @example detectionLakeQuery(rule, { eventDataStore: "0f1e…" }).sql // "SELECT eventID, … FROM 0f1e… WHERE (…) ORDER BY eventTime"
 */
export function detectionLakeQuery(rule: DetectionRule, options: LakeQueryOptions): LakeTranslation {
  try {
    const bounds = [
      ...(options.startTime !== undefined ? [`eventTime >= ${quote(options.startTime)}`] : []),
      ...(options.endTime !== undefined ? [`eventTime <= ${quote(options.endTime)}`] : []),
    ];
    const where = [...bounds, nodeCondition(rule.detection)].join(" AND ");
    const columns = `eventID, json_extract_scalar(eventJson, '$.eventTime') AS recordTime${options.withRecord === true ? ", eventJson" : ""}`;
    const sql = `SELECT ${columns} FROM ${options.eventDataStore} WHERE ${where} ORDER BY eventTime, eventID`;
    if (sql.length > LAKE_QUERY_CHARS_MAX)
      return {
        ok: false,
        reason: `the query would be ${sql.length} characters; Lake takes at most ${LAKE_QUERY_CHARS_MAX}`,
      };
    return { ok: true, sql };
  } catch (error) {
    if (error instanceof Untranslatable) return { ok: false, reason: error.message };
    throw error;
  }
}
