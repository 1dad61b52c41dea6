import { existsSync } from "node:fs";
import { keyIdsText, openWithAnyKey, SecretEnvelopeError, type MasterKey } from "../../lib/secret-envelope.js";
import { openPrivateDatabase } from "../../lib/sqlite-database.js";
import type { Queryable } from "../postgres/index.js";
import { connectionSecretAssociatedData } from "./event-rule-store.js";

/** As the store waits for another connection's write lock. */
const BUSY_TIMEOUT_MS = 5000;

/** A connection's sealed auth opens with none of the keys a master key rotation was given. */
class ConnectionResealError extends Error {
  override readonly name = "ConnectionResealError";
}

export interface SealedRow {
  readonly arn: string;
  readonly sealed_auth: string;
}

/** The row's sealed auth opened with any of `from` and sealed with `to`, bound to the same ARN; the plaintext goes no further. */
export function resealed(row: SealedRow, from: readonly MasterKey[], to: MasterKey): string {
  const associatedData = connectionSecretAssociatedData(row.arn);
  try {
    return to.seal(openWithAnyKey(from, row.sealed_auth, associatedData), associatedData);
  } catch (error) {
    if (!(error instanceof SecretEnvelopeError)) throw error;
    throw new ConnectionResealError(
      `The secrets of EventBridge connection ${row.arn} do not open with master key ${keyIdsText(from)}.`,
    );
  }
}

/**
 * A master key rotation's step for `event-rules.db`: every connection's sealed auth is opened with
 * any of `from` and sealed with `to`, in one write transaction, so the file holds every old sealed
 * value or every new one. Resolves how many were re-sealed; a missing file holds none.
 *
 * @example resealConnectionSecrets(join(dataDir, "event-rules.db"), [newKey, oldKey], newKey);
 */
export function resealConnectionSecrets(path: string, from: readonly MasterKey[], to: MasterKey): number {
  if (!existsSync(path)) return 0;
  const db = openPrivateDatabase(path, { fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma("synchronous = FULL");
    // The old ciphertext must not linger in freed pages (a rotation often answers a leaked key).
    db.pragma("secure_delete = ON");
    const table = db
      .prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_master WHERE name = 'event_connections'")
      .get()!.n;
    if (table === 0) return 0;
    const update = db.prepare<[string, string]>("UPDATE event_connections SET sealed_auth = ? WHERE arn = ?");
    return db
      .transaction(() => {
        const rows = db.prepare<[], SealedRow>("SELECT arn, sealed_auth FROM event_connections").all();
        for (const row of rows) update.run(resealed(row, from, to), row.arn);
        return rows.length;
      })
      .immediate();
  } finally {
    db.close();
  }
}

/**
 * The cluster rotation's step for `cairn_event_connections`, inside its transaction `tx` (the table
 * locked against writes until it commits). Resolves how many were re-sealed.
 */
export async function resealPostgresConnectionSecrets(
  tx: Queryable,
  from: readonly MasterKey[],
  to: MasterKey,
): Promise<number> {
  const [table] = await tx.query<{ found: boolean }>(
    "SELECT to_regclass('cairn_event_connections') IS NOT NULL AS found",
  );
  if (table?.found !== true) return 0;
  await tx.query("LOCK TABLE cairn_event_connections IN EXCLUSIVE MODE");
  const rows = await tx.query<SealedRow>("SELECT arn, sealed_auth FROM cairn_event_connections ORDER BY arn");
  for (const row of rows) {
    await tx.query("UPDATE cairn_event_connections SET sealed_auth = $1 WHERE arn = $2", [
      resealed(row, from, to),
      row.arn,
    ]);
  }
  return rows.length;
}
