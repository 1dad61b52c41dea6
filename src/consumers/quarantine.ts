import type { JournalEntry } from "../journal/journal.js";
import type { Clock } from "../lib/clock.js";
import { errorTextWithoutPaths } from "../lib/error-text.js";
import { recordAccountId, type CloudTrailRecord } from "../model/record.js";
import type { QuarantinedRecord, QuarantineStore } from "../stores/quarantine/index.js";

/**
 * How a consumer sets aside a record its store refused (docs/reference/security.md, "Quarantine").
 * `add` is durable before it resolves, so the consumer's cursor may move past the record afterwards.
 */
/** What the quarantine needs of a journal entry. */
export type QuarantinedEntry = Pick<JournalEntry, "seq" | "json">;

export interface RecordQuarantine {
  add(entry: QuarantinedEntry, error: unknown): Promise<void>;
}

/** A RecordQuarantine over the store, for the consumer `consumer`; each change is written to `log`. */
export function quarantineFor(
  store: QuarantineStore,
  consumer: string,
  clock: Clock,
  log: (line: string) => void,
): RecordQuarantine {
  return {
    async add(entry, error) {
      const record = quarantinedRecordOf(consumer, entry, error, clock.nowMs());
      await store.add(record);
      // JSON-quoted: both come from the sender's record and may hold line breaks.
      const eventId = record.eventId !== undefined ? ` (eventID ${JSON.stringify(record.eventId)})` : "";
      log(
        `Cairn: ${consumer} quarantined journal record ${entry.seq}${eventId}: its store refused it: ${JSON.stringify(record.error)}\n`,
      );
    },
  };
}

/** What the quarantine keeps of a refused entry: eventID and account only when the JSON has them. */
function quarantinedRecordOf(
  consumer: string,
  entry: QuarantinedEntry,
  error: unknown,
  nowMs: number,
): QuarantinedRecord {
  let eventId: string | undefined;
  let accountId: string | undefined;
  try {
    const record = JSON.parse(entry.json) as CloudTrailRecord;
    if (typeof record.eventID === "string") eventId = record.eventID;
    const account = recordAccountId(record);
    if (typeof account === "string" && account !== "") accountId = account;
  } catch {
    // Unreadable JSON: the seq alone names it.
  }
  return {
    consumer,
    seq: entry.seq,
    ...(eventId !== undefined ? { eventId } : {}),
    ...(accountId !== undefined ? { accountId } : {}),
    error: errorTextWithoutPaths(error),
    quarantinedAtMs: nowMs,
  };
}
