/**
 * requestParameters, decoded from a request in each protocol's encoding. Which decoder applies to a
 * model is its protocol's codec (protocol-codecs.ts). Undecodable bodies give null.
 */
import { lowerFirst, toLowerCamelKeys } from "../../normalize/lower-camel.js";
import { resolveShape, shapeType } from "./model-types.js";
import { headerText, type CapturedRequest, type IdentifiedCall } from "./identify.js";
import { decodeQueryRequest, defineMember, typedScalar } from "./query-request.js";
import { withEc2Layout } from "./ec2-layout.js";
import { decodeRestXmlBody } from "./rest-xml-request.js";

/** query: the form parameters, shaped by the operation's input. */
export function decodeQueryParameters(call: IdentifiedCall): Record<string, unknown> | null {
  return decodeQueryRequest(call.model, call.operation.input, call.queryParams ?? new Map());
}

/** ec2: the form parameters, laid out as EC2's CloudTrail records show them. */
export function decodeEc2Parameters(call: IdentifiedCall): Record<string, unknown> | null {
  return withEc2Layout(call.operation.name, decodeQueryParameters(call));
}

/** json: the body's members, lower-camel. */
export function decodeJsonBody(_call: IdentifiedCall, request: CapturedRequest): Record<string, unknown> | null {
  return request.body === undefined ? null : asObject(toLowerCamelKeys(tryParseJson(request.body.toString("utf8"))));
}

/**
 * rest-xml, rest-json: URI labels, query-string and header members, and the body. S3 logs the bucket as `bucketName`, adds
 * the Host header, and logs every query parameter under its wire name as sent (`"tagging": ""`,
 * `"list-type": "2"`) and its `x-amz-*` header members under the header's name (`"x-amz-acl":
 * "private"`), as its CloudTrail records show; other services log members lower-camel and typed.
 */
export function decodeRestRequest(
  call: IdentifiedCall,
  request: CapturedRequest,
  bodyFormat: "json" | "xml",
): Record<string, unknown> | null {
  const { model } = call;
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
  if (body !== undefined && bodyFormat === "json") {
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

/** A body that is the user's data (S3 PutObject, GetObject), never a document to decode. */
export function isDataPayload(call: IdentifiedCall, side: "input" | "output" = "output"): boolean {
  const shape = resolveShape(call.model, side === "input" ? call.operation.input : call.operation.output);
  if (shape?.payload === undefined) return false;
  const payload = resolveShape(call.model, shape.members?.[shape.payload]);
  return payload !== undefined && (payload.streaming === true || shapeType(payload) === "blob");
}

export function tryParseJson(text: string): unknown {
  try {
    return text === "" ? undefined : JSON.parse(text);
  } catch {
    return undefined;
  }
}

export function asObject(value: unknown): Record<string, unknown> | null {
  return typeof value === "object" && value !== null && !Array.isArray(value) && Object.keys(value).length > 0
    ? (value as Record<string, unknown>)
    : null;
}
