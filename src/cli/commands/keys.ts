import { clusterMasterKey } from "../../app/cluster-secrets.js";
import { rotateClusterMasterKey, type ClusterMasterKeyRotation } from "../../app/rotate-cluster-master-key.js";
import { rotateMasterKey, type MasterKeyRotation } from "../../app/rotate-master-key.js";
import type { MasterKeySource } from "../../lib/master-key.js";
import { readNewKeyFile } from "../../lib/master-key-rotation.js";
import type { Output } from "../output.js";
import { UsageError } from "../usage-error.js";

export interface RotateMasterKeyCommandOptions {
  readonly dataDir: string;
  /** CAIRN_MASTER_KEY / CAIRN_MASTER_KEY_FILE: the current key, resolved as the server resolves it. */
  readonly masterKeySource: MasterKeySource;
  /** CAIRN_DATABASE_URL (cluster mode): the cluster's secrets in PostgreSQL instead of the data directory's. */
  readonly databaseUrl?: string;
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
export async function runRotateMasterKey(
  options: RotateMasterKeyCommandOptions,
): Promise<MasterKeyRotation | ClusterMasterKeyRotation> {
  if (options.databaseUrl !== undefined)
    return runRotateClusterMasterKey({ ...options, databaseUrl: options.databaseUrl });
  const rotation = await rotateMasterKey({
    dataDir: options.dataDir,
    source: options.masterKeySource,
    ...(options.newMasterKeyFile !== undefined ? { newMasterKeyFile: options.newMasterKeyFile } : {}),
  });
  options.stdout.write(describeRotation(rotation, options.dataDir));
  return rotation;
}

function describeRotation(rotation: MasterKeyRotation, dataDir: string): string {
  const total = rotation.principalSecrets + rotation.signingKeys + rotation.connectionSecrets;
  const lines = [
    `${rotation.resumed ? "Finished the master key rotation that was under way" : "Rotated the master key"} of ${dataDir}: ` +
      `${total} secret${total === 1 ? "" : "s"} re-sealed (${rotation.principalSecrets} secret access ` +
      `key${rotation.principalSecrets === 1 ? "" : "s"}, ${rotation.signingKeys} signing private ` +
      `key${rotation.signingKeys === 1 ? "" : "s"}${connectionsText(rotation.connectionSecrets)}).`,
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

/**
 * The cluster's rotation (src/app/rotate-cluster-master-key.ts): one transaction in PostgreSQL, every
 * node stopped first. The new key must come from a file: Cairn does not hold a cluster's keys.
 */
async function runRotateClusterMasterKey(
  options: RotateMasterKeyCommandOptions & { readonly databaseUrl: string },
): Promise<ClusterMasterKeyRotation> {
  const file = options.newMasterKeyFile;
  if (file === undefined)
    throw new UsageError(
      "--new-master-key-file: required in cluster mode (CAIRN_DATABASE_URL): write the new key to a file (`openssl rand -base64 32`) that every node can be given.",
    );
  const from = await clusterMasterKey({ dataDir: options.dataDir, ...options.masterKeySource });
  const to = await readNewKeyFile(file);
  const rotation = await rotateClusterMasterKey({ databaseUrl: options.databaseUrl, from: from.key, to });
  const total = rotation.principalSecrets + rotation.signingKeys + rotation.connectionSecrets;
  options.stdout.write(
    [
      "Rotated the master key of the cluster's database (CAIRN_DATABASE_URL): " +
        `${total} secret${total === 1 ? "" : "s"} re-sealed (${rotation.principalSecrets} secret access ` +
        `key${rotation.principalSecrets === 1 ? "" : "s"}, ${rotation.signingKeys} signing private ` +
        `key${rotation.signingKeys === 1 ? "" : "s"}${connectionsText(rotation.connectionSecrets)}).`,
      `  old master key: ${rotation.fromKeyId}`,
      `  new master key: ${rotation.toKeyId} (${file})`,
      `Start every node with the new key from now on: CAIRN_MASTER_KEY_FILE=${file} ` +
        "(or CAIRN_MASTER_KEY set to its contents). With the old key a node refuses to start.",
      `Keep the old key only as long as backups taken before now: they open with master key ${rotation.fromKeyId} only.`,
      "",
    ].join("\n"),
  );
  return rotation;
}

/** The EventBridge connections' part of a rotation's summary, when there were any. */
function connectionsText(count: number): string {
  return count === 0 ? "" : `, ${count} EventBridge connection secret${count === 1 ? "" : "s"}`;
}
