/**
 * The one place an `ActivityAuditLog` record is built from an audit event sent with PutAuditEvents
 * (spec §7.5), as `buildApiCallRecord` is for API calls: the event as sent under `eventData`, the
 * fields CloudTrail adds, and the serialisation guards every record passes (JSON-serialisable,
 * nesting, the 256 KB event cap) and the redaction every other source gets (ingest rule 14), on the
 * members of eventData that carry a call's payload. The event's own members were checked against
 * §7.5's limits at capture (an event over them is refused, as CloudTrail does, not cut).
 */
import { toEventTime } from "../lib/clock.js";
import type { Rejection } from "./reasons.js";
import { redactSecrets } from "./redact.js";
import { serializeRecord } from "./steps/serialize.js";
import { repairLoneSurrogates } from "./steps/well-formed.js";

export interface ActivityInput {
  /** The parsed `eventData`, already checked (its eventTime is `yyyy-MM-ddTHH:mm:ss[.fff][Z]`). */
  readonly data: Record<string, unknown>;
  readonly eventTimeSeconds: string;
  readonly eventId: string;
  readonly awsRegion: string;
  /** The channel's owner. */
  readonly recipientAccountId: string;
  readonly channelArn: string;
  readonly ingestedAtMs: number;
}

export function buildActivityRecord(input: ActivityInput): { ok: true; json: string } | Rejection {
  const record = {
    eventVersion: "1.0",
    eventCategory: "ActivityAuditLog",
    eventType: "ActivityLog",
    eventID: input.eventId,
    eventTime: `${input.eventTimeSeconds}Z`,
    awsRegion: input.awsRegion,
    recipientAccountId: input.recipientAccountId,
    metadata: { ingestionTime: toEventTime(input.ingestedAtMs), channelARN: input.channelArn },
    eventData: redactedEventData(input.data),
  };
  const serialized = serializeRecord(record);
  if (!serialized.ok) return serialized;
  // eventData is the sender's JSON: a `\ud800` in it would stop every Lake flush (ingest rule 13).
  return { ok: true, json: repairLoneSurrogates(record, serialized.json).json };
}

/** The members of an audit event that carry a call's payload, as in an API call record. */
const PAYLOAD_MEMBERS = ["requestParameters", "responseElements", "additionalEventData"] as const;

/** eventData with secrets in its payload members replaced, under the event's own source and name. */
function redactedEventData(data: Record<string, unknown>): Record<string, unknown> {
  const context = { eventSource: String(data["eventSource"] ?? ""), eventName: String(data["eventName"] ?? "") };
  let copy: Record<string, unknown> | undefined;
  for (const member of PAYLOAD_MEMBERS) {
    const value = data[member];
    const redacted = redactSecrets(value, { ...context, field: member });
    if (redacted !== value) {
      copy ??= { ...data };
      copy[member] = redacted;
    }
  }
  return copy ?? data;
}
