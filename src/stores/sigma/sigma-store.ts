import { createHash } from "node:crypto";

/**
 * Sigma rules added through Cairn's API and the matches of the live Sigma consumer
 * (docs/reference/sigma.md, "Live rules"). test/contract/sigma-rule-store.suite.ts and
 * sigma-match-store.suite.ts are the contracts, run per backend.
 */

/** A rule file added through `PUT /sigma/rules`: it belongs to the account that added it. */
export interface StoredSigmaRule {
  readonly accountId: string;
  /** The Sigma id of the file's rule (its correlation's, when the file holds one). */
  readonly id: string;
  readonly title: string;
  readonly level: string;
  /** The file as sent (at most SIGMA_RULE_BYTES_MAX bytes). */
  readonly yaml: string;
  /** The ARN of the caller that added it. */
  readonly addedBy: string;
  readonly addedAtMs: number;
}

export interface SigmaRuleStore {
  /**
   * Stores the rule, replacing the account's rule of the same id; a new one is refused (`limit`)
   * while the account already has `maxPerAccount`. Every change raises revision().
   */
  put(rule: StoredSigmaRule, maxPerAccount: number): Promise<"created" | "replaced" | "limit">;
  /** The account's rules by id. */
  list(accountId: string): Promise<StoredSigmaRule[]>;
  /** Every account's rules (the consumer's view), by account and id. */
  all(): Promise<StoredSigmaRule[]>;
  /** Deletes the account's rule; false when it has none of that id. */
  delete(accountId: string, id: string): Promise<boolean>;
  /** Grows with every put and delete: the consumer reloads the rules when it moved. */
  revision(): Promise<number>;
  /** Releases the store's resources; closing again does nothing. Every other method rejects once closed. */
  close(): Promise<void>;
}

/** A record a match names. */
export interface SigmaMatchEvent {
  readonly eventID: string;
  readonly eventTime: string;
}

/** A match as the consumer hands it to the store. */
export interface NewSigmaMatch {
  /** The account of the records that matched (a server-wide rule's match belongs to them too). */
  readonly accountId: string;
  readonly ruleId: string;
  readonly title: string;
  readonly level: string;
  readonly kind: "detection" | "correlation";
  /** The record that made or completed the match. */
  readonly eventID: string;
  readonly eventTime: string;
  /** The records of a correlation (at most SIGMA_MATCH_EVENTS_MAX, the last ones); the one record of a detection. */
  readonly events: readonly SigmaMatchEvent[];
  readonly groupBy?: Readonly<Record<string, string>>;
  readonly matchedAtMs: number;
  /** The journal seq of the record that completed the match. */
  readonly seq: number;
}

/** A stored match: `id` grows with every match stored, so a follower can read on from the last one it saw. */
export interface SigmaMatch extends NewSigmaMatch {
  readonly id: number;
}

export interface SigmaMatchFilter {
  readonly accountId: string;
  readonly ruleId?: string;
  /** eventTime of the completing record, inclusive bounds (ms). */
  readonly startMs?: number;
  readonly endMs?: number;
  /** Matches with an id above this one (paging). */
  readonly afterId?: number;
  readonly limit: number;
}

/** Thrown by commit() when a later holder of the Sigma lease claimed the cursor: nothing was written. */
export class SigmaFencedOffError extends Error {
  override readonly name = "SigmaFencedOffError";
  constructor(readonly fencingToken: number | undefined) {
    super(`The Sigma cursor is claimed under a higher token than ${String(fencingToken)}: the Sigma lease passed on.`);
  }
}

export interface SigmaMatchStore {
  /** Highest journal seq the consumer has made durable; 0 at first. */
  cursor(): Promise<number>;
  /**
   * In one transaction: stores the matches not stored before (a match is known by its account, rule
   * id and the eventIDs that made it) and moves the cursor forward to `cursorSeq`. With a fencing
   * token (cluster mode) nothing is written once a higher token committed (SigmaFencedOffError).
   * Resolves to how many matches were new.
   */
  commit(matches: readonly NewSigmaMatch[], cursorSeq: number, fencingToken?: number): Promise<number>;
  /** The account's matches in id order, filtered. */
  listMatches(filter: SigmaMatchFilter): Promise<SigmaMatch[]>;
  /** Every account's matches with an id above `afterId`, in id order, at most `limit`. */
  matchesAfter(afterId: number, limit: number): Promise<SigmaMatch[]>;
  /** Deletes matches stored before `beforeMs`; resolves to how many. */
  trim(beforeMs: number): Promise<number>;
  close(): Promise<void>;
}

