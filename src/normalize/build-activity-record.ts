/**
 * The one place an `ActivityAuditLog` record is built from an audit event sent with PutAuditEvents
 * (spec §7.5), as `buildApiCallRecord` is for API calls: the event as sent under `eventData`, the
 * fields CloudTrail adds, and the serialisation guards every record passes (JSON-serialisable,
 * nesting, the 256 KB event cap). The event's own members were checked against §7.5's limits at capture.
 */
import { toEventTime } from "../lib/clock.js";
import type { Rejection } from "./reasons.js";
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
    eventData: input.data,
  };
  const serialized = serializeRecord(record);
  if (!serialized.ok) return serialized;
  // eventData is the sender's JSON: a `\ud800` in it would stop every Lake flush (ingest rule 13).
  return { ok: true, json: repairLoneSurrogates(record, serialized.json).json };
}
