/**
 * Timestamp members inside requestParameters / responseElements, written the way CloudTrail's own
 * records write them. CloudTrail does not keep the wire form: the services behind the query and json
 * protocols (and Route 53) log Java's default date text, `Jul 10, 2023 11:55:10 AM`; EC2 logs epoch
 * milliseconds; rest-json services log what was on the wire. One rule per protocol plus the
 * exceptions real records show, in `TIMESTAMP_RENDERING_OVERRIDES`; the evidence for each is in
 * docs/reference/proxy.md ("Timestamps inside requestParameters and responseElements").
 * A member is a timestamp when its model shape's type is `timestamp`; string shapes that hold dates
 * (Lambda's function `lastModified`, SSM's `captureTime`) are left as sent, as CloudTrail does.
 */
import type { Protocol, ServiceModel, ShapeRef } from "./model-types.js";
import { shapeType } from "./model-types.js";
import { rewriteByShape, type ModelMember } from "./shape-walk.js";
import { parseIsoDateTime } from "../../lib/iso-date-time.js";
import { javaDefaultDateText } from "../../lib/java-date-text.js";

/**
 * - `legacy`: `MMM d, yyyy h:mm:ss a`, English, UTC (Java's pre-CLDR default `DateFormat`).
 * - `legacyComma`: `MMM d, y, h:mm:ss a`, the same with CLDR's comma after the year (newer JDKs).
 * - `epochMillis`: a JSON number of milliseconds since the epoch.
 * - `asSent`: the member's value as the wire carried it.
 */
export type TimestampRendering = "legacy" | "legacyComma" | "epochMillis" | "asSent";

const PROTOCOL_RENDERING: Readonly<Record<Protocol, TimestampRendering>> = {
  query: "legacy",
  json: "legacy",
  "rest-xml": "legacy",
  ec2: "epochMillis",
  "rest-json": "asSent",
};

interface RenderingOverride {
  readonly endpointPrefix: string;
  /** Every operation of the service when absent. */
  readonly operation?: string;
  readonly rendering: TimestampRendering;
}

/** Exceptions to the protocol's rule, each seen in CloudTrail's records (cited in docs/reference/proxy.md). */
const TIMESTAMP_RENDERING_OVERRIDES: readonly RenderingOverride[] = [
  // CreateNatGateway records keep EC2's XML answer as text: `"createTime": "2023-07-10T11:55:14.000Z"`.
  { endpointPrefix: "ec2", operation: "CreateNatGateway", rendering: "asSent" },
  // `"snapshotTime": "2024-01-14T00:00:00Z"` where the rest of RDS logs legacy text.
  { endpointPrefix: "rds", operation: "StartExportTask", rendering: "asSent" },
  // Lambda's timestamp shapes (event source mappings): `"lastModified": "May 9, 2024, 9:05:41 PM"`.
  { endpointPrefix: "lambda", rendering: "legacyComma" },
  // S3 records keep XML bodies and `x-amz-*` headers as written.
  { endpointPrefix: "s3", rendering: "asSent" },
];

function timestampRenderingOf(model: ServiceModel, operationName: string): TimestampRendering {
  const prefix = model.metadata.endpointPrefix;
  const matches = TIMESTAMP_RENDERING_OVERRIDES.filter((rule) => rule.endpointPrefix === prefix);
  const exact = matches.find((rule) => rule.operation === operationName);
  const service = matches.find((rule) => rule.operation === undefined);
  return (exact ?? service)?.rendering ?? PROTOCOL_RENDERING[model.metadata.protocol];
}

/**
 * `value` (requestParameters or responseElements, before RDS/ElastiCache unwrap their result) with
 * every timestamp member of `shape` rendered as CloudTrail renders it for this operation.
 */
export function renderTimestampMembers<T extends Record<string, unknown> | null>(
  model: ServiceModel,
  operationName: string,
  shape: ShapeRef | undefined,
  value: T,
): T {
  const rendering = timestampRenderingOf(model, operationName);
  if (value === null || rendering === "asSent") return value;
  return rewriteByShape(model, shape, value, (current: unknown, member: ModelMember) =>
    shapeType(member.shape) === "timestamp" ? renderTimestamp(current, rendering) : current,
  ) as T;
}

/** A timestamp member's value in `rendering`; a value that is not a readable instant is left as sent. */
export function renderTimestamp(value: unknown, rendering: TimestampRendering): unknown {
  if (rendering === "asSent") return value;
  const epochMs = instantOf(value);
  if (epochMs === undefined) return value;
  if (rendering === "epochMillis") return epochMs;
  return javaDefaultDateText(epochMs, rendering === "legacyComma" ? ", " : " ");
}

/**
 * Seconds beyond this are read as milliseconds: 1e11 s is the year 5138, while 1e11 ms is 1973, so
 * no real instant is ambiguous. (Epoch seconds are the json protocols' wire form; milliseconds come
 * from a value already rendered for EC2.)
 */
const EPOCH_SECONDS_MAX = 1e11;
/** 9999-12-31T23:59:59.999Z: both forms write four-digit years; later (and pre-1970) values stay as sent. */
const EPOCH_MS_MAX = 253402300799999;
const DECIMAL_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
/** RFC 7231 IMF-fixdate, the rest protocols' header form (`Mon, 10 Jul 2023 11:55:10 GMT`). */
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** Milliseconds since the epoch, whole (Java's `Date` keeps no finer fraction), or undefined. */
function instantOf(value: unknown): number | undefined {
  let epochMs: number | undefined;
  if (typeof value === "number") epochMs = fromEpochNumber(value);
  else if (typeof value === "string") {
    const text = value.trim();
    if (DECIMAL_NUMBER.test(text)) epochMs = fromEpochNumber(Number(text));
    else if (HTTP_DATE.test(text)) epochMs = Date.parse(text);
    else epochMs = fromIso(text);
  }
  return epochMs !== undefined && epochMs >= 0 && epochMs <= EPOCH_MS_MAX ? epochMs : undefined;
}

function fromEpochNumber(number: number): number | undefined {
  if (!Number.isFinite(number)) return undefined;
  return Math.abs(number) >= EPOCH_SECONDS_MAX ? Math.floor(number) : Math.round(number * 1000);
}

/** ISO 8601 as the XML protocols send it: any fraction (cut to milliseconds), `Z`, an offset, or no zone (UTC). */
function fromIso(text: string): number | undefined {
  const parsed = parseIsoDateTime(text);
  return parsed === undefined ? undefined : parsed.ms + Number(parsed.fraction.slice(0, 3).padEnd(3, "0"));
}
