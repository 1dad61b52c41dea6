import { assertValidBucketName } from "../objects/index.js";
import { openSchemaDatabase } from "../../lib/sqlite-database.js";
import { assertAccountId, type BucketOwnerStore } from "./bucket-owner-store.js";

const SCHEMA_VERSION = 1;
// The primary key is what makes a claim atomic: of two INSERTs for one bucket, SQLite keeps one.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS bucket_owners (
    bucket     TEXT PRIMARY KEY,
    account_id TEXT NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS bucket_owners_by_account ON bucket_owners (account_id, bucket);
`;

/**
 * Opens (creating) the embedded bucket-owner store, `<data-dir>/bucket-owners.db`. Several
 * connections, in this process or others, may share the file: a claim is one INSERT that SQLite
 * serialises, so the first one committed wins everywhere.
 *
 * @example const owners = openSqliteBucketOwnerStore(join(dataDir, "bucket-owners.db"));
 */
export function openSqliteBucketOwnerStore(path: string): BucketOwnerStore {
  // An acknowledged claim decides who may read a bucket: it must survive a power cut.
  const db = openSchemaDatabase(path, { schema: SCHEMA, schemaVersion: SCHEMA_VERSION, synchronous: "FULL" });
  const insert = db.prepare<[string, string]>(
    "INSERT INTO bucket_owners (bucket, account_id) VALUES (?, ?) ON CONFLICT (bucket) DO NOTHING",
  );
  const owner = db.prepare<[string], { account_id: string }>("SELECT account_id FROM bucket_owners WHERE bucket = ?");
  const owned = db.prepare<[string], { bucket: string }>(
    "SELECT bucket FROM bucket_owners WHERE account_id = ? ORDER BY bucket",
  );
  let closed = false;
  const open = (): void => {
    if (closed) throw new Error("The bucket-owner store is closed.");
  };

  // better-sqlite3 is synchronous: each method does its work at once and hands back a settled promise.
  return {
    async ownerOf(bucket) {
      open();
      return owner.get(bucket)?.account_id;
    },
    async claim(bucket, accountId) {
      open();
      assertValidBucketName(bucket);
      assertAccountId(accountId);
      insert.run(bucket, accountId);
      // Owners never change, so the row read now is the one that won, whoever inserted it.
      return owner.get(bucket)!.account_id;
    },
    async list(accountId) {
      open();
      return owned.all(accountId).map((row) => row.bucket);
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
