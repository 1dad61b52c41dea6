import type { EventHistoryCategory } from "./derive.js";
import { otherResourceName } from "./derive-resources.js";
import type { LookupAttributeKey, LookupEvent } from "./event-history.js";

/**
 * Posting keys: every (category, account, region, attribute, value) term is hashed to a 48-bit
 * signed integer. 48 rather than 64 bits because SQLite stores such an integer in 6 bytes instead
 * of 8, and the key is repeated in every posting (≈ 9 per event). Collisions are harmless: the query
 * engine re-checks every fetched record against the query (docs/decisions/0003-event-history-index.md).
 *
 * Two layouts turn an event's terms into stored keys (decision 0027):
 * - `wide` (PostgreSQL, and SQLite indexes created before decision 0027): the 48-bit keys, one posting
 *   per term.
 * - `compact` (SQLite indexes created since): 32-bit keys from the high half of the wide key (4 bytes
 *   in SQLite instead of 6; a posting table holds one day, where a collision with one of the day's
 *   ~10^5 terms is rare and costs only a longer scan). Term keys are even; the all-events key is odd,
 *   so no term collides with it, because its postings are different: their seq carries the event's
 *   ReadOnly (`seq × 4 + code`, ReadOnlyCode), and ReadOnly=true has no postings of its own. Most
 *   events are reads, so "ReadOnly=true" is answered by the all-events postings whose code is 1,
 *   and the no-filter query stays one range. ReadOnly=false keeps its own postings.
 */

/** The pseudo attribute whose single value lists every event of a scope (the no-filter query). */
const ALL_EVENTS_ATTRIBUTE = "*";

export interface Scope {
  readonly category: EventHistoryCategory;
  readonly accountId: string;
  readonly region: string;
}

/** Attributes Insights events can be looked up by (spec §4.1, §8.3); other keys match nothing in those views. */
const INSIGHT_ATTRIBUTES: ReadonlySet<LookupAttributeKey> = new Set(["EventId", "EventName", "EventSource"]);

const M1 = 0xcc9e2d51;
const M2 = 0x1b873593;
const SEED_HIGH = 0x9747b28c;
const SEED_LOW = 0x5bd1e995;

/**
 * MurmurHash3's 32-bit mixing, one UTF-16 code unit per block. Stable across platforms and Node
 * versions, which matters because keys are persisted; changing it requires an index rebuild.
 * Both 32-bit halves of a key run over the same text at once, and a term's text is hashed in parts
 * (scope, attribute, value) without building it: an event's ~9 terms share the scope, which is hashed
 * once per event (the indexer spent more CPU building and hashing these strings than parsing the
 * record; decision 0020). The result is the hash of the concatenated text, bit for bit.
 */
class TermHash {
  high: number;
  low: number;
  length: number;

  constructor(high = SEED_HIGH, low = SEED_LOW, length = 0) {
    this.high = high;
    this.low = low;
    this.length = length;
  }

  /** A copy to continue from: the scope's state, shared by every term of an event. */
  fork(): TermHash {
    return new TermHash(this.high, this.low, this.length);
  }

  update(text: string): this {
    let high = this.high;
    let low = this.low;
    for (let i = 0; i < text.length; i++) {
      let k = Math.imul(text.charCodeAt(i), M1);
      k = Math.imul((k << 15) | (k >>> 17), M2);
      high ^= k;
      high = (high << 13) | (high >>> 19);
      high = (Math.imul(high, 5) + 0xe6546b64) | 0;
      low ^= k;
      low = (low << 13) | (low >>> 19);
      low = (Math.imul(low, 5) + 0xe6546b64) | 0;
    }
    this.high = high;
    this.low = low;
    this.length += text.length;
    return this;
  }

  /** A 48-bit signed key in [-2^47, 2^47): a safe JavaScript integer that SQLite stores in 6 bytes. */
  key(): number {
    return finish(this.high, this.length) * 65536 + (finish(this.low, this.length) >>> 16);
  }
}

