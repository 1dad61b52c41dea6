import type { PostgresDatabase } from "../../stores/postgres/index.js";
import {
  importPostgresQuarantinedRecords,
  QUARANTINE_PAGE_MAX,
  type QuarantinePosition,
  type QuarantineStore,
} from "../../stores/quarantine/index.js";
import type { CopyCount, ProgressTick } from "./copy-count.js";

/**
 * The records the embedded server's consumers set aside (`<data-dir>/quarantine.db`), a page at a
 * time in journal order, into the cluster's quarantine as they are: the consumer and seq (the record
 * itself is the journal entry at that seq, copied before), eventID, account, error and time. The
 * quarantine keeps no payload and no secret, so nothing is sealed. The cluster notes each record it
 * imported (importPostgresQuarantinedRecords): a re-run adds none twice, and none an operator has
 * dismissed in the cluster since. No quarantine.db (nothing was ever quarantined): nothing to copy.
 */
export async function copyQuarantine(
  source: QuarantineStore | undefined,
  target: PostgresDatabase,
  tick: ProgressTick = () => undefined,
): Promise<CopyCount> {
  if (source === undefined) return { copied: 0, present: 0 };
  const total = await source.count();
  let copied = 0;
  let done = 0;
  let after: QuarantinePosition | undefined;
  do {
    const page = await source.list({ maxResults: QUARANTINE_PAGE_MAX, ...(after !== undefined ? { after } : {}) });
    copied += await importPostgresQuarantinedRecords(target, page.records);
    done += page.records.length;
    tick(done, total);
    after = page.next;
  } while (after !== undefined);
  return { copied, present: done - copied };
}
