import type { MasterKey } from "../../lib/secret-envelope.js";
import type { PostgresDatabase } from "../../stores/postgres/index.js";
import { readSqliteIamDirectory, type PrincipalStore } from "../../stores/principals/index.js";
import { importPostgresSigningKeys, openSigningKeyFiles } from "../../stores/signing-keys/index.js";
import { addCounts, countOne, type CopyCount } from "./copy-count.js";

export interface IdentityCounts {
  readonly principals: CopyCount;
  readonly users: CopyCount;
  readonly policies: CopyCount;
  readonly signingKeys: CopyCount;
}

/**
 * Principals (access keys, their secrets opened with the data dir's key and sealed again by the
 * cluster store with the cluster's), IAM users and their policies, through the contract: a principal
 * is added unless its access key id is there, a user unless its name is (users first, so a key's
 * user keeps its own id and creation time), and policies are put and attached, which changes nothing
 * the second time. So a re-run copies nothing twice.
 */
export async function copyIdentities(
  source: { principals: PrincipalStore; principalsPath: string; dataDir: string; masterKey: MasterKey },
  target: { principals: PrincipalStore; db: PostgresDatabase; masterKey: MasterKey },
): Promise<IdentityCounts> {
  const directory = readSqliteIamDirectory(source.principalsPath);
  let users: CopyCount = { copied: 0, present: 0 };
  for (const accountId of directory.accountIds)
    for (const user of await source.principals.listUsers(accountId)) {
      const there = await target.principals.findUser(accountId, user.userName);
      if (there === undefined) await target.principals.createUser(user);
      users = addCounts(users, countOne(there === undefined));
    }
  let principals: CopyCount = { copied: 0, present: 0 };
  for (const principal of await source.principals.list()) {
    const there = await target.principals.findByAccessKeyId(principal.accessKeyId);
    if (there !== undefined && !samePrincipal(there, principal))
      throw new Error(`Access key ${principal.accessKeyId} belongs to another principal in the cluster.`);
    if (there === undefined) await target.principals.add(principal);
    principals = addCounts(principals, countOne(there === undefined));
  }
  let policies: CopyCount = { copied: 0, present: 0 };
  for (const holder of directory.holders) {
    const had = await target.principals.policiesOf(holder);
    const wanted = await source.principals.policiesOf(holder);
    for (const { name, document } of wanted.inline) {
      const same = had.inline.some((policy) => policy.name === name && policy.document === document);
      if (!same) await target.principals.putInlinePolicy(holder, name, document);
      policies = addCounts(policies, countOne(!same));
    }
    for (const arn of wanted.managedArns) {
      const same = had.managedArns.includes(arn);
      if (!same) await target.principals.attachManagedPolicy(holder, arn);
      policies = addCounts(policies, countOne(!same));
    }
  }
  const keys = await openSigningKeyFiles(source.dataDir, source.masterKey);
  const added = await importPostgresSigningKeys(target.db, keys, target.masterKey);
  return { principals, users, policies, signingKeys: { copied: added, present: keys.length - added } };
}

function samePrincipal(
  a: { accountId: string; name: string; type: string },
  b: { accountId: string; name: string; type: string },
): boolean {
  return a.accountId === b.accountId && a.name === b.name && a.type === b.type;
}
