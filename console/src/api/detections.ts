import { LookupEventsCommand, type CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import type { SigmaMatchAnswer } from "../../../src/model/sigma-match-answer.js";
import type { Session } from "./session.js";
import { signedCall } from "./signed-call.js";

/**
 * What the dashboard shows of Insights (LookupEvents with `EventCategory: insight`, decision 0019)
 * and of live Sigma matches (`GET /sigma/matches`, decision 0018) over its range. Both are read in
 * bounded pages: a dashboard card counts them and lists a few, it is not an export.
 */

/** LookupEvents answers at most 50 a page: 4 pages is 100 Insights (a Start and an End each). */
const INSIGHT_PAGES_MAX = 4;
/** One ListSigmaMatches page of its maximum size. */
const SIGMA_MATCHES_MAX = 1000;

export interface Insight {
  readonly sharedEventId: string;
  readonly eventName: string;
  readonly eventSource: string;
  readonly insightType: string;
  readonly errorCode?: string;
  readonly startMs: number;
  /** Undefined while the Insight is still open (no End record in the range). */
  readonly endMs?: number;
}

export interface InsightSummary {
  readonly insights: Insight[];
  /** More Insights records than were read: the count is a lower bound. */
  readonly truncated: boolean;
}

interface InsightRecord {
  readonly eventTime?: string;
  readonly sharedEventID?: string;
  readonly insightDetails?: {
    readonly state?: string;
    readonly eventName?: string;
    readonly eventSource?: string;
    readonly insightType?: string;
    readonly errorCode?: string;
  };
}

/** Start and End records of one Insight share `sharedEventID`: one entry per Insight, newest first. */
function pairInsights(records: readonly InsightRecord[]): Insight[] {
  const byId = new Map<string, Insight>();
  for (const record of records) {
    const details = record.insightDetails ?? {};
    const id = record.sharedEventID ?? "";
    const atMs = Date.parse(record.eventTime ?? "");
    if (id === "" || !Number.isFinite(atMs)) continue;
    const known = byId.get(id);
    const base: Insight = known ?? {
      sharedEventId: id,
      eventName: details.eventName ?? "",
      eventSource: details.eventSource ?? "",
      insightType: details.insightType ?? "",
      ...(details.errorCode !== undefined ? { errorCode: details.errorCode } : {}),
      startMs: atMs,
    };
    byId.set(id, details.state === "End" ? { ...base, endMs: atMs } : { ...base, startMs: atMs });
  }
  return [...byId.values()].sort((a, b) => b.startMs - a.startMs);
}

export async function listInsights(
  client: CloudTrailClient,
  start: Date,
  end: Date,
  signal?: AbortSignal,
): Promise<InsightSummary> {
  const records: InsightRecord[] = [];
  let token: string | undefined;
  for (let page = 0; page < INSIGHT_PAGES_MAX; page++) {
    const answer = await client.send(
      new LookupEventsCommand({
        EventCategory: "insight",
        StartTime: start,
        EndTime: end,
        MaxResults: 50,
        ...(token !== undefined ? { NextToken: token } : {}),
      }),
      { abortSignal: signal },
    );
    for (const event of answer.Events ?? []) records.push(JSON.parse(event.CloudTrailEvent ?? "{}") as InsightRecord);
    token = answer.NextToken;
    if (token === undefined) break;
  }
  return { insights: pairInsights(records), truncated: token !== undefined };
}

export interface SigmaSummary {
  /** Oldest first, as the API answers. */
  readonly matches: SigmaMatchAnswer[];
  readonly truncated: boolean;
}

export async function listSigmaMatches(
  session: Session,
  start: Date,
  end: Date,
  signal?: AbortSignal,
): Promise<SigmaSummary> {
  const answer = await signedCall<{ matches?: SigmaMatchAnswer[]; nextToken?: string }>(session, {
    method: "GET",
    path: "/sigma/matches",
    query: { startTime: start.toISOString(), endTime: end.toISOString(), maxResults: String(SIGMA_MATCHES_MAX) },
    ...(signal !== undefined ? { signal } : {}),
  });
  return { matches: answer.matches ?? [], truncated: answer.nextToken !== undefined };
}

export interface RuleCount {
  readonly ruleId: string;
  readonly title: string;
  readonly level: string;
  readonly matches: number;
}

/** Matches per rule, most first. */
export function countByRule(matches: readonly SigmaMatchAnswer[]): RuleCount[] {
  const counts = new Map<string, RuleCount>();
  for (const match of matches) {
    const known = counts.get(match.ruleId);
    counts.set(match.ruleId, {
      ruleId: match.ruleId,
      title: match.title,
      level: match.level,
      matches: (known?.matches ?? 0) + 1,
    });
  }
  return [...counts.values()].sort((a, b) => b.matches - a.matches || a.title.localeCompare(b.title));
}
