import { migrate, safeInteger, type Migration, type PostgresDatabase } from "../postgres/index.js";
import type { LeaseGrant, LeaseStore } from "./lease.js";

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "leases",
    sql: `CREATE TABLE cairn_leases (
            name          TEXT PRIMARY KEY,
            holder        TEXT NOT NULL,
            fencing_token BIGINT NOT NULL,
            expires_at    TIMESTAMPTZ NOT NULL
          )`,
  },
];

/**
 * One statement decides a grant, so two nodes cannot both win: the row lock of ON CONFLICT
 * serialises them and the second sees the first's row. Time is the database's (clock_timestamp()),
 * never a node's, so nodes with skewed clocks agree on when a lease lapsed. A new holder, or the same
 * holder after its lease lapsed, gets the next token; the row is never deleted, so tokens only grow.
 */
const ACQUIRE = `
  INSERT INTO cairn_leases AS l (name, holder, fencing_token, expires_at)
  VALUES ($1, $2, 1, clock_timestamp() + $3 * interval '1 millisecond')
  ON CONFLICT (name) DO UPDATE SET
    holder = excluded.holder,
    fencing_token = CASE WHEN l.holder = excluded.holder AND l.expires_at > clock_timestamp()
                         THEN l.fencing_token ELSE l.fencing_token + 1 END,
    expires_at = excluded.expires_at
  WHERE l.holder = excluded.holder OR l.expires_at <= clock_timestamp()
  RETURNING holder, fencing_token, floor(extract(epoch FROM expires_at) * 1000)::float8 AS expires_at_ms`;

const RENEW = `
  UPDATE cairn_leases SET expires_at = clock_timestamp() + $4 * interval '1 millisecond'
  WHERE name = $1 AND holder = $2 AND fencing_token = $3 AND expires_at > clock_timestamp()
  RETURNING holder, fencing_token, floor(extract(epoch FROM expires_at) * 1000)::float8 AS expires_at_ms`;

/** Lapsed at once, but kept: the next grant's token must be greater than this one's. */
const RELEASE = `UPDATE cairn_leases SET expires_at = '-infinity' WHERE name = $1 AND fencing_token = $2`;

interface GrantRow {
  holder: string;
  fencing_token: string;
  expires_at_ms: number;
}

/**
 * Opens the cluster lease store on `db` (migrating its table). `expiresAtMs` of a grant is in the
 * database's clock: a holder times its renewals from when it asked, with its own timer, and never
 * compares `expiresAtMs` with its own clock. Closing the store leaves `db` open (its owner closes it).
 *
 * @example const leases = await openPostgresLeaseStore(db);
 */
export async function openPostgresLeaseStore(db: PostgresDatabase): Promise<LeaseStore> {
  await migrate(db, "leases", MIGRATIONS);
  let closed = false;
  const query = async (text: string, values: unknown[]): Promise<GrantRow[]> => {
    if (closed) throw new Error("The lease store is closed.");
    return db.query<GrantRow>(text, values);
  };
  const grantOf = (name: string, row: GrantRow | undefined): LeaseGrant | undefined =>
    row && {
      name,
      holder: row.holder,
      fencingToken: safeInteger(row.fencing_token, "a fencing token"),
      expiresAtMs: row.expires_at_ms,
    };
  return {
    async acquire(name, holder, ttlMs) {
      assertTtl(ttlMs);
      return grantOf(name, (await query(ACQUIRE, [name, holder, ttlMs]))[0]);
    },
    async renew(grant, ttlMs) {
      assertTtl(ttlMs);
      return grantOf(grant.name, (await query(RENEW, [grant.name, grant.holder, grant.fencingToken, ttlMs]))[0]);
    },
    async release(grant) {
      await query(RELEASE, [grant.name, grant.fencingToken]);
    },
    async close() {
      closed = true;
    },
  };
}

/** Any safe integer of ms added to now stays inside PostgreSQL's timestamp range (to 294276 AD). */
function assertTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1)
    throw new RangeError(`A lease TTL must be a whole number of ms ≥ 1, not ${ttlMs}.`);
}
