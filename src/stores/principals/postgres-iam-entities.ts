import { safeInteger, type Queryable } from "../postgres/index.js";
import {
  PrincipalExistsError,
  type HolderPolicies,
  type IamEntityMethods,
  type IamUser,
  type PolicyHolder,
} from "./principal.js";

/**
 * Users and identity-based policies in PostgreSQL (the principals component's first migration).
 * Names compare as IAM compares them, without case: the `*_key` columns fold ASCII letters only
 * (`lower` under the "C" collation), as SQLite's NOCASE does, so "ADMIN" and "admin" are one key
 * and a unique constraint, not a read before the write, decides between two nodes creating both.
 */
export const IAM_ENTITIES_TABLES = `
  CREATE TABLE cairn_iam_users (
    account_id    TEXT COLLATE "C" NOT NULL,
    user_name     TEXT COLLATE "C" NOT NULL,
    user_key      TEXT COLLATE "C" GENERATED ALWAYS AS (lower(user_name)) STORED,
    user_id       TEXT NOT NULL,
    path          TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (account_id, user_key)
  );
  CREATE TABLE cairn_iam_inline_policies (
    account_id  TEXT COLLATE "C" NOT NULL,
    holder_kind TEXT NOT NULL CHECK (holder_kind IN ('user', 'role')),
    holder_name TEXT COLLATE "C" NOT NULL,
    holder_key  TEXT COLLATE "C" GENERATED ALWAYS AS (lower(holder_name)) STORED,
    policy_name TEXT COLLATE "C" NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (account_id, holder_kind, holder_key, policy_name)
  );
  CREATE TABLE cairn_iam_attached_policies (
    account_id  TEXT COLLATE "C" NOT NULL,
    holder_kind TEXT NOT NULL CHECK (holder_kind IN ('user', 'role')),
    holder_name TEXT COLLATE "C" NOT NULL,
    holder_key  TEXT COLLATE "C" GENERATED ALWAYS AS (lower(holder_name)) STORED,
    policy_arn  TEXT COLLATE "C" NOT NULL,
    -- Attachment order only, never shown; the sequence is shared by every node.
    attached_order BIGINT GENERATED ALWAYS AS IDENTITY,
    PRIMARY KEY (account_id, holder_kind, holder_key, policy_arn)
  );`;

/** The user entry of an IAMUser key unless the account has one of that name ($1 account, $2 name, $3 id, $4 path, $5 created). */
export const ENSURE_USER = `
  INSERT INTO cairn_iam_users (account_id, user_name, user_id, path, created_at_ms) VALUES ($1, $2, $3, $4, $5)
  ON CONFLICT (account_id, user_key) DO NOTHING RETURNING 1 AS created`;

const HOLDER = 'account_id = $1 AND holder_kind = $2 AND holder_key = lower($3::text COLLATE "C")';

interface UserRow {
  account_id: string;
  user_name: string;
  user_id: string;
  path: string;
  created_at_ms: string;
}

/**
 * The IAM entity methods over `db`; `assertOpen` throws once the store is closed (as `db.query`
 * then does). PostgreSQL text cannot hold NUL: a name with one is refused on write and matches
 * nothing on read (nothing stored has one).
 */
export function postgresIamEntities(db: Queryable, assertOpen: () => void): IamEntityMethods {
  /** What a lookup of a name holding NUL finds, once the store is known to be open. */
  const nothing = <T>(empty: T): T => {
    assertOpen();
    return empty;
  };
  return { ...userMethods(db, nothing), ...policyMethods(db, nothing) };
}

type Nothing = <T>(empty: T) => T;

