import type { CloudTrailRecord } from "../model/record.js";
import { cloudTrailEnvelopeOf, type CloudTrailEnvelope } from "./cloudtrail-envelope.js";
import type { CompiledPattern } from "./conditions.js";
import { matchableEvent, matchesEvent, type MatchableEvent } from "./match-pattern.js";

/** EventBridge's rule states (RuleState). */
export type RuleState = "ENABLED" | "DISABLED" | "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS";

/** What a rule contributes to the decision: its state and its pattern, compiled once at PutRule. */
export interface CloudTrailRule {
  readonly state: RuleState;
  readonly pattern: CompiledPattern;
}

/** Why a record is not offered to a rule at all (before its pattern is looked at). */
export type NotOfferedReason =
  "rule-disabled" | "not-sent-to-eventbridge" | "too-large" | "read-only-management-event" | "data-event-not-requested";

export type CloudTrailRuleDecision =
  | { readonly offered: false; readonly reason: NotOfferedReason }
  | { readonly offered: true; readonly matched: boolean; readonly envelope: CloudTrailEnvelope };

export interface CloudTrailOfferOptions {
  /**
   * Whether a trail of the record's account logs this data event. EventBridge receives data
   * events only from trails that log them (spec §9.1), so such an event is offered to every
   * enabled rule; otherwise only to rules that ask for data events (`asksForDataEvents`).
   */
  readonly dataEventLoggedByTrail?: boolean;
}

/** EventBridge does not send events over 256 KB (spec §9.1). */
export const ENVELOPE_BYTES_MAX = 256 * 1024;

/**
 * The read-only calls plain ENABLED rules never see: EventBridge did not deliver calls named
 * Get…, List… or Describe… until ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS, while other
 * read-only calls (TestEventPattern, AssumeRole…) always were delivered (spec §9.1).
 */
const WITHHELD_READ_ONLY_NAME = /^(Get|List|Describe)/;

/** Calls named Get… that EventBridge counts as changes, so ENABLED rules see them ("Receiving read-only management events"). */
const CHANGE_EVENTS_NAMED_GET: ReadonlySet<string> = new Set([
  "sts.amazonaws.com GetFederationToken",
  "sts.amazonaws.com GetSessionToken",
]);

function isWithheldReadOnlyCall(record: CloudTrailRecord): boolean {
  return (
    record.eventCategory === "Management" &&
    record.readOnly !== false &&
    typeof record.eventName === "string" &&
    WITHHELD_READ_ONLY_NAME.test(record.eventName) &&
    !CHANGE_EVENTS_NAMED_GET.has(`${record.eventSource} ${record.eventName}`)
  );
}

/** Whether a pattern constrains `detail.eventCategory` anywhere (also inside `$or` branches). */
function namesEventCategory(pattern: CompiledPattern, underDetail: boolean): boolean {
  if (underDetail && pattern.leaves.some((leaf) => leaf.field === "eventCategory")) return true;
  const nested = pattern.nested.some((child) =>
    underDetail ? child.field === "eventCategory" : child.field === "detail" && namesEventCategory(child.pattern, true),
  );
  return nested || pattern.or.some((branches) => branches.some((branch) => namesEventCategory(branch, underDetail)));
}

const asksCache = new WeakMap<CompiledPattern, boolean>();

/**
 * A rule asks for data events when its pattern matches on `detail.eventCategory` (for example
 * `{"detail": {"eventCategory": ["Data"]}}`): Cairn records every data event, with no trail
 * having to opt in, and a rule on `aws.s3` must not start receiving every GetObject unasked.
 */
export function asksForDataEvents(pattern: CompiledPattern): boolean {
  let asks = asksCache.get(pattern);
  if (asks === undefined) {
    asks = namesEventCategory(pattern, false);
    asksCache.set(pattern, asks);
  }
  return asks;
}

