import Table from "cli-table3";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { resolveClientSettings } from "../../client/client-settings.js";
import { policyChecks } from "../../app/authorizer.js";
import { addUserThroughApi, inlinePolicyName } from "./principal-policies.js";
import { openClusterPrincipals } from "../../app/cluster-secrets.js";
import { openDataDirectorySecrets, principalsDatabasePath } from "../../app/data-directory-secrets.js";
import type { MasterKeySource } from "../../lib/master-key.js";
import { systemClock, type Clock } from "../../lib/clock.js";
import { generatePrincipal } from "../../stores/principals/index.js";
import {
  PrincipalExistsError,
  policyHolderOf,
  userIdentityOf,
  type Principal,
  type PrincipalStore,
  type PrincipalType,
} from "../../stores/principals/index.js";
import { BOOTSTRAP_ADMIN_NAME, entityNameOf, principalNameProblem } from "../../stores/principals/index.js";
import { openSqlitePrincipalStore } from "../../stores/principals/index.js";
import type { Output } from "../output.js";
import { UsageError } from "../usage-error.js";

export interface PrincipalAddOptions {
  readonly dataDir: string;
  readonly name: string;
  readonly type: PrincipalType;
  readonly accountId: string;
  /**
   * CAIRN_MASTER_KEY / CAIRN_MASTER_KEY_FILE, resolved as the server does (else the data directory's
   * master.key), so the server opens the secret this command seals.
   */
  readonly masterKeySource?: MasterKeySource;
  /**
   * CAIRN_DATABASE_URL (cluster mode, checked as the server checks it): the principal goes to the
   * cluster's PostgreSQL, sealed with `masterKeySource`, instead of the data directory.
   */
  readonly databaseUrl?: string;
  /** Both or neither; generated when absent. */
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly json?: boolean;
  readonly stdout: Output;
  readonly clock?: Clock;
  /** Identity-based policies to give the new principal's user or role: documents from files, managed ARNs. */
  readonly policyFiles?: readonly string[];
  readonly policyArns?: readonly string[];
  /** Where AWS_ACCESS_KEY_ID/… are read when the server is asked (the process environment by default). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * `cairn principal add`: stores a principal with an access key (generated unless given) in
 * `<dataDir>/principals.db`, and prints the key. A running server sees it on its next request.
 * A second key for an existing IAM user or role keeps that entity's AIDA…/AROA… id.
 *
 * @example
 * await runPrincipalAdd({ dataDir, name: "alice", type: "IAMUser", accountId: "123456789012", stdout: process.stdout });
 */
export async function runPrincipalAdd(options: PrincipalAddOptions): Promise<Principal> {
  const problem = principalNameProblem(options.type, options.name);
  if (problem !== undefined) throw new UsageError(`--name: ${problem} (got ${JSON.stringify(options.name)})`);
  if (options.type === "Root" && options.name === BOOTSTRAP_ADMIN_NAME) {
    throw new UsageError(
      `--name: "${BOOTSTRAP_ADMIN_NAME}" is the server's bootstrap admin; set CAIRN_ACCESS_KEY_ID/CAIRN_SECRET_ACCESS_KEY to choose its key.`,
    );
  }
  if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
    throw new UsageError("--access-key-id and --secret-access-key: give both, or neither to generate a key.");
  }
  const policies = await readPolicies(options);
  const principal = (await addThroughServer(options, policies)) ?? (await addToStore(options, policies));
  options.stdout.write(
    options.json ? JSON.stringify(describe(principal, true), null, 2) + "\n" : formatAdded(principal),
  );
  return principal;
}

/**
 * An IAM user with a generated key is made through the IAM-shaped API when the data directory's
 * server runs (authorised, recorded, and the server alone seals the secret); the data directory is
 * written directly otherwise, and for roles, root principals and given keys (the operator's path).
 */
async function addThroughServer(options: PrincipalAddOptions, policies: PolicySet): Promise<Principal | undefined> {
  if (options.type !== "IAMUser" || options.accessKeyId !== undefined || options.databaseUrl !== undefined)
    return undefined;
  if (!existsSync(join(options.dataDir, "config")) || !existsSync(join(options.dataDir, "credentials")))
    return undefined;
  const client = resolveClientSettings({ dataDir: options.dataDir }, options.env ?? process.env);
  return addUserThroughApi(client, {
    userName: options.name,
    accountId: options.accountId,
    inline: policies.inline,
    managedArns: policies.managedArns,
  });
}

/**
 * The principal store the command works on: the cluster's PostgreSQL when CAIRN_DATABASE_URL is set
 * (every node sees the principal on its next request), else the data directory's.
 */
async function openPrincipals(options: {
  dataDir: string;
  databaseUrl?: string;
  masterKeySource?: MasterKeySource;
}): Promise<{ principals: PrincipalStore; close(): Promise<void> }> {
  const source = options.masterKeySource ?? {};
  if (options.databaseUrl !== undefined)
    return openClusterPrincipals({ dataDir: options.dataDir, databaseUrl: options.databaseUrl, ...source });
  const { principals } = await openDataDirectorySecrets(options.dataDir, source);
  return { principals, close: () => principals.close() };
}

