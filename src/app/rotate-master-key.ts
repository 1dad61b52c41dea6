import { join } from "node:path";
import { MasterKeyError, type ResolvedMasterKey } from "../lib/master-key.js";
import {
  beginRotation,
  endRotation,
  installNewKey,
  planNewRotation,
  planResumedRotation,
  readRotationMarker,
  recordedKeyId,
  recordNewKeyId,
  type KeyInstallation,
  type RotationPlan,
  type RotationRequest,
  type RotationTarget,
} from "../lib/master-key-rotation.js";
import { resealPrincipalSecrets } from "../stores/principals/index.js";
import { resealSigningKeyFiles } from "../stores/signing-keys/index.js";
import { resealConnectionSecrets } from "../stores/event-rules/index.js";
import { openDataDirectorySecrets, principalsDatabasePath } from "./data-directory-secrets.js";

/** The points at which a rotation has made one more step durable. */
export type RotationStep =
  | { readonly step: "begun" }
  | { readonly step: "signing-key-resealed"; readonly count: number }
  | { readonly step: "principals-resealed" }
  | { readonly step: "key-installed" }
  | { readonly step: "key-id-recorded" };

export interface RotateMasterKeyOptions extends RotationRequest {
  /** Runs once each step is durable. Only tests pass it: they kill the process there and check a re-run finishes. */
  readonly afterStep?: (step: RotationStep) => Promise<void>;
}

export interface MasterKeyRotation {
  readonly fromKeyId: string;
  readonly toKeyId: string;
  readonly target: RotationTarget;
  /** `<data-dir>/master.key`, or the file given with --new-master-key-file. */
  readonly toOrigin: string;
  /** This run finished a rotation an earlier run began. */
  readonly resumed: boolean;
  readonly principalSecrets: number;
  readonly signingKeys: number;
  /** EventBridge connections' sealed auth (`event-rules.db`). */
  readonly connectionSecrets: number;
  readonly installation: KeyInstallation;
}

/**
 * `cairn keys rotate-master`: re-seals every secret of the data directory (secret access keys,
 * signing private keys) with a new master key, crash-safely (src/lib/master-key-rotation.ts has
 * the order of the steps). A new rotation first opens every secret with the current key exactly as
 * the server does; a rotation whose marker exists is finished with the keys at hand. Nothing tells
 * whether a server uses the directory: the server must be stopped first (docs/reference/security.md).
 *
 * @example
 * const rotation = await rotateMasterKey({ dataDir, source: { masterKeyFile: "/run/secrets/old" }, newMasterKeyFile: "/run/secrets/new" });
 */
export async function rotateMasterKey(options: RotateMasterKeyOptions): Promise<MasterKeyRotation> {
  const { dataDir } = options;
  const afterStep = options.afterStep ?? (async () => undefined);
  const marker = await readRotationMarker(dataDir);
  const plan =
    marker === undefined
      ? await planNewRotation(options, await openWithCurrentKey(options))
      : await planResumedRotation(options, marker);
  await beginRotation(plan);
  await afterStep({ step: "begun" });
  const { signingKeys, principalSecrets, connectionSecrets } = await resealEverySecret(plan, afterStep);
  await afterStep({ step: "principals-resealed" });
  const installation = await installNewKey(plan);
  await afterStep({ step: "key-installed" });
  await recordNewKeyId(plan);
  await afterStep({ step: "key-id-recorded" });
  await endRotation(plan);
  return {
    fromKeyId: plan.marker.fromKeyId,
    toKeyId: plan.marker.toKeyId,
    target: plan.marker.target,
    toOrigin: plan.toOrigin,
    resumed: plan.resumed,
    principalSecrets,
    signingKeys,
    connectionSecrets,
    installation,
  };
}

/** The current key, checked against `master-key-id` and every sealed secret, as at a server start. */
async function openWithCurrentKey(request: RotationRequest): Promise<ResolvedMasterKey> {
  if ((await recordedKeyId(request.dataDir)) === undefined) {
    throw new MasterKeyError(
      `${request.dataDir} records no master key (it has no master-key-id): not a Cairn data directory, ` +
        "or its server never started. Nothing is sealed there yet, so there is nothing to rotate.",
    );
  }
  const { masterKey, principals } = await openDataDirectorySecrets(request.dataDir, request.source);
  await principals.close();
  return masterKey;
}

/** What the stores throw for a sealed value that opens with none of the keys given. */
const UNOPENED_SECRET_ERRORS = new Set(["SigningKeySecretsError", "PrincipalResealError", "ConnectionResealError"]);

async function resealEverySecret(
  plan: RotationPlan,
  afterStep: (step: RotationStep) => Promise<void>,
): Promise<{ signingKeys: number; principalSecrets: number; connectionSecrets: number }> {
  try {
    const signingKeys = await resealSigningKeyFiles(plan.dataDir, plan.openers, plan.to, (count) =>
      afterStep({ step: "signing-key-resealed", count }),
    );
    const principalSecrets = resealPrincipalSecrets(principalsDatabasePath(plan.dataDir), plan.openers, plan.to);
    // Openers hold both keys, so a re-run after a crash re-seals what this step already did.
    const connectionSecrets = resealConnectionSecrets(join(plan.dataDir, "event-rules.db"), plan.openers, plan.to);
    return { signingKeys, principalSecrets, connectionSecrets };
  } catch (error) {
    const oldKeyMissing = !plan.openers.some((key) => key.id === plan.marker.fromKeyId);
    if (!oldKeyMissing || !(error instanceof Error) || !UNOPENED_SECRET_ERRORS.has(error.name)) throw error;
    throw new MasterKeyError(
      `${error.message} Secrets not re-sealed yet open with the old master key ${plan.marker.fromKeyId} only: ` +
        "set it as CAIRN_MASTER_KEY or CAIRN_MASTER_KEY_FILE (or restore the data directory's master.key) and run again.",
      { cause: error },
    );
  }
}
