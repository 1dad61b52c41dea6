/**
 * Turns one captured request/response pair of an identified operation into the protocol-dependent
 * parts of a CloudTrail record: requestParameters, responseElements, errorCode/errorMessage and the
 * upstream's request id. Undecodable bodies (too large for the capture cap, malformed) leave their
 * part null rather than failing the record: the call still happened.
 */
import { lowerFirst, toLowerCamelKeys } from "../../normalize/lower-camel.js";
import { resolveShape, shapeType, type ServiceModel } from "./model-types.js";
import { headerText, type CapturedRequest, type IdentifiedCall } from "./identify.js";
import { decodeQueryRequest, defineMember, typedScalar } from "./query-request.js";
import { withEc2Layout } from "./ec2-layout.js";
import { decodeXmlOutput, xmlErrorOf, xmlRequestIdOf } from "./xml-response.js";
import { parseXml, type XmlElement } from "./xml.js";
import { decodeRestXmlBody } from "./rest-xml-request.js";

export interface CapturedResponse {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The body, or undefined when it was larger than the capture cap. */
  readonly body: Buffer | undefined;
  /** The body's length on the wire, also when it was too large to keep. */
  readonly bodyBytes?: number;
}

export interface DecodedCall {
  readonly requestParameters: Record<string, unknown> | null;
  readonly responseElements: Record<string, unknown> | null;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  readonly requestID?: string;
  /** S3: the object key of an object-level call (for the data-event classification and resources). */
  readonly objectKey?: string;
}

/**
 * RDS and ElastiCache log the result's single structure (`DBInstance`, `CacheCluster`) as
 * responseElements itself, as in CloudTrail's CreateDBInstance and CreateCacheCluster examples.
 */
const UNWRAP_SINGLE_RESULT = new Set(["rds", "elasticache"]);

const REQUEST_ID_HEADERS = ["x-amzn-requestid", "x-amz-request-id", "x-amzn-request-id"];

export function decodeCall(call: IdentifiedCall, request: CapturedRequest, response: CapturedResponse): DecodedCall {
  const { model, operation } = call;
  const requestParameters = decodeRequest(call, request);
  const objectKey = model.metadata.endpointPrefix === "s3" ? call.rest?.labels["Key"] : undefined;
  const headerRequestId = REQUEST_ID_HEADERS.map((name) => headerText(response.headers, name)).find(
    (value) => value !== undefined && value !== "",
  );
  const text = response.body?.toString("utf8") ?? "";
  const isJson = model.metadata.protocol === "json" || model.metadata.protocol === "rest-json";
  const skipBody = isJson || (response.status < 400 && isDataPayload(call)) || !text.trimStart().startsWith("<");
  const xml = skipBody ? undefined : tryParseXml(text);
  const requestID = headerRequestId ?? (xml === undefined ? undefined : xmlRequestIdOf(xml));
  const base = { requestParameters, requestID, ...(objectKey === undefined ? {} : { objectKey }) };

  if (response.status >= 400) {
    const error = isJson ? jsonErrorOf(response, text) : xml === undefined ? undefined : xmlErrorOf(xml);
    return {
      ...base,
      responseElements: null,
      errorCode: error?.code ?? `HTTP${response.status}`,
      ...(error?.message === undefined ? {} : { errorMessage: error.message }),
    };
  }
  let responseElements: Record<string, unknown> | null = null;
  if (isJson) {
    responseElements = asObject(toLowerCamelKeys(tryParseJson(text)));
  } else if (xml !== undefined) {
    responseElements = decodeXmlOutput(model, operation.output, xml);
  }
  if (model.metadata.protocol === "rest-xml" || model.metadata.protocol === "rest-json") {
    responseElements = withHeaderMembers(model, call, response, responseElements);
  }
  if (UNWRAP_SINGLE_RESULT.has(model.metadata.endpointPrefix) && responseElements !== null) {
    const values = Object.values(responseElements);
    const only = values.length === 1 ? values[0] : undefined;
    if (typeof only === "object" && only !== null && !Array.isArray(only)) {
      responseElements = only as Record<string, unknown>;
    }
  }
  return { ...base, responseElements };
}

function decodeRequest(call: IdentifiedCall, request: CapturedRequest): Record<string, unknown> | null {
  const { model, operation } = call;
  switch (model.metadata.protocol) {
    case "query":
      return decodeQueryRequest(model, operation.input, call.queryParams ?? new Map());
    case "ec2":
      return withEc2Layout(operation.name, decodeQueryRequest(model, operation.input, call.queryParams ?? new Map()));
    case "json":
      return request.body === undefined
        ? null
        : asObject(toLowerCamelKeys(tryParseJson(request.body.toString("utf8"))));
    case "rest-xml":
    case "rest-json":
      return decodeRestRequest(model, call, request);
  }
}

/**
 * URI labels, query-string and header members, and the body. S3 logs the bucket as `bucketName`, adds
 * the Host header, and logs every query parameter under its wire name as sent (`"tagging": ""`,
 * `"list-type": "2"`) and its `x-amz-*` header members under the header's name (`"x-amz-acl":
 * "private"`), as its CloudTrail records show; other services log members lower-camel and typed.
 */
