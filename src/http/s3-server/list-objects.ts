import type { ObjectStore, ObjectSummary } from "../../stores/objects/index.js";
import { collectListing, type Listing } from "./collect-listing.js";
import { S3RequestError } from "./s3-errors.js";
import { S3_NAMESPACE, XML_DECLARATION, element, urlEncodeKey, xmlTimestamp } from "./xml.js";

const MAX_KEYS_LIMIT = 1000;
/** v1 listings always name an owner; S3's canonical user ids have no counterpart here, so one fixed owner stands in. */
const OWNER = "<Owner><ID>cairn</ID><DisplayName>cairn</DisplayName></Owner>";

/** ListObjects (v1): `prefix`, `marker`, `max-keys`, `delimiter`, `encoding-type`. */
export async function listObjectsV1(store: ObjectStore, bucket: string, query: URLSearchParams): Promise<string> {
  const common = commonParameters(query);
  const marker = query.get("marker") ?? "";
  const listing = await collectListing(store, bucket, { ...common, startAfter: marker });
  const text = common.encode ? urlEncodeKey : (value: string): string => value;
  const body = [
    element("Name", bucket),
    element("Prefix", text(common.prefix)),
    element("Marker", text(marker)),
    element("MaxKeys", common.maxKeysEcho),
    ...(common.delimiter !== "" ? [element("Delimiter", text(common.delimiter))] : []),
    element("IsTruncated", listing.isTruncated),
    // S3 sends NextMarker only with a delimiter; sending it always is harmless and saves v1 clients
    // from falling back to the last key.
    ...(listing.isTruncated && listing.last !== undefined ? [element("NextMarker", text(listing.last))] : []),
    ...(common.encode ? [element("EncodingType", "url")] : []),
    ...entries(listing, text, true),
  ];
  return document("ListBucketResult", body);
}

/** ListObjectsV2 (`list-type=2`): adds `start-after`, `continuation-token`, `fetch-owner`, `KeyCount`. */
export async function listObjectsV2(store: ObjectStore, bucket: string, query: URLSearchParams): Promise<string> {
  const common = commonParameters(query);
  const token = query.get("continuation-token");
  const startAfter = query.get("start-after") ?? "";
  const position = token !== null ? decodeToken(token) : startAfter;
  const listing = await collectListing(store, bucket, { ...common, startAfter: position });
  const text = common.encode ? urlEncodeKey : (value: string): string => value;
  const body = [
    element("Name", bucket),
    element("Prefix", text(common.prefix)),
    ...(startAfter !== "" ? [element("StartAfter", text(startAfter))] : []),
    ...(token !== null ? [element("ContinuationToken", token)] : []),
    element("MaxKeys", common.maxKeysEcho),
    element("KeyCount", listing.contents.length + listing.commonPrefixes.length),
    ...(common.delimiter !== "" ? [element("Delimiter", text(common.delimiter))] : []),
    element("IsTruncated", listing.isTruncated),
    ...(listing.isTruncated && listing.last !== undefined
      ? [element("NextContinuationToken", encodeToken(listing.last))]
      : []),
    ...(common.encode ? [element("EncodingType", "url")] : []),
    ...entries(listing, text, query.get("fetch-owner") === "true"),
  ];
  return document("ListBucketResult", body);
}

function commonParameters(query: URLSearchParams): {
  prefix: string;
  delimiter: string;
  maxKeys: number;
  maxKeysEcho: number;
  encode: boolean;
} {
  const encodingType = query.get("encoding-type");
  if (encodingType !== null && encodingType !== "url") {
    throw new S3RequestError(
      "InvalidArgument",
      { ArgumentName: "encoding-type" },
      "Invalid Encoding Method specified in Request",
    );
  }
  const maxKeysText = query.get("max-keys");
  const maxKeysEcho = maxKeysText === null ? MAX_KEYS_LIMIT : Number(maxKeysText);
  if (!/^\d+$/.test(maxKeysText ?? "0") || !Number.isSafeInteger(maxKeysEcho)) {
    throw new S3RequestError(
      "InvalidArgument",
      { ArgumentName: "max-keys", ArgumentValue: maxKeysText ?? "" },
      "Provided max-keys not an integer or within integer range",
    );
  }
  return {
    prefix: query.get("prefix") ?? "",
    delimiter: query.get("delimiter") ?? "",
    // S3 echoes the requested MaxKeys but never returns more than 1000 entries.
    maxKeys: Math.min(maxKeysEcho, MAX_KEYS_LIMIT),
    maxKeysEcho,
    encode: encodingType === "url",
  };
}

function entries(listing: Listing, text: (value: string) => string, withOwner: boolean): string[] {
  return [
    ...listing.contents.map((object) => contentsElement(object, text, withOwner)),
    ...listing.commonPrefixes.map((prefix) => `<CommonPrefixes>${element("Prefix", text(prefix))}</CommonPrefixes>`),
  ];
}

function contentsElement(object: ObjectSummary, text: (value: string) => string, withOwner: boolean): string {
  return (
    "<Contents>" +
    element("Key", text(object.key)) +
    element("LastModified", xmlTimestamp(object.lastModifiedMs)) +
    element("ETag", `"${object.etag}"`) +
    element("Size", object.sizeBytes) +
    (withOwner ? OWNER : "") +
    element("StorageClass", "STANDARD") +
    "</Contents>"
  );
}

function document(root: string, children: string[]): string {
  return `${XML_DECLARATION}<${root} xmlns="${S3_NAMESPACE}">${children.join("")}</${root}>`;
}

/** Continuation tokens are opaque to clients; ours is the last returned key or prefix, base64url. */
function encodeToken(last: string): string {
  return Buffer.from(`v1:${last}`, "utf8").toString("base64url");
}

function decodeToken(token: string): string {
  const text = Buffer.from(token, "base64url").toString("utf8");
  if (!text.startsWith("v1:")) {
    throw new S3RequestError(
      "InvalidArgument",
      { ArgumentName: "continuation-token", ArgumentValue: token },
      "The continuation token provided is incorrect",
    );
  }
  return text.slice(3);
}
