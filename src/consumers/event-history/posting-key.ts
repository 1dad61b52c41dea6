import type { EventHistoryCategory } from "./derive.js";
import { otherResourceName } from "./derive-resources.js";
import type { LookupAttributeKey, LookupEvent } from "./event-history.js";

/**
 * Posting keys: every (category, account, region, attribute, value) term is hashed to a 48-bit
 * signed integer. 48 rather than 64 bits because SQLite stores such an integer in 6 bytes instead
 * of 8, and the key is repeated in every posting (≈ 9 per event). Collisions are harmless: the query
 * engine re-checks every fetched record against the query (docs/decisions/0003-event-history-index.md).
 */

/** The pseudo attribute whose single value lists every event of a scope (the no-filter query). */
export const ALL_EVENTS_ATTRIBUTE = "*";

export interface Scope {
  readonly category: EventHistoryCategory;
  readonly accountId: string;
  readonly region: string;
}

/** Attributes Insights events can be looked up by (spec §4.1, §8.3); other keys match nothing in those views. */
const INSIGHT_ATTRIBUTES: ReadonlySet<LookupAttributeKey> = new Set(["EventId", "EventName", "EventSource"]);

const M1 = 0xcc9e2d51;
const M2 = 0x1b873593;

/**
 * MurmurHash3's 32-bit mixing, one UTF-16 code unit per block. Stable across platforms and Node
 * versions, which matters because keys are persisted; changing it requires an index rebuild.
 */
function murmur32(text: string, seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < text.length; i++) {
    let k = Math.imul(text.charCodeAt(i), M1);
    k = (k << 15) | (k >>> 17);
    h ^= Math.imul(k, M2);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= text.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/** A 48-bit signed hash of a term, in [-2^47, 2^47): a safe JavaScript integer that SQLite stores in 6 bytes. */
export function termKey(scope: Scope, attribute: string, value: string): number {
  const text = `${scope.category}\u0000${scope.accountId}\u0000${scope.region}\u0000${attribute}\u0000${value}`;
  const high = murmur32(text, 0x9747b28c); // signed 32 bits
  const low = murmur32(text, 0x5bd1e995) >>> 16; // unsigned 16 bits
  return high * 65536 + low;
}

/** The (attribute, value) terms an event is findable by; each becomes one posting. */
function eventTerms(category: EventHistoryCategory, event: LookupEvent): Array<[string, string]> {
  const terms: Array<[string, string]> = [
    [ALL_EVENTS_ATTRIBUTE, ""],
    ["EventId", event.EventId],
    ["EventName", event.EventName],
    ["EventSource", event.EventSource],
  ];
  if (category !== "management") return terms;
  if (event.ReadOnly !== undefined) terms.push(["ReadOnly", event.ReadOnly]);
  if (event.Username !== undefined) terms.push(["Username", event.Username]);
  if (event.AccessKeyId !== undefined) terms.push(["AccessKeyId", event.AccessKeyId]);
  const seen = new Set<string>();
  const add = (attribute: string, value: string): void => {
    if (seen.has(`${attribute}\u0000${value}`)) return;
    seen.add(`${attribute}\u0000${value}`);
    terms.push([attribute, value]);
  };
  for (const resource of event.Resources) {
    if (resource.ResourceType !== undefined) add("ResourceType", resource.ResourceType);
    // A resource is found by its name or id and by its ARN, whichever of the two ResourceName shows.
    if (resource.ResourceName !== undefined) add("ResourceName", resource.ResourceName);
    const other = otherResourceName(resource);
    if (other !== undefined) add("ResourceName", other);
  }
  return terms;
}

/** Distinct posting keys of an event (two terms may hash alike; a posting is stored once). */
export function eventKeys(scope: Scope, event: LookupEvent): number[] {
  const keys = new Set<number>();
  for (const [attribute, value] of eventTerms(scope.category, event)) keys.add(termKey(scope, attribute, value));
  return [...keys];
}

/** Whether an attribute can match anything in a view: Insights support only three keys. */
export function attributeApplies(category: EventHistoryCategory, key: LookupAttributeKey): boolean {
  return category === "management" || INSIGHT_ATTRIBUTES.has(key);
}

/** Whether a derived event satisfies one attribute filter: exact, case-sensitive equality. */
export function eventHasAttribute(event: LookupEvent, key: LookupAttributeKey, value: string): boolean {
  switch (key) {
    case "EventId":
      return event.EventId === value;
    case "EventName":
      return event.EventName === value;
    case "EventSource":
      return event.EventSource === value;
    case "ReadOnly":
      return event.ReadOnly === value;
    case "Username":
      return event.Username === value;
    case "AccessKeyId":
      return event.AccessKeyId === value;
    case "ResourceType":
      return event.Resources.some((resource) => resource.ResourceType === value);
    case "ResourceName":
      return event.Resources.some(
        (resource) => resource.ResourceName === value || otherResourceName(resource) === value,
      );
  }
}
