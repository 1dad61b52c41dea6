/**
 * rest-xml request bodies (S3 `PutBucketTagging`, Route 53 `ChangeResourceRecordSets`…) as
 * CloudTrail logs them in requestParameters. Two services, two conventions, both in AWS's records:
 *
 * - Route 53 (and every rest-xml service but S3) logs the body's members like any other parameter:
 *   decoded with the operation's input shape, lower-camel member names, typed values, lists as arrays:
 *   `{"changeBatch": {"changes": [{"action": "CREATE", "resourceRecordSet": {"name": …, "tTL": 300,
 *   "resourceRecords": [{"value": "192.0.2.1"}]}}]}}`.
 * - S3 logs the XML document itself under its root element's name, element names as written,
 *   attributes (`xmlns`, `xsi:type`) as members, an element that repeats as an array and one that
 *   does not as an object, and text values typed by their look, not by the model: CloudTrail's own
 *   PutBucketTagging records show a tag value `true` (a string member) logged as the boolean `true`:
 *   `{"Tagging": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "TagSet": {"Tag": {"Key": "k",
 *   "Value": true}}}}`. The model still says which member is the body (`payload`) and what it is: a
 *   JSON policy string (PutBucketPolicy) is logged parsed, as `bucketPolicy`; blobs (object data) are
 *   never logged.
 */
import { lowerFirst } from "../../normalize/lower-camel.js";
import { resolveShape, shapeType, type ServiceModel, type ShapeRef } from "./model-types.js";
import { defineMember } from "./query-request.js";
import { decodeXmlOutput } from "./xml-response.js";
import { parseXml, type XmlElement } from "./xml.js";

/**
 * The body's part of requestParameters, or undefined when the body is empty, not XML (nor, for an
 * S3 policy, JSON), or not something CloudTrail logs.
 *
 * @example decodeRestXmlBody(s3, putBucketTagging.input, "<Tagging xmlns=…><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>")
 * // → { Tagging: { xmlns: "…", TagSet: { Tag: { Key: "a", Value: 1 } } } }
 */
export function decodeRestXmlBody(
  model: ServiceModel,
  input: ShapeRef | undefined,
  body: string,
): Record<string, unknown> | undefined {
  const shape = resolveShape(model, input);
  if (shape === undefined || body.trim() === "") return undefined;
  const s3 = model.metadata.endpointPrefix === "s3";
  const payloadName = shape.payload;
  const payloadRef = payloadName === undefined ? undefined : shape.members?.[payloadName];
  const payload = resolveShape(model, payloadRef);
  if (payloadName !== undefined && payload !== undefined) {
    const type = shapeType(payload);
    if (type === "blob" || payload.streaming === true) return undefined;
    if (type !== "structure") {
      // S3 PutBucketPolicy: the policy document, parsed (`bucketPolicy`, as CloudTrail logs it).
      const parsed = s3 ? tryParseJson(body) : undefined;
      return parsed === undefined ? undefined : { [`bucket${payloadName}`]: parsed };
    }
    const root = tryParseXml(body);
    if (root === undefined) return undefined;
    if (s3) return { [root.name]: cloudTrailXmlValue(root) };
    const decoded = decodeXmlOutput(model, payloadRef, root);
    return decoded === null ? undefined : { [lowerFirst(payloadName)]: decoded };
  }
  // No payload member: the body is the input structure itself (`<ChangeResourceRecordSetsRequest>`),
  // its non-URI, non-header members are the parameters.
  const root = tryParseXml(body);
  if (root === undefined) return undefined;
  if (s3) return { [root.name]: cloudTrailXmlValue(root) };
  return decodeXmlOutput(model, input, root) ?? undefined;
}

/**
 * S3's XML-to-JSON form: attributes and child elements as members (a repeated element as an array),
 * text alone as a typed scalar, text beside members as `content`, an empty element as "".
 */
function cloudTrailXmlValue(element: XmlElement): unknown {
  const text = element.text.trim();
  if (element.children.length === 0 && element.attributes === undefined) return typedText(text);
  const out: Record<string, unknown> = {};
  for (const [name, value] of element.attributes ?? []) defineMember(out, name, typedText(value));
  for (const child of element.children) {
    const value = cloudTrailXmlValue(child);
    if (!Object.prototype.hasOwnProperty.call(out, child.name)) defineMember(out, child.name, value);
    else {
      const existing = out[child.name];
      defineMember(out, child.name, Array.isArray(existing) ? [...existing, value] : [existing, value]);
    }
  }
  if (text !== "") defineMember(out, "content", typedText(text));
  return out;
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/** Text typed by its look: `true`/`false` as booleans, plain decimal numbers as numbers (ids with leading zeros stay text). */
function typedText(text: string): unknown {
  const lower = text.toLowerCase();
  if (lower === "true") return true;
  if (lower === "false") return false;
  if (NUMBER.test(text)) {
    const number = Number(text);
    const integral = !/[.eE]/.test(text);
    if (Number.isFinite(number) && (!integral || Number.isSafeInteger(number))) return number;
  }
  return text;
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
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? value : undefined;
  } catch {
    return undefined;
  }
}