/** Rules and matches in one store, as both backends keep them. */
export type SigmaStore = SigmaRuleStore & SigmaMatchStore;

/** A rule file is at most this long (SigmaHQ's CloudTrail rules are 1–3 KB). */
export const SIGMA_RULE_BYTES_MAX = 65_536;
/** Rules one account may add. */
export const SIGMA_RULES_PER_ACCOUNT_MAX = 500;
/** The records a stored match names at most (the engine's CORRELATION_EVENTS_MAX). */
const SIGMA_MATCH_EVENTS_MAX = 20;
/** A page of matches holds at most this many. */
export const SIGMA_MATCH_PAGE_MAX = 1000;
/** Matches are kept this long. */
export const SIGMA_MATCH_RETENTION_MS = 90 * 86_400_000;

/** What identifies a match for de-duplication: the SHA-256 of its rule id and the eventIDs that made it. */
function matchKey(match: Pick<NewSigmaMatch, "ruleId" | "eventID" | "events">): string {
  const ids = match.events.length > 0 ? match.events.map((event) => event.eventID) : [match.eventID];
  return createHash("sha256")
    .update(JSON.stringify([match.ruleId, ...ids]))
    .digest("hex");
}

/** eventTime as ms, the match time when it cannot be read (such a match still lists). */
function eventTimeMsOf(match: Pick<NewSigmaMatch, "eventTime" | "matchedAtMs">): number {
  const ms = Date.parse(match.eventTime);
  return Number.isNaN(ms) ? match.matchedAtMs : ms;
}

export function closedStoreError(): Error {
  return new Error("The Sigma store is closed.");
}

/** A row's JSON columns back to a match. */
export interface SigmaMatchRow {
  readonly id: number | string;
  readonly account_id: string;
  readonly rule_id: string;
  readonly title: string;
  readonly level: string;
  readonly kind: string;
  readonly event_id: string;
  readonly event_time: string;
  readonly events: string;
  readonly group_by: string | null;
  readonly matched_at_ms: number | string;
  readonly seq: number | string;
}

export function matchOfRow(row: SigmaMatchRow): SigmaMatch {
  return {
    id: Number(row.id),
    accountId: row.account_id,
    ruleId: row.rule_id,
    title: row.title,
    level: row.level,
    kind: row.kind === "correlation" ? "correlation" : "detection",
    eventID: row.event_id,
    eventTime: row.event_time,
    events: JSON.parse(row.events) as SigmaMatchEvent[],
    ...(row.group_by !== null ? { groupBy: JSON.parse(row.group_by) as Record<string, string> } : {}),
    matchedAtMs: Number(row.matched_at_ms),
    seq: Number(row.seq),
  };
}

export interface SigmaRuleRow {
  readonly account_id: string;
  readonly id: string;
  readonly title: string;
  readonly level: string;
  readonly yaml: string;
  readonly added_by: string;
  readonly added_at_ms: number | string;
}

export function ruleOfRow(row: SigmaRuleRow): StoredSigmaRule {
  return {
    accountId: row.account_id,
    id: row.id,
    title: row.title,
    level: row.level,
    yaml: row.yaml,
    addedBy: row.added_by,
    addedAtMs: Number(row.added_at_ms),
  };
}

/** The columns a stored match is written with, in order, from a new match. */
export function matchValues(match: NewSigmaMatch): unknown[] {
  return [
    match.accountId,
    match.ruleId,
    match.title,
    match.level,
    match.kind,
    match.eventID,
    match.eventTime,
    eventTimeMsOf(match),
    JSON.stringify(match.events.slice(-SIGMA_MATCH_EVENTS_MAX)),
    match.groupBy !== undefined ? JSON.stringify(match.groupBy) : null,
    match.matchedAtMs,
    match.seq,
    matchKey(match),
  ];
}

export const MATCH_INSERT_COLUMNS =
  "account_id, rule_id, title, level, kind, event_id, event_time, event_time_ms, events, group_by, matched_at_ms, seq, match_key";
