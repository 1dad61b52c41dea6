/** Tag validation (spec §5.3 "Tags"): keys 1–128, values 0–256, 50 tags per resource. */
import { ApiError } from "../../lib/api-error.js";
import { optionalList } from "../input.js";
import { isPlainObject } from "../../lib/plain-object.js";

const MAX_TAGS_PER_RESOURCE = 50;
/** The model's cap on one TagsList. */
const MAX_TAGS_PER_REQUEST = 200;
const MAX_KEY_LENGTH = 128;
const MAX_VALUE_LENGTH = 256;
/** The character set AWS tagging allows in keys and values. */
const TAG_CHARACTERS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export interface Tag {
  readonly Key: string;
  readonly Value?: string;
}

function invalidTag(message: string): ApiError {
  return new ApiError("InvalidTagParameterException", message);
}

/** Reads a TagsList (CreateTrail, AddTags, RemoveTags); a key given twice is refused. */
export function readTagsList(input: Record<string, unknown>, member: string, required: boolean): Tag[] {
  const list = optionalList(input, member);
  if (list === undefined) {
    if (required) throw new ApiError("InvalidParameterException", `${member} is required.`);
    return [];
  }
  if (list.length > MAX_TAGS_PER_REQUEST)
    throw new ApiError("TagsLimitExceededException", `${member} holds more than ${MAX_TAGS_PER_REQUEST} tags.`);
  const seen = new Set<string>();
  return list.map((item, index): Tag => {
    if (!isPlainObject(item)) throw new ApiError("SerializationException", `${member}[${index}] must be a structure.`);
    const key = item["Key"];
    const value = item["Value"];
    if (typeof key !== "string") throw invalidTag(`${member}[${index}].Key is required and must be a string.`);
    if (value !== undefined && value !== null && typeof value !== "string")
      throw new ApiError("SerializationException", `${member}[${index}].Value must be a string.`);
    if (key.length < 1 || key.length > MAX_KEY_LENGTH)
      throw invalidTag(`Tag key ${JSON.stringify(key)} must be 1 to ${MAX_KEY_LENGTH} characters.`);
    if (!TAG_CHARACTERS.test(key))
      throw invalidTag(`Tag key ${JSON.stringify(key)} may contain only letters, digits, spaces and _ . : / = + - @.`);
    if (key.toLowerCase().startsWith("aws:")) throw invalidTag(`Tag key ${key} uses the reserved prefix aws:.`);
    if (seen.has(key)) throw invalidTag(`Tag key ${key} appears more than once in ${member}.`);
    seen.add(key);
    if (typeof value === "string") {
      if (value.length > MAX_VALUE_LENGTH)
        throw invalidTag(`The value of tag ${key} must be at most ${MAX_VALUE_LENGTH} characters.`);
      if (!TAG_CHARACTERS.test(value))
        throw invalidTag(`The value of tag ${key} may contain only letters, digits, spaces and _ . : / = + - @.`);
      return { Key: key, Value: value };
    }
    return { Key: key };
  });
}

/** Existing tags with `added` applied (same key: new value), refused past 50. */
export function mergeTags(existing: readonly Tag[], added: readonly Tag[]): Tag[] {
  const byKey = new Map(existing.map((tag) => [tag.Key, tag]));
  for (const tag of added) byKey.set(tag.Key, tag);
  if (byKey.size > MAX_TAGS_PER_RESOURCE)
    throw new ApiError(
      "TagsLimitExceededException",
      `A resource can have at most ${MAX_TAGS_PER_RESOURCE} tags; this request would leave ${byKey.size}.`,
    );
  return [...byKey.values()];
}