async function addToStore(options: PrincipalAddOptions, policies: PolicySet): Promise<Principal> {
  const { principals: store, close } = await openPrincipals(options);
  try {
    const entity = entityNameOf(options.type, options.name);
    const sibling = (await store.list({ accountId: options.accountId })).find(
      (p) => p.type === options.type && entityNameOf(p.type, p.name) === entity,
    );
    const principal = generatePrincipal({
      name: options.name,
      type: options.type,
      accountId: options.accountId,
      createdAtMs: (options.clock ?? systemClock).nowMs(),
      ...(options.accessKeyId !== undefined ? { accessKeyId: options.accessKeyId } : {}),
      ...(options.secretAccessKey !== undefined ? { secretAccessKey: options.secretAccessKey } : {}),
      ...(sibling !== undefined ? { principalId: sibling.principalId } : {}),
    });
    const holder = await store.findByAccessKeyId(principal.accessKeyId);
    if (holder !== undefined) {
      throw new PrincipalExistsError(
        `Access key id ${holder.accessKeyId} already exists: it belongs to ${holder.type} ${holder.name} in account ${holder.accountId}.`,
      );
    }
    // add() checks again inside the store, for the case of two concurrent `principal add` runs.
    await store.add(principal);
    await givePolicies(store, principal, policies);
    return principal;
  } finally {
    await close();
  }
}

interface PolicySet {
  readonly inline: ReadonlyArray<{ name: string; document: string }>;
  readonly managedArns: readonly string[];
}

/** Reads and checks the policies before anything is stored, with the grammar the IAM-shaped API applies. */
async function readPolicies(options: PrincipalAddOptions): Promise<PolicySet> {
  const files = options.policyFiles ?? [];
  const managedArns = options.policyArns ?? [];
  if (options.type === "Root" && files.length + managedArns.length > 0) {
    throw new UsageError("--policy/--policy-arn: a Root principal is not bound by identity-based policies.");
  }
  const checks = policyChecks();
  const inline: Array<{ name: string; document: string }> = [];
  for (const file of files) {
    const document = await readFile(file, "utf8");
    try {
      checks.checkPolicyDocument(document);
    } catch (error) {
      throw new UsageError(`--policy ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
    inline.push({ name: inlinePolicyName(file, undefined), document });
  }
  for (const arn of managedArns) {
    if (checks.managedPolicy(arn) === undefined)
      throw new UsageError(`--policy-arn: Cairn knows no managed policy ${arn}.`);
  }
  return { inline, managedArns };
}

async function givePolicies(store: PrincipalStore, principal: Principal, policies: PolicySet): Promise<void> {
  const holder = policyHolderOf(principal);
  if (holder === undefined) return;
  for (const { name, document } of policies.inline) await store.putInlinePolicy(holder, name, document);
  for (const arn of policies.managedArns) await store.attachManagedPolicy(holder, arn);
}

export interface PrincipalListOptions {
  readonly dataDir: string;
  /** CAIRN_DATABASE_URL: the cluster's principals, opened with `masterKeySource` (the cluster's key). */
  readonly databaseUrl?: string;
  readonly masterKeySource?: MasterKeySource;
  readonly json?: boolean;
  readonly stdout: Output;
}

/**
 * `cairn principal list`: every stored principal, never with its secret. A data directory's store is
 * opened without the master key (identities only); a cluster's with the cluster's key, which every
 * command and node of a cluster is given anyway.
 */
export async function runPrincipalList(options: PrincipalListOptions): Promise<Principal[]> {
  const { principals: store, close } =
    options.databaseUrl !== undefined ? await openPrincipals(options) : identitiesOnly(options.dataDir);
  try {
    const principals = await store.list();
    if (options.json) {
      options.stdout.write(
        JSON.stringify(
          principals.map((p) => describe(p, false)),
          null,
          2,
        ) + "\n",
      );
    } else if (principals.length === 0) {
      // Never the database URL: it may hold a password.
      const where = options.databaseUrl !== undefined ? "the cluster's database (CAIRN_DATABASE_URL)" : options.dataDir;
      options.stdout.write(`No principals in ${where} yet (the server creates the admin on first start).\n`);
    } else {
      const table = new Table({
        head: ["Name", "Type", "Account", "Principal ID", "Access key ID", "Created"],
        style: { head: [], border: [] },
      });
      for (const p of principals) {
        table.push([p.name, p.type, p.accountId, p.principalId, p.accessKeyId, isoSeconds(p.createdAtMs)]);
      }
      options.stdout.write(table.toString() + "\n");
    }
    return principals;
  } finally {
    await close();
  }
}

/** The data directory's principals without the master key: identities only, secrets stay sealed. */
function identitiesOnly(dataDir: string): { principals: PrincipalStore; close(): Promise<void> } {
  const principals = openSqlitePrincipalStore(principalsDatabasePath(dataDir));
  return { principals, close: () => principals.close() };
}

/** The JSON shape both commands print; the secret only when the key was just created. */
function describe(principal: Principal, withSecret: boolean): Record<string, string> {
  return {
    name: principal.name,
    type: principal.type,
    accountId: principal.accountId,
    principalId: principal.principalId,
    arn: userIdentityOf(principal).arn ?? "",
    accessKeyId: principal.accessKeyId,
    ...(withSecret ? { secretAccessKey: principal.secretAccessKey } : {}),
    createdAt: isoSeconds(principal.createdAtMs),
  };
}

function formatAdded(principal: Principal): string {
  return [
    `Created ${principal.type} ${principal.name} in account ${principal.accountId}.`,
    `  ARN:               ${userIdentityOf(principal).arn ?? ""}`,
    `  Principal ID:      ${principal.principalId}`,
    `  Access key ID:     ${principal.accessKeyId}`,
    `  Secret access key: ${principal.secretAccessKey}`,
    "Keep the secret now: `cairn principal list` never shows it.",
    "",
  ].join("\n");
}

function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}
