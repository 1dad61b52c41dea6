import { derivedEnvelopeId, ENVELOPE_BYTES_MAX, type CloudTrailEnvelope } from "../../event-patterns/index.js";
import type { CloudTrailRecord } from "../../model/record.js";
import type { SigmaMatch } from "../../stores/sigma/index.js";

/** What a live Sigma match is offered to EventBridge rules as (docs/reference/sigma.md, "Routing matches"). */
export const SIGMA_MATCH_SOURCE = "cairn.sigma";
const SIGMA_MATCH_DETAIL_TYPE = "Sigma Rule Match";

/**
 * The EventBridge event of a live Sigma match: `detail` has the rule's id, title and level, the
 * records the match names (eventID, eventTime) and, in full, the record that made it (a
 * detection's one record; the one that completed a correlation), when the journal still holds it
 * and the event stays within EventBridge's 256 KB. `region` is that record's; `time` is when the
 * match was made. The id is derived from the match, so a re-delivery carries the same one. `json` is
 * the event as sent (and measured).
 */
export function sigmaMatchEventOf(
  match: SigmaMatch,
  record: CloudTrailRecord | undefined,
  fallbackRegion: string,
): { readonly event: CloudTrailEnvelope; readonly json: string } {
  const summary = {
    ruleId: match.ruleId,
    title: match.title,
    level: match.level,
    kind: match.kind,
    eventID: match.eventID,
    eventTime: match.eventTime,
    events: match.events.map(({ eventID, eventTime }) => ({ eventID, eventTime })),
    ...(match.groupBy !== undefined ? { groupBy: match.groupBy } : {}),
    matchedAt: new Date(match.matchedAtMs).toISOString(),
  };
  const envelope = (detail: Record<string, unknown>): CloudTrailEnvelope => ({
    version: "0",
    id: derivedEnvelopeId(`cairn-sigma-match:${match.accountId}:${match.id}`),
    "detail-type": SIGMA_MATCH_DETAIL_TYPE,
    source: SIGMA_MATCH_SOURCE,
    account: match.accountId,
    time: new Date(Math.floor(match.matchedAtMs / 1000) * 1000).toISOString().replace(".000Z", "Z"),
    region: typeof record?.awsRegion === "string" ? record.awsRegion : fallbackRegion,
    resources: [],
    detail,
  });
  if (record !== undefined) {
    const event = envelope({ ...summary, record });
    const json = JSON.stringify(event);
    if (Buffer.byteLength(json) <= ENVELOPE_BYTES_MAX) return { event, json };
  }
  const event = envelope(summary);
  return { event, json: JSON.stringify(event) };
}
