import { assertValidBucketName } from "../objects/index.js";
import { migrate, type Migration, type PostgresDatabase } from "../postgres/index.js";
import { assertAccountId, type BucketOwnerStore } from "./bucket-owner-store.js";

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "bucket owners",
    // The primary key is what makes a claim atomic: of two INSERTs for one bucket, one commits.
    sql: `CREATE TABLE cairn_bucket_owners (
            bucket     TEXT PRIMARY KEY,
            account_id TEXT NOT NULL
          );
          CREATE INDEX cairn_bucket_owners_by_account ON cairn_bucket_owners (account_id, bucket COLLATE "C")`,
  },
];

/**
 * Opens (migrating) the cluster bucket-owner store on `db`. A claim is INSERT … ON CONFLICT DO
 * NOTHING, then a read of the row: owners never change, so whichever node's INSERT committed first
 * is the owner every claim reads back. Closing the store leaves `db` open (its owner closes it).
 *
 * @example const owners = await openPostgresBucketOwnerStore(db);
 */
export async function openPostgresBucketOwnerStore(db: PostgresDatabase): Promise<BucketOwnerStore> {
  await migrate(db, "bucket-owners", MIGRATIONS);
  let closed = false;
  const open = (): void => {
    if (closed) throw new Error("The bucket-owner store is closed.");
  };
  const ownerOf = async (bucket: string): Promise<string | undefined> => {
    const [row] = await db.query<{ account_id: string }>(
      "SELECT account_id FROM cairn_bucket_owners WHERE bucket = $1",
      [bucket],
    );
    return row?.account_id;
  };
  return {
    async ownerOf(bucket) {
      open();
      return ownerOf(bucket);
    },
    async claim(bucket, accountId) {
      open();
      assertValidBucketName(bucket);
      assertAccountId(accountId);
      await db.query(
        "INSERT INTO cairn_bucket_owners (bucket, account_id) VALUES ($1, $2) ON CONFLICT (bucket) DO NOTHING",
        [bucket, accountId],
      );
      const owner = await ownerOf(bucket);
      if (owner === undefined) throw new Error(`The claim of bucket ${bucket} left no owner.`);
      return owner;
    },
    async list(accountId) {
      open();
      const rows = await db.query<{ bucket: string }>(
        `SELECT bucket FROM cairn_bucket_owners WHERE account_id = $1 ORDER BY bucket COLLATE "C"`,
        [accountId],
      );
      return rows.map((row) => row.bucket);
    },
    async close() {
      closed = true;
    },
  };
}
