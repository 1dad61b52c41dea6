import type { ObjectStore, ObjectSummary } from "../../stores/objects/index.js";

export interface ListingRequest {
  readonly prefix: string;
  readonly delimiter: string;
  /** Exclusive lower bound (v1 Marker, v2 StartAfter or the decoded continuation token). */
  readonly startAfter: string;
  readonly maxKeys: number;
}

export interface Listing {
  readonly contents: ObjectSummary[];
  readonly commonPrefixes: string[];
  readonly isTruncated: boolean;
  /** The last key or common prefix returned: S3's NextMarker, and what our continuation tokens hold. */
  readonly last?: string;
}

/** Sorts after every character a valid UTF-8 key can continue with, so `p + SKIP_PAST` skips all of `p…`. */
const SKIP_PAST = "\u{10FFFF}";
const STORE_PAGE_KEYS = 1000;

/**
 * One page of an S3 listing with S3's delimiter rules on top of the store's flat, ordered listing:
 * keys with the delimiter after the prefix roll up into one common prefix, and keys and common
 * prefixes together count against `maxKeys`. A start point that is itself a common prefix (a
 * NextMarker from the previous page) skips the keys inside it, so that prefix isn't repeated.
 */
export async function collectListing(store: ObjectStore, bucket: string, request: ListingRequest): Promise<Listing> {
  const contents: ObjectSummary[] = [];
  const commonPrefixes: string[] = [];
  let last: string | undefined;
  let skipPrefix = commonPrefixOf(request.startAfter, request) === request.startAfter ? request.startAfter : undefined;
  let pageKeys = request.delimiter === "" ? STORE_PAGE_KEYS : 1;
  let cursor = skipPrefix !== undefined ? skipPrefix + SKIP_PAST : request.startAfter;
  for (;;) {
    // One more than still fits tells whether the listing is truncated. The store pays for every key
    // it describes, and with a delimiter most keys vanish into a common prefix, so start with small
    // pages after each prefix and grow them while plain keys keep coming.
    const remaining = request.maxKeys - contents.length - commonPrefixes.length + 1;
    const page = await store.listObjects(bucket, {
      prefix: request.prefix,
      startAfter: cursor,
      maxKeys: Math.min(pageKeys, remaining),
    });
    let jumped = false;
    for (const object of page.objects) {
      if (skipPrefix !== undefined && object.key.startsWith(skipPrefix)) continue;
      if (contents.length + commonPrefixes.length >= request.maxKeys) {
        return { contents, commonPrefixes, isTruncated: request.maxKeys > 0, ...(last !== undefined ? { last } : {}) };
      }
      const commonPrefix = commonPrefixOf(object.key, request);
      if (commonPrefix === undefined) {
        contents.push(object);
        last = object.key;
        continue;
      }
      commonPrefixes.push(commonPrefix);
      last = commonPrefix;
      skipPrefix = commonPrefix;
      // Everything else in this page may be inside the prefix; ask the store to jump past it.
      cursor = commonPrefix + SKIP_PAST;
      jumped = true;
      break;
    }
    if (jumped) {
      pageKeys = 1;
      continue;
    }
    pageKeys = Math.min(STORE_PAGE_KEYS, pageKeys * 8);
    if (page.nextStartAfter === undefined) break;
    cursor = page.nextStartAfter;
  }
  return { contents, commonPrefixes, isTruncated: false, ...(last !== undefined ? { last } : {}) };
}

/** The common prefix `key` rolls up into, or `undefined` when it is listed as itself. */
function commonPrefixOf(key: string, request: ListingRequest): string | undefined {
  if (request.delimiter === "" || !key.startsWith(request.prefix)) return undefined;
  const at = key.indexOf(request.delimiter, request.prefix.length);
  return at === -1 ? undefined : key.slice(0, at + request.delimiter.length);
}