function notOfferedReason(
  prepared: PreparedCloudTrailRecord,
  rule: CloudTrailRule,
  options: CloudTrailOfferOptions,
): NotOfferedReason | undefined {
  const { record } = prepared;
  if (rule.state === "DISABLED") return "rule-disabled";
  if (rule.state === "ENABLED" && prepared.withheldReadOnly) return "read-only-management-event";
  if (record.eventCategory === "Data" && options.dataEventLoggedByTrail !== true && !asksForDataEvents(rule.pattern)) {
    return "data-event-not-requested";
  }
  return undefined;
}

/** A record with its envelope built and measured once, to be offered to every rule. */
export interface PreparedCloudTrailRecord {
  readonly record: CloudTrailRecord;
  /** Undefined when EventBridge is not sent records of its type (network activity). */
  readonly envelope: CloudTrailEnvelope | undefined;
  readonly tooLarge: boolean;
  /** A Get…, List… or Describe… management call, which plain ENABLED rules never see. */
  readonly withheldReadOnly: boolean;
  /** The envelope as patterns are matched against it, built on the first rule that needs it. */
  readonly matchable: () => MatchableEvent;
}

interface PrepareOptions {
  /**
   * The length (UTF-16 units) of the JSON text the record was just parsed from, when the caller has
   * it (a journal entry): a short one spares serializing the envelope only to measure it.
   */
  readonly sourceJsonLength?: number;
}

/**
 * Below this source length the envelope cannot reach ENVELOPE_BYTES_MAX: re-serialized, a parsed
 * JSON text grows at most 5.25× (a number such as `1e20` becomes 21 digits), a UTF-16 unit takes at
 * most 3 bytes, and the envelope's header only copies record fields (source, account, time, region)
 * beside a few constants, so it is under 3 × (5.25 + 1) × 8,192 + 1 KB ≈ 155 KB.
 */
const UNMEASURED_SOURCE_LENGTH_MAX = 8_192;

function envelopeTooLarge(envelope: CloudTrailEnvelope | undefined, options: PrepareOptions): boolean {
  if (envelope === undefined) return false;
  if (options.sourceJsonLength !== undefined && options.sourceJsonLength <= UNMEASURED_SOURCE_LENGTH_MAX) return false;
  return Buffer.byteLength(JSON.stringify(envelope)) > ENVELOPE_BYTES_MAX;
}

export function prepareCloudTrailRecord(
  record: CloudTrailRecord,
  options: PrepareOptions = {},
): PreparedCloudTrailRecord {
  const envelope = cloudTrailEnvelopeOf(record);
  let matchable: MatchableEvent | undefined;
  return {
    record,
    envelope,
    tooLarge: envelopeTooLarge(envelope, options),
    withheldReadOnly: isWithheldReadOnlyCall(record),
    matchable: () => (matchable ??= matchableEvent(envelope)),
  };
}

/**
 * Whether a CloudTrail record is offered to a rule and, when it is, whether the rule's pattern
 * matches its envelope (spec §9.1): never to a disabled rule; not when EventBridge is not sent
 * records of its type (network activity) or when the envelope is over 256 KB; Get/List/Describe
 * management calls only to rules in ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS; data events
 * only as `CloudTrailOfferOptions` says. Insights records are offered as "AWS Insight via CloudTrail".
 * `prepared` comes from prepareCloudTrailRecord, once per record for all rules.
 */
export function offerPreparedRecord(
  prepared: PreparedCloudTrailRecord,
  rule: CloudTrailRule,
  options: CloudTrailOfferOptions = {},
): CloudTrailRuleDecision {
  const reason = notOfferedReason(prepared, rule, options);
  if (reason !== undefined) return { offered: false, reason };
  const { envelope } = prepared;
  if (envelope === undefined) return { offered: false, reason: "not-sent-to-eventbridge" };
  if (prepared.tooLarge) return { offered: false, reason: "too-large" };
  return { offered: true, matched: matchesEvent(rule.pattern, prepared.matchable()), envelope };
}

/** offerPreparedRecord for a single rule. */
export function offerCloudTrailRecord(
  record: CloudTrailRecord,
  rule: CloudTrailRule,
  options: CloudTrailOfferOptions = {},
): CloudTrailRuleDecision {
  return offerPreparedRecord(prepareCloudTrailRecord(record), rule, options);
}
