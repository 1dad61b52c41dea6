import { join } from "node:path";
import { secureDataDirectory, type MasterKeySource, type ResolvedMasterKey } from "../lib/master-key.js";
import { openSqlitePrincipalStore, principalsAreSealed, type PrincipalStore } from "../stores/principals/index.js";
import { sealSigningKeyFiles, signingKeysAreSealed } from "../stores/signing-keys/index.js";

/** The file the server and `cairn principal` share (docs/ARCHITECTURE.md, Data directory). */
export function principalsDatabasePath(dataDir: string): string {
  return join(dataDir, "principals.db");
}

export interface DataDirectorySecrets {
  readonly masterKey: ResolvedMasterKey;
  /** The principals, opened with the master key (the caller closes it). */
  readonly principals: PrincipalStore;
}

/**
 * Opens the secrets of the data directory for a process that writes them (the server, `cairn
 * principal add`), the same way in both so that what one seals the other opens: the master key is
 * resolved (secureDataDirectory; a key is generated only when no store holds sealed secrets), every
 * sealed secret is opened with it, plaintext ones of an older Cairn are sealed, and only then is
 * the key recorded as the directory's. A wrong or missing key fails here, before anything starts.
 *
 * @example
 * const { masterKey, principals } = await openDataDirectorySecrets(settings.dataDir, settings);
 */
export async function openDataDirectorySecrets(
  dataDir: string,
  source: MasterKeySource,
): Promise<DataDirectorySecrets> {
  const secured = await secureDataDirectory(dataDir, source, {
    hasSealedSecrets: async () =>
      principalsAreSealed(principalsDatabasePath(dataDir)) || (await signingKeysAreSealed(dataDir)),
  });
  const principals = openSqlitePrincipalStore(principalsDatabasePath(dataDir), { masterKey: secured.key });
  try {
    await sealSigningKeyFiles(dataDir, secured.key);
    await secured.recordKeyId();
  } catch (error) {
    await principals.close();
    throw error;
  }
  const { recordKeyId: _recorded, ...masterKey } = secured;
  return { masterKey, principals };
}
