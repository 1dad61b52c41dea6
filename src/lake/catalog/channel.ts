/**
 * Lake channels as the catalog keeps them (spec §7.5): the destinations PutAuditEvents feeds, the
 * resource policy, and the last ingestion outcome. Operations (control-plane/lake) change them; the
 * Lake writer routes channel events by them.
 */
import type { EventDataStore } from "./lake-catalog.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CHANNEL_ARN = /^arn:aws:cloudtrail:([a-z0-9-]+):(\d{12}):channel\/(.+)$/;

export interface ChannelDestination {
  readonly Type: "EVENT_DATA_STORE";
  /** The store's ARN. */
  readonly Location: string;
}

export interface IngestionStatus {
  LatestIngestionSuccessTime?: number;
  LatestIngestionSuccessEventID?: string;
  LatestIngestionErrorCode?: string;
  LatestIngestionAttemptTime?: number;
  LatestIngestionAttemptEventID?: string;
}

export interface Channel {
  readonly id: string;
  readonly accountId: string;
  readonly region: string;
  readonly name: string;
  readonly arn: string;
  readonly source: string;
  readonly destinations: ChannelDestination[];
  readonly tags: Array<{ Key: string; Value?: string }>;
  readonly createdMs: number;
  /** The resource policy document (JSON text), when one is attached. */
  readonly policy?: string;
  readonly ingestion?: IngestionStatus;
}

/** The event category a store keeps: its first selector's `eventCategory` value. */
export function storeCategory(store: EventDataStore): string {
  const field = store.advancedEventSelectors[0]?.FieldSelectors.find((f) => f.Field === "eventCategory");
  return field?.Equals?.[0] ?? "Management";
}

/** The channel id an ARN or bare id names, or undefined when the value is neither. */
export function channelIdOf(value: string): string | undefined {
  const arn = CHANNEL_ARN.exec(value);
  const id = arn ? arn[3]! : value;
  return UUID.test(id) && (arn !== null || !value.startsWith("arn:")) ? id.toLowerCase() : undefined;
}