function userMethods(db: Queryable, nothing: Nothing): Omit<IamEntityMethods, keyof PolicyMethods> {
  return {
    async createUser(user) {
      refuseNul(user.accountId, user.userName, user.userId, user.path);
      const rows = await db.query(ENSURE_USER, [
        user.accountId,
        user.userName,
        user.userId,
        user.path,
        user.createdAtMs,
      ]);
      if (rows.length === 0) throw new PrincipalExistsError(`User with name ${user.userName} already exists.`);
    },
    async findUser(accountId, userName) {
      if (hasNul(accountId, userName)) return nothing(undefined);
      const [row] = await db.query<UserRow>(
        `SELECT * FROM cairn_iam_users WHERE account_id = $1 AND user_key = lower($2::text COLLATE "C")`,
        [accountId, userName],
      );
      return row === undefined ? undefined : userOf(row);
    },
    async listUsers(accountId) {
      if (hasNul(accountId)) return nothing([]);
      const rows = await db.query<UserRow>("SELECT * FROM cairn_iam_users WHERE account_id = $1 ORDER BY user_key", [
        accountId,
      ]);
      return rows.map(userOf);
    },
    async deleteUser(accountId, userName) {
      if (hasNul(accountId, userName)) return nothing(false);
      const rows = await db.query(
        `DELETE FROM cairn_iam_users WHERE account_id = $1 AND user_key = lower($2::text COLLATE "C") RETURNING 1`,
        [accountId, userName],
      );
      return rows.length > 0;
    },
  };
}

type PolicyMethods = Pick<
  IamEntityMethods,
  "putInlinePolicy" | "deleteInlinePolicy" | "attachManagedPolicy" | "detachManagedPolicy" | "policiesOf"
>;

function policyMethods(db: Queryable, nothing: Nothing): PolicyMethods {
  return {
    async putInlinePolicy(holder, name, document) {
      refuseNul(...holderParams(holder), name, document);
      await db.query(
        `INSERT INTO cairn_iam_inline_policies (account_id, holder_kind, holder_name, policy_name, document)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (account_id, holder_kind, holder_key, policy_name) DO UPDATE SET document = excluded.document`,
        [...holderParams(holder), name, document],
      );
    },
    async deleteInlinePolicy(holder, name) {
      if (hasNul(...holderParams(holder), name)) return nothing(false);
      const rows = await db.query(
        `DELETE FROM cairn_iam_inline_policies WHERE ${HOLDER} AND policy_name = $4 RETURNING 1`,
        [...holderParams(holder), name],
      );
      return rows.length > 0;
    },
    async attachManagedPolicy(holder, arn) {
      refuseNul(...holderParams(holder), arn);
      await db.query(
        `INSERT INTO cairn_iam_attached_policies (account_id, holder_kind, holder_name, policy_arn)
         VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, holder_kind, holder_key, policy_arn) DO NOTHING`,
        [...holderParams(holder), arn],
      );
    },
    async detachManagedPolicy(holder, arn) {
      if (hasNul(...holderParams(holder), arn)) return nothing(false);
      const rows = await db.query(
        `DELETE FROM cairn_iam_attached_policies WHERE ${HOLDER} AND policy_arn = $4 RETURNING 1`,
        [...holderParams(holder), arn],
      );
      return rows.length > 0;
    },
    async policiesOf(holder): Promise<HolderPolicies> {
      if (hasNul(...holderParams(holder))) return nothing({ inline: [], managedArns: [] });
      const params = holderParams(holder);
      const inline = await db.query<{ policy_name: string; document: string }>(
        `SELECT policy_name, document FROM cairn_iam_inline_policies WHERE ${HOLDER} ORDER BY policy_name`,
        params,
      );
      const attached = await db.query<{ policy_arn: string }>(
        `SELECT policy_arn FROM cairn_iam_attached_policies WHERE ${HOLDER} ORDER BY attached_order`,
        params,
      );
      return {
        inline: inline.map((row) => ({ name: row.policy_name, document: row.document })),
        managedArns: attached.map((row) => row.policy_arn),
      };
    },
  };
}

function holderParams(holder: PolicyHolder): [string, string, string] {
  return [holder.accountId, holder.kind, holder.name];
}

function userOf(row: UserRow): IamUser {
  return {
    accountId: row.account_id,
    userName: row.user_name,
    userId: row.user_id,
    path: row.path,
    createdAtMs: safeInteger(row.created_at_ms, "a user's creation time"),
  };
}

/** Whether any value holds NUL, which PostgreSQL text cannot store: no stored key can equal it. */
export function hasNul(...values: readonly string[]): boolean {
  return values.some((value) => value.includes("\u0000"));
}

/** Refuses to store a value PostgreSQL text cannot hold, rather than alter an identity to fit. */
export function refuseNul(...values: readonly string[]): void {
  if (hasNul(...values)) throw new RangeError("Names, ids and documents of principals cannot contain NUL.");
}
