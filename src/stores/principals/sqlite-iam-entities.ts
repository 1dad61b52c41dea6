import type Database from "better-sqlite3";
import type { HolderPolicies, IamEntityMethods, IamUser, PolicyHolder } from "./principal.js";
import { PrincipalExistsError } from "./principal.js";

/** Users and identity-based policies, in the same SQLite file as the principals (schema 3). */
export const IAM_ENTITIES_SCHEMA = `
  CREATE TABLE IF NOT EXISTS users (
    account_id    TEXT NOT NULL,
    user_name     TEXT NOT NULL COLLATE NOCASE,
    user_id       TEXT NOT NULL,
    path          TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_name)
  ) STRICT;
  CREATE TABLE IF NOT EXISTS inline_policies (
    account_id  TEXT NOT NULL,
    holder_kind TEXT NOT NULL CHECK (holder_kind IN ('user', 'role')),
    holder_name TEXT NOT NULL COLLATE NOCASE,
    policy_name TEXT NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (account_id, holder_kind, holder_name, policy_name)
  ) STRICT;
  CREATE TABLE IF NOT EXISTS attached_policies (
    account_id  TEXT NOT NULL,
    holder_kind TEXT NOT NULL CHECK (holder_kind IN ('user', 'role')),
    holder_name TEXT NOT NULL COLLATE NOCASE,
    policy_arn  TEXT NOT NULL,
    attached_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, holder_kind, holder_name, policy_arn)
  ) STRICT;
`;

interface UserRow {
  account_id: string;
  user_name: string;
  user_id: string;
  path: string;
  created_at_ms: number;
}

function userOf(row: UserRow): IamUser {
  return {
    accountId: row.account_id,
    userName: row.user_name,
    userId: row.user_id,
    path: row.path,
    createdAtMs: row.created_at_ms,
  };
}

function holderParams(holder: PolicyHolder): [string, string, string] {
  return [holder.accountId, holder.kind, holder.name];
}

/** Schema 2 → 3: every IAM user that had keys becomes a user entry, keeping its AIDA… id. */
export function backfillUsers(db: Database.Database): void {
  db.exec(`
    INSERT OR IGNORE INTO users (account_id, user_name, user_id, path, created_at_ms)
    SELECT account_id, name, principal_id, '/', MIN(created_at_ms) FROM principals
    WHERE type = 'IAMUser' GROUP BY account_id, name
  `);
}

/** Inserts the user entry of an IAMUser key unless it exists (keys added before the user, as older data dirs did). */
export function ensureUserStatement(db: Database.Database): Database.Statement<[UserRow]> {
  return db.prepare<[UserRow]>(
    `INSERT OR IGNORE INTO users (account_id, user_name, user_id, path, created_at_ms)
     VALUES (@account_id, @user_name, @user_id, @path, @created_at_ms)`,
  );
}

export function sqliteIamEntities(db: Database.Database): IamEntityMethods {
  const statements = prepare(db);
  return {
    async createUser(user) {
      const row = {
        account_id: user.accountId,
        user_name: user.userName,
        user_id: user.userId,
        path: user.path,
        created_at_ms: user.createdAtMs,
      };
      if (statements.insertUser.run(row).changes === 0) {
        throw new PrincipalExistsError(`User with name ${user.userName} already exists.`);
      }
    },
    async findUser(accountId, userName) {
      const row = statements.findUser.get(accountId, userName);
      return row === undefined ? undefined : userOf(row);
    },
    async listUsers(accountId) {
      return statements.listUsers.all(accountId).map(userOf);
    },
    async deleteUser(accountId, userName) {
      return statements.deleteUser.run(accountId, userName).changes > 0;
    },
    async putInlinePolicy(holder, name, document) {
      statements.putInline.run(...holderParams(holder), name, document);
    },
    async deleteInlinePolicy(holder, name) {
      return statements.deleteInline.run(...holderParams(holder), name).changes > 0;
    },
    async attachManagedPolicy(holder, arn) {
      statements.attach.run(...holderParams(holder), arn);
    },
    async detachManagedPolicy(holder, arn) {
      return statements.detach.run(...holderParams(holder), arn).changes > 0;
    },
    async policiesOf(holder): Promise<HolderPolicies> {
      const params = holderParams(holder);
      return {
        inline: statements.listInline.all(...params).map((row) => ({ name: row.policy_name, document: row.document })),
        managedArns: statements.listAttached.all(...params).map((row) => row.policy_arn),
      };
    },
  };
}

function prepare(db: Database.Database) {
  const holder = "account_id = ? AND holder_kind = ? AND holder_name = ?";
  return {
    insertUser: ensureUserStatement(db),
    findUser: db.prepare<[string, string], UserRow>("SELECT * FROM users WHERE account_id = ? AND user_name = ?"),
    listUsers: db.prepare<[string], UserRow>("SELECT * FROM users WHERE account_id = ? ORDER BY user_name"),
    deleteUser: db.prepare<[string, string]>("DELETE FROM users WHERE account_id = ? AND user_name = ?"),
    putInline: db.prepare<[string, string, string, string, string]>(
      `INSERT INTO inline_policies (account_id, holder_kind, holder_name, policy_name, document) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (account_id, holder_kind, holder_name, policy_name) DO UPDATE SET document = excluded.document`,
    ),
    deleteInline: db.prepare<[string, string, string, string]>(
      `DELETE FROM inline_policies WHERE ${holder} AND policy_name = ?`,
    ),
    // The clock is SQLite's: attachment order only, never shown.
    attach: db.prepare<[string, string, string, string]>(
      `INSERT OR IGNORE INTO attached_policies (account_id, holder_kind, holder_name, policy_arn, attached_at)
       VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(attached_at), 0) + 1 FROM attached_policies))`,
    ),
    detach: db.prepare<[string, string, string, string]>(
      `DELETE FROM attached_policies WHERE ${holder} AND policy_arn = ?`,
    ),
    listInline: db.prepare<[string, string, string], { policy_name: string; document: string }>(
      `SELECT policy_name, document FROM inline_policies WHERE ${holder} ORDER BY policy_name`,
    ),
    listAttached: db.prepare<[string, string, string], { policy_arn: string }>(
      `SELECT policy_arn FROM attached_policies WHERE ${holder} ORDER BY attached_at`,
    ),
  };
}

/** The accounts and policy holders an embedded principals file names. */
export interface IamDirectory {
  readonly accountIds: readonly string[];
  readonly holders: readonly PolicyHolder[];
}

/**
 * Every account with a principal, user or policy, and every holder of a policy, read from the file
 * `db` (opened once by the store before, so its schema is current). The contract lists users
 * and policies per account and holder only: `cairn migrate --to-cluster` walks these through it.
 */
export function readIamDirectory(db: Database.Database): IamDirectory {
  const accountIds = db
    .prepare<[], string>(
      `SELECT account_id FROM principals UNION SELECT account_id FROM users
       UNION SELECT account_id FROM inline_policies UNION SELECT account_id FROM attached_policies ORDER BY 1`,
    )
    .pluck()
    .all();
  const holders = db
    .prepare<[], { account_id: string; holder_kind: "user" | "role"; holder_name: string }>(
      `SELECT account_id, holder_kind, holder_name FROM inline_policies
       UNION SELECT account_id, holder_kind, holder_name FROM attached_policies ORDER BY 1, 2, 3`,
    )
    .all()
    .map((row) => ({ accountId: row.account_id, kind: row.holder_kind, name: row.holder_name }));
  return { accountIds, holders };
}