function decodeRestRequest(
  model: ServiceModel,
  call: IdentifiedCall,
  request: CapturedRequest,
): Record<string, unknown> | null {
  const s3 = model.metadata.endpointPrefix === "s3";
  const out: Record<string, unknown> = {};
  const input = resolveShape(model, call.operation.input);
  const query = new URLSearchParams(request.rawQuery);
  for (const [memberName, ref] of Object.entries(input?.members ?? {})) {
    const wire = ref.locationName ?? memberName;
    const member = resolveShape(model, ref) ?? {};
    const logged = s3 && memberName === "Bucket" ? "bucketName" : lowerFirst(memberName);
    if (ref.location === "uri" && call.rest?.labels[wire] !== undefined) {
      defineMember(out, logged, call.rest.labels[wire]);
    } else if (ref.location === "querystring" && !s3 && query.has(wire)) {
      defineMember(out, logged, typedScalar(shapeType(member), query.get(wire) ?? ""));
    }
  }
  if (s3) {
    const host = headerText(request.headers, "host");
    if (host !== undefined) out["Host"] = host;
    for (const [key, value] of query) {
      // The signature of a presigned URL is not a parameter.
      if (!/^x-amz-/i.test(key) && !Object.prototype.hasOwnProperty.call(out, key)) defineMember(out, key, value);
    }
    for (const ref of Object.values(input?.members ?? {})) {
      const header = ref.location === "header" ? ref.locationName?.toLowerCase() : undefined;
      if (header === undefined || !header.startsWith("x-amz-") || S3_UNLOGGED_HEADER.test(header)) continue;
      const value = headerText(request.headers, header);
      if (value !== undefined) defineMember(out, header, value);
    }
  }
  const body = request.body !== undefined && request.body.length > 0 ? request.body.toString("utf8") : undefined;
  if (body !== undefined && model.metadata.protocol === "rest-json") {
    const decoded = asObject(toLowerCamelKeys(tryParseJson(body)));
    if (decoded !== null) Object.assign(out, decoded);
  } else if (body !== undefined && !isDataPayload(call, "input")) {
    const decoded = decodeRestXmlBody(model, call.operation.input, body);
    if (decoded !== undefined) Object.assign(out, decoded);
  }
  return Object.keys(out).length === 0 ? null : out;
}

/** Transport headers that happen to be members (checksums, the bucket-owner guard) are not logged. */
const S3_UNLOGGED_HEADER = /^x-amz-(?:sdk-checksum-algorithm|checksum-|expected-bucket-owner|content-sha256)/;

/** Header-bound output members; S3 logs them under their header names (`x-amz-version-id`). */
function withHeaderMembers(
  model: ServiceModel,
  call: IdentifiedCall,
  response: CapturedResponse,
  elements: Record<string, unknown> | null,
): Record<string, unknown> | null {
  const s3 = model.metadata.endpointPrefix === "s3";
  const out: Record<string, unknown> = { ...(elements ?? {}) };
  const output = resolveShape(model, call.operation.output);
  for (const [memberName, ref] of Object.entries(output?.members ?? {})) {
    if (ref.location !== "header" || ref.locationName === undefined) continue;
    const header = ref.locationName.toLowerCase();
    const value = headerText(response.headers, header);
    if (value === undefined) continue;
    if (s3 && !header.startsWith("x-amz-")) continue;
    defineMember(out, s3 ? header : lowerFirst(memberName), value);
  }
  return Object.keys(out).length === 0 ? null : out;
}

/** json protocols: `__type` (`prefix#Code`) or the `x-amzn-errortype` header (`Code:…`). */
function jsonErrorOf(response: CapturedResponse, text: string): { code: string; message?: string } | undefined {
  const body = asObject(tryParseJson(text)) ?? {};
  const typed = typeof body["__type"] === "string" ? body["__type"] : headerText(response.headers, "x-amzn-errortype");
  const raw = typed ?? (typeof body["code"] === "string" ? body["code"] : undefined);
  if (raw === undefined) return undefined;
  const code = raw.slice(raw.lastIndexOf("#") + 1).split(":")[0] ?? raw;
  const message = body["message"] ?? body["Message"];
  return typeof message === "string" ? { code, message } : { code };
}

/** A body that is the user's data (S3 PutObject, GetObject), never a document to decode. */
function isDataPayload(call: IdentifiedCall, side: "input" | "output" = "output"): boolean {
  const shape = resolveShape(call.model, side === "input" ? call.operation.input : call.operation.output);
  if (shape?.payload === undefined) return false;
  const payload = resolveShape(call.model, shape.members?.[shape.payload]);
  return payload !== undefined && (payload.streaming === true || shapeType(payload) === "blob");
}

function tryParseXml(text: string): XmlElement | undefined {
  try {
    return parseXml(text);
  } catch {
    return undefined;
  }
}

function tryParseJson(text: string): unknown {
  try {
    return text === "" ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

function asObject(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length > 0
    ? (value as Record<string, unknown>)
    : null;
}
