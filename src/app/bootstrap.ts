import { join } from "node:path";
import { writeFileAtomic } from "../lib/durable-write.js";
import { makeDirectoryDurable } from "../lib/sync-directory.js";
import type { ServerSettings } from "../config/settings.js";
import { systemClock, type Clock } from "../lib/clock.js";
import { generatePrincipal } from "../stores/principals/keys.js";
import { PrincipalExistsError, type Principal, type PrincipalStore } from "../stores/principals/principal.js";
import { BOOTSTRAP_ADMIN_NAME } from "../stores/principals/principal-name.js";

/**
 * Returns the bootstrap admin: the root principal (named `root`) of `settings.accountId`.
 *
 * - With CAIRN_ACCESS_KEY_ID/SECRET set, that key becomes the admin's only key: it is added (or its
 *   secret updated) and any other key the admin had is removed, so rotating the variables rotates
 *   the key.
 * - Otherwise the admin key stored by an earlier start is reused, so restarts keep the credentials
 *   already handed out.
 * - Otherwise a key is generated and stored.
 *
 * Rejects when the configured key already belongs to some other principal.
 *
 * @example
 * const admin = await ensureBootstrapAdmin(store, settings);
 */
export async function ensureBootstrapAdmin(
  store: PrincipalStore,
  settings: Pick<ServerSettings, "accountId" | "accessKeyId" | "secretAccessKey">,
  clock: Clock = systemClock,
): Promise<Principal> {
  const current = (await store.list({ accountId: settings.accountId }))
    .filter((p) => isBootstrapAdmin(p, settings.accountId))
    .sort((a, b) => b.createdAtMs - a.createdAtMs);
  const { accessKeyId, secretAccessKey } = settings;
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    const [newest] = current;
    if (newest !== undefined) return newest;
    const admin = generatePrincipal(rootInput(settings.accountId, clock));
    await store.add(admin);
    return admin;
  }

  const holder = await store.findByAccessKeyId(accessKeyId);
  // Judged on the holder itself, not on `current`: another node starting at the same moment may have
  // added this very key since `current` was read.
  const holderIsAdmin = holder !== undefined && isBootstrapAdmin(holder, settings.accountId);
  if (holder !== undefined && !holderIsAdmin) {
    throw new Error(
      `CAIRN_ACCESS_KEY_ID: ${accessKeyId} already belongs to ${holder.type} "${holder.name}" in account ${holder.accountId}; choose another key for the bootstrap admin.`,
    );
  }
  let admin = holder;
  if (admin === undefined || admin.secretAccessKey !== secretAccessKey) {
    admin = generatePrincipal({ ...rootInput(settings.accountId, clock), accessKeyId, secretAccessKey });
    // Remove-then-add is not atomic, but a crash in between only loses a key that the next start
    // re-creates from the same variables.
    if (holder !== undefined) await store.remove(holder.accessKeyId);
    admin = await addOrAdopt(store, admin);
  }
  for (const stale of current) {
    if (stale.accessKeyId !== accessKeyId) await store.remove(stale.accessKeyId);
  }
  return admin;
}

/**
 * Cluster nodes started together with the same CAIRN_ACCESS_KEY_ID/SECRET all find the key missing
 * and add it: a node that lost that race adopts the admin another node stored, when it is the very
 * same key (same account, name and secret). Anything else is still refused.
 */
async function addOrAdopt(store: PrincipalStore, admin: Principal): Promise<Principal> {
  try {
    await store.add(admin);
    return admin;
  } catch (error) {
    if (!(error instanceof PrincipalExistsError)) throw error;
    const winner = await store.findByAccessKeyId(admin.accessKeyId);
    const same =
      winner !== undefined &&
      isBootstrapAdmin(winner, admin.accountId) &&
      winner.secretAccessKey === admin.secretAccessKey;
    if (same) return winner;
    throw error;
  }
}

function isBootstrapAdmin(principal: Principal, accountId: string): boolean {
  return principal.type === "Root" && principal.name === BOOTSTRAP_ADMIN_NAME && principal.accountId === accountId;
}

function rootInput(accountId: string, clock: Clock) {
  return { name: BOOTSTRAP_ADMIN_NAME, type: "Root", accountId, createdAtMs: clock.nowMs() } as const;
}

export interface AwsClientFilesInput {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  /** The server's base URL, e.g. `http://127.0.0.1:7680`. */
  readonly endpointUrl: string;
}

/**
 * Writes `<dataDir>/credentials` and `<dataDir>/config` (mode 0600), so that
 * `AWS_SHARED_CREDENTIALS_FILE=<dataDir>/credentials AWS_CONFIG_FILE=<dataDir>/config aws cloudtrail …`
 * reaches Cairn as the bootstrap admin. The endpoint goes in a `services` section, which only
 * CloudTrail, IAM, EventBridge and SNS read, rather than a profile-wide `endpoint_url` that would send S3, STS… to Cairn too.
 *
 * @example
 * await writeAwsClientFiles(settings.dataDir, { accessKeyId, secretAccessKey, region, endpointUrl: url });
 */
export async function writeAwsClientFiles(
  dataDir: string,
  input: AwsClientFilesInput,
): Promise<{ credentialsPath: string; configPath: string }> {
  await makeDirectoryDurable(dataDir);
  const credentialsPath = join(dataDir, "credentials");
  const configPath = join(dataDir, "config");
  // Both 0600 (writeFileAtomic's default), as everything under the data directory.
  await writeFileAtomic(credentialsPath, renderCredentialsFile(input));
  await writeFileAtomic(configPath, renderConfigFile(input));
  return { credentialsPath, configPath };
}

function renderCredentialsFile(input: Pick<AwsClientFilesInput, "accessKeyId" | "secretAccessKey">): string {
  return [
    "# Written by Cairn at every server start: the bootstrap admin (the account's root principal).",
    "[default]",
    `aws_access_key_id = ${input.accessKeyId}`,
    `aws_secret_access_key = ${input.secretAccessKey}`,
    "",
  ].join("\n");
}

function renderConfigFile(input: Pick<AwsClientFilesInput, "region" | "endpointUrl">): string {
  return [
    "# Written by Cairn at every server start. AWS CLI v2, AWS CLI v1 (1.45 checked) and current SDKs",
    "# read the services section below; clients too old to know it need --endpoint-url.",
    "[default]",
    `region = ${input.region}`,
    "services = cairn",
    "",
    "[services cairn]",
    "cloudtrail =",
    `  endpoint_url = ${input.endpointUrl}`,
    // The IAM-shaped API (users, keys, policies) is on the same endpoint.
    "iam =",
    `  endpoint_url = ${input.endpointUrl}`,
    // EventBridge (its service id `EventBridge`, key `eventbridge`): docs/reference/events.md.
    "eventbridge =",
    `  endpoint_url = ${input.endpointUrl}`,
    // SNS topics and subscriptions too (docs/reference/sns.md).
    "sns =",
    `  endpoint_url = ${input.endpointUrl}`,
    "",
  ].join("\n");
}
