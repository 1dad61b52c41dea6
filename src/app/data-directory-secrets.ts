import { join } from "node:path";
import { secureDataDirectory, type MasterKeySource, type ResolvedMasterKey } from "../lib/master-key.js";
import { principalsAreSealed } from "../stores/principals/index.js";
import { signingKeysAreSealed } from "../stores/signing-keys/index.js";

/** The file the server and `cairn principal` share (docs/ARCHITECTURE.md, Data directory). */
export function principalsDatabasePath(dataDir: string): string {
  return join(dataDir, "principals.db");
}

/**
 * The master key of a process that writes the data directory's secrets (the server, `cairn
 * principal add`), resolved the same way in both so that what one seals the other opens: see
 * secureDataDirectory. A key is generated only when no store holds sealed secrets.
 *
 * @example
 * const { key } = await dataDirectoryMasterKey(settings.dataDir, settings);
 */
export function dataDirectoryMasterKey(dataDir: string, source: MasterKeySource): Promise<ResolvedMasterKey> {
  return secureDataDirectory(dataDir, source, {
    hasSealedSecrets: async () =>
      principalsAreSealed(principalsDatabasePath(dataDir)) || (await signingKeysAreSealed(dataDir)),
  });
}
