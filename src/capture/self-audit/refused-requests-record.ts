import { toEventTime } from "../../lib/clock.js";
import { buildApiCallRecord } from "../../normalize/build-record.js";
import type { AuditDefaults } from "./audit-record.js";

/** The eventName of the record that counts unauthenticated requests refused in one window. */
export const REFUSED_REQUESTS_EVENT_NAME = "UnauthenticatedRequestsRefused";

/** Requests from one source, refused with one error code, in one window, by callers no key identified. */
export interface RefusedRequestsTally {
  /** The caller's address, or OTHER_SOURCES when the window had too many distinct ones to name. */
  readonly sourceIPAddress: string;
  readonly errorCode: string;
  readonly count: number;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  /** When the last of them was refused: the record's eventTime, inside its window. */
  readonly lastRefusedMs: number;
}

/** The sourceIPAddress of the tally that gathers the sources beyond a window's cap. */
export const OTHER_SOURCES = "other";

/**
 * One record for many refused requests: Cairn's own extension (AWS does not record requests that
 * fail authentication), so that refusals stay visible without one durable record each
 * (docs/reference/security.md, "The aggregated refusal record").
 */
export function refusedRequestsRecordOf(tally: RefusedRequestsTally, defaults: AuditDefaults): { json: string } {
  const { json } = buildApiCallRecord({
    eventSource: "cloudtrail.amazonaws.com",
    eventName: REFUSED_REQUESTS_EVENT_NAME,
    awsRegion: defaults.region,
    eventTimeMs: tally.lastRefusedMs,
    userIdentity: { type: "Unknown" },
    sourceIPAddress: tally.sourceIPAddress,
    requestParameters: null,
    responseElements: null,
    additionalEventData: {
      refusedRequestCount: tally.count,
      windowStart: toEventTime(tally.windowStartMs),
      windowEnd: toEventTime(tally.windowEndMs),
      ...(tally.sourceIPAddress === OTHER_SOURCES ? { otherSourceIPAddresses: true } : {}),
    },
    readOnly: false,
    managementEvent: true,
    errorCode: tally.errorCode,
    errorMessage: `${tally.count} unauthenticated request(s) refused with ${tally.errorCode}.`,
    requestID: defaults.newEventId(),
    eventID: defaults.newEventId(),
    recipientAccountId: defaults.accountId,
  });
  return { json };
}
