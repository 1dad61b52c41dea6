import { useEffect, useRef, useState } from "react";
import { useSession } from "../session-context.js";
import { describeError } from "../api/cloudtrail.js";
import { isAbort } from "../api/lake-query.js";
import {
  countByRule,
  listInsights,
  listSigmaMatches,
  type InsightSummary,
  type SigmaSummary,
} from "../api/detections.js";
import { historyLink } from "../api/history-link.js";
import { formatInstant, useTimeZone } from "../time-zone.js";
import { isDenied, Widget, type Load } from "./dashboard-widget.js";

const LISTED = 5;
const MINUTE_MS = 60_000;

export interface Span {
  readonly start: Date;
  readonly end: Date;
  readonly stamp: number;
}

/** Loads `fetch` for the span; a new span abandons the call still running. */
function useSpanLoad<T>(span: Span | undefined, request: (signal: AbortSignal) => Promise<T>): Load<T> {
  const [load, setLoad] = useState<Load<T>>({ status: "loading" });
  // The span (a new one on every refresh) asks for a load; the request is whatever this render built.
  const latest = useRef(request);
  latest.current = request;
  useEffect(() => {
    if (!span) return;
    const controller = new AbortController();
    setLoad({ status: "loading" });
    latest.current(controller.signal).then(
      (value) => {
        if (!controller.signal.aborted) setLoad({ status: "ready", value });
      },
      (problem: unknown) => {
        if (controller.signal.aborted || isAbort(problem)) return;
        const described = describeError(problem);
        setLoad({ status: "error", error: described.message, denied: isDenied(described.code) });
      },
    );
    return () => controller.abort();
  }, [span]);
  return load;
}

const plural = (count: number, word: string, truncated: boolean): string =>
  `${truncated ? "at least " : ""}${count} ${word}${count === 1 ? "" : "s"}`;

/** Insights events in the range (LookupEvents, EventCategory insight): a count and the newest, each linking to its calls. */
export function InsightsWidget({ span }: { span: Span | undefined }) {
  const { client } = useSession();
  const { zone } = useTimeZone();
  const load = useSpanLoad<InsightSummary>(span, (signal) => listInsights(client, span!.start, span!.end, signal));
  return (
    <Widget
      title="Insights"
      load={load}
      empty={(summary) => summary.insights.length === 0}
      emptyText="No Insights events in this time range"
      deniedText="Listing Insights events needs cloudtrail:LookupEvents."
    >
      {({ insights, truncated }) => (
        <figure className="chart detections" aria-label="Insights">
          <figcaption>Insights</figcaption>
          <p className="stat">{plural(insights.length, "Insight", truncated)}</p>
          <ul className="detection-list">
            {insights.slice(0, LISTED).map((insight) => (
              <li key={insight.sharedEventId}>
                <a
                  href={historyLink({
                    attribute: "EventName",
                    value: insight.eventName,
                    start: new Date(insight.startMs),
                    // An open Insight: its calls up to the end of the range.
                    end: new Date(insight.endMs ?? span!.end.getTime()),
                  })}
                >
                  {insight.insightType === "ApiErrorRateInsight" ? "Error rate" : "Call rate"} of {insight.eventName}
                  {insight.errorCode ? ` (${insight.errorCode})` : ""}
                </a>{" "}
                <span className="muted">
                  {insight.eventSource} · {formatInstant(new Date(insight.startMs), zone, false)}
                  {insight.endMs === undefined ? " · open" : ""}
                </span>
              </li>
            ))}
          </ul>
        </figure>
      )}
    </Widget>
  );
}

/** Live Sigma matches in the range (GET /sigma/matches): counts by rule and the newest matches, linking to their events. */
export function SigmaWidget({ span }: { span: Span | undefined }) {
  const { session } = useSession();
  const { zone } = useTimeZone();
  const load = useSpanLoad<SigmaSummary>(span, (signal) => listSigmaMatches(session, span!.start, span!.end, signal));
  return (
    <Widget
      title="Sigma detections"
      load={load}
      empty={(summary) => summary.matches.length === 0}
      emptyText="No Sigma matches in this time range"
      deniedText="Listing Sigma matches needs cloudtrail:ListSigmaMatches."
    >
      {({ matches, truncated }) => (
        <figure className="chart detections" aria-label="Sigma detections">
          <figcaption>Sigma detections</figcaption>
          <p className="stat">{plural(matches.length, "match", truncated).replace(/matchs$/, "matches")}</p>
          <table className="detection-rules" aria-label="Sigma matches by rule">
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Level</th>
                <th scope="col">Matches</th>
              </tr>
            </thead>
            <tbody>
              {countByRule(matches)
                .slice(0, LISTED)
                .map((rule) => (
                  <tr key={rule.ruleId}>
                    <td title={rule.ruleId}>{rule.title}</td>
                    <td>{rule.level}</td>
                    <td>{rule.matches}</td>
                  </tr>
                ))}
            </tbody>
          </table>
          <ul className="detection-list" aria-label="Newest Sigma matches">
            {matches
              .slice(-LISTED)
              .reverse()
              .map((match) => {
                const at = Date.parse(match.eventTime);
                return (
                  <li key={`${match.ruleId}-${match.eventID}`}>
                    <a
                      href={historyLink({
                        attribute: "EventId",
                        value: match.eventID,
                        start: new Date(at - MINUTE_MS),
                        end: new Date(at + MINUTE_MS),
                      })}
                    >
                      {match.title}
                    </a>{" "}
                    <span className="muted">
                      {match.level} · {formatInstant(new Date(at), zone, false)}
                      {match.kind === "correlation" ? ` · ${match.eventIDs.length} events` : ""}
                    </span>
                  </li>
                );
              })}
          </ul>
        </figure>
      )}
    </Widget>
  );
}
