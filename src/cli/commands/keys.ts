import { rotateMasterKey, type MasterKeyRotation } from "../../app/rotate-master-key.js";
import type { MasterKeySource } from "../../lib/master-key.js";
import type { Output } from "../output.js";

export interface RotateMasterKeyCommandOptions {
  readonly dataDir: string;
  /** CAIRN_MASTER_KEY / CAIRN_MASTER_KEY_FILE: the current key, resolved as the server resolves it. */
  readonly masterKeySource: MasterKeySource;
  readonly newMasterKeyFile?: string;
  readonly stdout: Output;
}

/**
 * `cairn keys rotate-master`: re-seals every secret of the data directory with a new master key
 * (src/app/rotate-master-key.ts) and says what the operator does next.
 *
 * @example
 * await runRotateMasterKey({ dataDir: ".cairn", masterKeySource: {}, stdout: process.stdout });
 */
export async function runRotateMasterKey(options: RotateMasterKeyCommandOptions): Promise<MasterKeyRotation> {
  const rotation = await rotateMasterKey({
    dataDir: options.dataDir,
    source: options.masterKeySource,
    ...(options.newMasterKeyFile !== undefined ? { newMasterKeyFile: options.newMasterKeyFile } : {}),
  });
  options.stdout.write(describeRotation(rotation, options.dataDir));
  return rotation;
}

function describeRotation(rotation: MasterKeyRotation, dataDir: string): string {
  const total = rotation.principalSecrets + rotation.signingKeys;
  const lines = [
    `${rotation.resumed ? "Finished the master key rotation that was under way" : "Rotated the master key"} of ${dataDir}: ` +
      `${total} secret${total === 1 ? "" : "s"} re-sealed (${rotation.principalSecrets} secret access ` +
      `key${rotation.principalSecrets === 1 ? "" : "s"}, ${rotation.signingKeys} signing private ` +
      `key${rotation.signingKeys === 1 ? "" : "s"}).`,
    `  old master key: ${rotation.fromKeyId}`,
    `  new master key: ${rotation.toKeyId} (${rotation.toOrigin})`,
  ];
  if (rotation.target === "data-directory") {
    lines.push(`The new key replaced ${rotation.toOrigin}; the next \`cairn server\` start uses it.`);
  } else {
    if (rotation.installation === "master.key removed") {
      lines.push(`Removed the old key's ${dataDir}/master.key: it opens none of this directory's secrets now.`);
    }
    lines.push(
      `Start the server with the new key from now on: CAIRN_MASTER_KEY_FILE=${rotation.toOrigin} ` +
        "(or CAIRN_MASTER_KEY set to its contents). With the old key it refuses to start.",
    );
  }
  lines.push(
    `Keep the old key only as long as backups taken before now: they open with master key ${rotation.fromKeyId} only.`,
    "",
  );
  return lines.join("\n");
}
