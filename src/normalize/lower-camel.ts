/**
 * CloudTrail logs requestParameters with the API's member names lower-cased in the first character
 * only: `Name`→`name`, `S3BucketName`→`s3BucketName`, `AZMode`→`aZMode` (as in CloudTrail's own
 * records for the CloudTrail and ElastiCache APIs). Capture paths that see PascalCase wire members
 * (awsJson / query protocols) use this to write requestParameters the same way.
 */

/**
 * Returns a copy of `value` with every object key's first character lower-cased, recursively through
 * objects and arrays. Values (strings included) are untouched.
 *
 * @example toLowerCamelKeys({ LookupAttributes: [{ AttributeKey: "EventName" }] })
 * // → { lookupAttributes: [{ attributeKey: "EventName" }] }
 */
export function toLowerCamelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((item: unknown) => toLowerCamelKeys(item));
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, member] of Object.entries(value)) {
    // defineProperty so a "__proto__" member stays a member instead of replacing the prototype.
    Object.defineProperty(out, lowerFirst(key), {
      value: toLowerCamelKeys(member),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** Lower-cases the first character only: `AZMode` → `aZMode`. */
export function lowerFirst(name: string): string {
  return name.length === 0 ? name : name.charAt(0).toLowerCase() + name.slice(1);
}