function finish(state: number, length: number): number {
  let h = state ^ length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

const SEPARATOR = "\u0000";

/** The hash state after `category NUL account NUL region NUL`: every term of a scope starts with it. */
function scopeHash(scope: Scope): TermHash {
  return new TermHash()
    .update(scope.category)
    .update(SEPARATOR)
    .update(scope.accountId)
    .update(SEPARATOR)
    .update(scope.region)
    .update(SEPARATOR);
}

function keyFrom(scopeState: TermHash, attribute: string, value: string): number {
  return scopeState.fork().update(attribute).update(SEPARATOR).update(value).key();
}

/**
 * A 48-bit signed hash of the term `category NUL account NUL region NUL attribute NUL value`: the
 * high 32 bits from one seed, the low 16 from another.
 */
export function termKey(scope: Scope, attribute: string, value: string): number {
  return keyFrom(scopeHash(scope), attribute, value);
}

export type PostingLayout = "wide" | "compact";

/** An event's ReadOnly in the compact layout's all-events postings: none (Insights, or no field), true, false. */
export type ReadOnlyCode = 0 | 1 | 2;

/** The compact layout's key for a wide term key: its high 32 bits (4 bytes in SQLite), made even. */
function compactKey(wideKey: number): number {
  return Math.floor(wideKey / 65536) & ~1;
}

/** The stored key of a term in a layout (in the compact one, never the all-events key: allEventsKey). */
export function layoutTermKey(scope: Scope, attribute: string, value: string, layout: PostingLayout): number {
  const key = termKey(scope, attribute, value);
  return layout === "wide" ? key : compactKey(key);
}

/** The key whose postings list every event of a scope; in the compact layout odd, so that no term key equals it. */
export function allEventsKey(scope: Scope, layout: PostingLayout): number {
  const key = termKey(scope, ALL_EVENTS_ATTRIBUTE, "");
  return layout === "wide" ? key : compactKey(key) | 1;
}

export function readOnlyCode(event: Pick<LookupEvent, "ReadOnly">): ReadOnlyCode {
  if (event.ReadOnly === "true") return 1;
  return event.ReadOnly === "false" ? 2 : 0;
}

/**
 * Distinct posting keys of an event: the (attribute, value) terms it is findable by, each one posting
 * (two terms may hash alike; a posting is stored once). In the compact layout without the all-events
 * key and ReadOnly=true: the event's all-events posting (allEventsKey, readOnlyCode) stands for both.
 */
export function eventKeys(scope: Scope, event: LookupEvent, layout: PostingLayout = "wide"): number[] {
  const scopeState = scopeHash(scope);
  const keys = new Set<number>();
  const add =
    layout === "wide"
      ? (attribute: string, value: string): void => {
          keys.add(keyFrom(scopeState, attribute, value));
        }
      : (attribute: string, value: string): void => {
          keys.add(compactKey(keyFrom(scopeState, attribute, value)));
        };
  if (layout === "wide") add(ALL_EVENTS_ATTRIBUTE, "");
  add("EventId", event.EventId);
  add("EventName", event.EventName);
  add("EventSource", event.EventSource);
  if (scope.category !== "management") return [...keys];
  if (event.ReadOnly !== undefined && (layout === "wide" || event.ReadOnly !== "true")) add("ReadOnly", event.ReadOnly);
  if (event.Username !== undefined) add("Username", event.Username);
  if (event.AccessKeyId !== undefined) add("AccessKeyId", event.AccessKeyId);
  for (const resource of event.Resources) {
    if (resource.ResourceType !== undefined) add("ResourceType", resource.ResourceType);
    // A resource is found by its name or id and by its ARN, whichever of the two ResourceName shows.
    if (resource.ResourceName !== undefined) add("ResourceName", resource.ResourceName);
    const other = otherResourceName(resource);
    if (other !== undefined) add("ResourceName", other);
  }
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
