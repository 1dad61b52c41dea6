import { existsSync } from "node:fs";
import { keyIdsText, openWithAnyKey, SecretEnvelopeError, type MasterKey } from "../../lib/secret-envelope.js";
import { openPrivateDatabase } from "../../lib/sqlite-database.js";
import { secretAssociatedData } from "./keys.js";

/** As the store waits for another process's write lock (`cairn principal add` and the server share the file). */
const BUSY_TIMEOUT_MS = 5000;

/** A secret access key opens with none of the keys a master key rotation was given. */
class PrincipalResealError extends Error {
  override readonly name = "PrincipalResealError";
}

/**
 * A master key rotation's step for `principals.db`: every secret access key is opened with any of
 * `from` and sealed with `to`, in one write transaction, so the file holds either every old sealed
 * value or every new one, whatever happens. The file must already be sealed (schema 2 or later:
 * opening the store with the current key upgrades an older one). Only the `principals` table holds
 * secrets. Resolves how many secrets were re-sealed; a missing file holds none.
 *
 * @example
 * resealPrincipalSecrets(join(dataDir, "principals.db"), [newKey, oldKey], newKey);
 */
export function resealPrincipalSecrets(path: string, from: readonly MasterKey[], to: MasterKey): number {
  if (!existsSync(path)) return 0;
  const db = openPrivateDatabase(path, { fileMustExist: true });
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Keys are few and precious: the commit must survive a power cut, as the store's own commits.
    db.pragma("synchronous = FULL");
    // A rotation often answers a leaked key: should SQLite move a row rather than overwrite it in
    // place, the old ciphertext must not linger in freed space. (Closing the last connection copies
    // the WAL into the main file and removes it.)
    db.pragma("secure_delete = ON");
    const select = db.prepare<[], { access_key_id: string; secret_access_key: string }>(
      "SELECT access_key_id, secret_access_key FROM principals",
    );
    const update = db.prepare<[string, string]>("UPDATE principals SET secret_access_key = ? WHERE access_key_id = ?");
    // IMMEDIATE: the write lock is taken before the rows are read, so no concurrent write slips in between.
    return db
      .transaction(() => {
        const rows = select.all();
        for (const row of rows) {
          const secret = openSecret(path, from, row.access_key_id, row.secret_access_key);
          update.run(to.seal(secret, secretAssociatedData(row.access_key_id)), row.access_key_id);
        }
        return rows.length;
      })
      .immediate();
  } finally {
    db.close();
  }
}

function openSecret(path: string, from: readonly MasterKey[], accessKeyId: string, sealed: string): string {
  try {
    return openWithAnyKey(from, sealed, secretAssociatedData(accessKeyId));
  } catch (error) {
    if (!(error instanceof SecretEnvelopeError)) throw error;
    throw new PrincipalResealError(
      `${path}: the secret of access key ${accessKeyId} does not open with master key ${keyIdsText(from)}.`,
    );
  }
}
