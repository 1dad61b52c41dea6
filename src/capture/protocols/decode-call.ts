/**
 * Turns one captured request/response pair of an identified operation into the protocol-dependent
 * parts of a CloudTrail record: requestParameters, responseElements, errorCode/errorMessage and the
 * upstream's request id. Undecodable bodies (too large for the capture cap, malformed) leave their
 * part null rather than failing the record: the call still happened.
 */
import { lowerFirst, toLowerCamelKeys } from "../../normalize/lower-camel.js";
import { resolveShape, type ServiceModel } from "./model-types.js";
import { headerText, type CapturedRequest, type IdentifiedCall } from "./identify.js";
import { defineMember } from "./query-request.js";
import { asObject, isDataPayload, tryParseJson } from "./decode-request.js";
import { codecOf } from "./protocol-codecs.js";
import { hideSensitiveMembers } from "./sensitive-members.js";
import { decodeXmlOutput, xmlErrorOf, xmlRequestIdOf } from "./xml-response.js";
import { renderTimestampMembers } from "./timestamp-members.js";
import { parseXml, type XmlElement } from "./xml.js";
import { errorPageMessage, statusErrorCode } from "../../lib/http-status-error.js";

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
  const codec = codecOf(model);
  // Secrets first, so a rendering rule never sees (or copies) a secret value.
  const requestParameters = renderTimestampMembers(
    model,
    operation.name,
    operation.input,
    hideSensitiveMembers(model, operation, "requestParameters", codec.decodeRequest(call, request)),
  );
  const objectKey = model.metadata.endpointPrefix === "s3" ? call.rest?.labels["Key"] : undefined;
  const headerRequestId = REQUEST_ID_HEADERS.map((name) => headerText(response.headers, name)).find(
    (value) => value !== undefined && value !== "",
  );
  const text = response.body?.toString("utf8") ?? "";
  const isJson = codec.responseFormat === "json";
  const skipBody = isJson || (response.status < 400 && isDataPayload(call)) || !text.trimStart().startsWith("<");
  const xml = skipBody ? undefined : tryParseXml(text);
  const requestID = headerRequestId ?? (xml === undefined ? undefined : xmlRequestIdOf(xml));
  const base = { requestParameters, requestID, ...(objectKey === undefined ? {} : { objectKey }) };

  if (response.status >= 400) {
    const error = isJson ? jsonErrorOf(response, text) : xml === undefined ? undefined : xmlErrorOf(xml);
    // No AWS error in the body (an HTML page, an empty answer): name the status, quote the page's title.
    if (error === undefined) {
      const fallback = {
        errorCode: statusErrorCode(response.status),
        errorMessage: errorPageMessage(response.status, text),
      };
      return { ...base, responseElements: null, ...fallback };
    }
    return {
      ...base,
      responseElements: null,
      errorCode: error.code,
      ...(error.message === undefined ? {} : { errorMessage: error.message }),
    };
  }
  let responseElements: Record<string, unknown> | null = null;
  if (isJson) {
    responseElements = asObject(toLowerCamelKeys(tryParseJson(text)));
  } else if (xml !== undefined) {
    responseElements = decodeXmlOutput(model, operation.output, xml);
  }
  if (codec.headerBoundOutput) {
    responseElements = withHeaderMembers(model, call, response, responseElements);
  }
  // On the output shape's own members, so before RDS and ElastiCache drop the wrapping structure.
  responseElements = hideSensitiveMembers(model, operation, "responseElements", responseElements);
  responseElements = renderTimestampMembers(model, operation.name, operation.output, responseElements);
  if (UNWRAP_SINGLE_RESULT.has(model.metadata.endpointPrefix) && responseElements !== null) {
    const values = Object.values(responseElements);
    const only = values.length === 1 ? values[0] : undefined;
    if (typeof only === "object" && only !== null && !Array.isArray(only)) {
      responseElements = only as Record<string, unknown>;
    }
  }
  return { ...base, responseElements };
}

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

function tryParseXml(text: string): XmlElement | undefined {
  try {
    return parseXml(text);
  } catch {
    return undefined;
  }
}

/**
 * The response of a call no model describes, decoded as far as its own encoding tells: the request
 * id (headers, XML `RequestId`), an error's code and message (json `__type`, XML `<Code>`, else the
 * status), and a JSON answer's members lower-camel (an XML answer needs its output shape: null).
 */
export function decodeUnmodelledResponse(response: CapturedResponse): Omit<DecodedCall, "requestParameters"> {
  const text = response.body?.toString("utf8") ?? "";
  const trimmed = text.trimStart();
  const xml = trimmed.startsWith("<") ? tryParseXml(text) : undefined;
  const headerRequestId = REQUEST_ID_HEADERS.map((name) => headerText(response.headers, name)).find(
    (value) => value !== undefined && value !== "",
  );
  const requestID = headerRequestId ?? (xml === undefined ? undefined : xmlRequestIdOf(xml));
  const base = requestID === undefined ? {} : { requestID };
  if (response.status < 400) {
    return { ...base, responseElements: xml === undefined ? asObject(toLowerCamelKeys(tryParseJson(text))) : null };
  }
  const error = xml === undefined ? jsonErrorOf(response, text) : xmlErrorOf(xml);
  if (error === undefined) {
    const errorMessage = errorPageMessage(response.status, text);
    return { ...base, responseElements: null, errorCode: statusErrorCode(response.status), errorMessage };
  }
  const message = error.message === undefined ? {} : { errorMessage: error.message };
  return { ...base, responseElements: null, errorCode: error.code, ...message };
}
