import { nulFree } from "../../lib/nul-free-text.js";
import { randomUUID } from "node:crypto";
import { migrate, type Migration, type PostgresDatabase, type Queryable } from "../postgres/index.js";
import {
  TrailAlreadyExistsError,
  deletedTrailOf,
  type AccountTrailsCheck,
  type DeleteTrailOptions,
  type DeletedTrail,
  type TrailConfig,
  type TrailDeliveryStatus,
  type TrailStore,
} from "./trail.js";
import { changeListeners } from "./change-listeners.js";

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "trails and their delivery status",
    // COLLATE "C": trails list by account then name in byte order, as the embedded store does,
    // whatever the database's locale. Configurations are JSON text (TrailConfig grows members
    // without a migration); the key columns beside them are what lookups and constraints use.
    // `cairn_trail_accounts` holds one row per account that ever created a trail: the row that
    // creates and checked puts lock (SELECT … FOR UPDATE) so a quota check and its insert are atomic.
    // Status rows reference their trail, so a delete takes them along and a status write racing a
    // delete either lands before it (and goes with it) or fails the reference (and is ignored).
    sql: `CREATE TABLE cairn_trail_accounts (
            account_id TEXT COLLATE "C" PRIMARY KEY
          );
          CREATE TABLE cairn_trails (
            account_id  TEXT COLLATE "C" NOT NULL,
            name        TEXT COLLATE "C" NOT NULL,
            home_region TEXT NOT NULL,
            trail_arn   TEXT NOT NULL UNIQUE,
            config_json TEXT NOT NULL,
            PRIMARY KEY (account_id, name)
          );
          CREATE TABLE cairn_trail_status (
            trail_arn TEXT PRIMARY KEY
                      REFERENCES cairn_trails (trail_arn) ON DELETE CASCADE ON UPDATE CASCADE,
            status    JSONB NOT NULL
          )`,
  },
  {
    version: 2,
    name: "deleted trails still to drain",
    // No reference to cairn_trails: the trail row is gone, and a trail of the same name (same ARN)
    // may be created while this one still waits for its drain.
    sql: `CREATE TABLE cairn_trail_deleted (
            trail_arn         TEXT NOT NULL,
            deliver_until_seq BIGINT NOT NULL,
            deleted_json      TEXT NOT NULL,
            PRIMARY KEY (trail_arn, deliver_until_seq)
          )`,
  },
];

const UNIQUE_VIOLATION = "23505";
const FOREIGN_KEY_VIOLATION = "23503";

/**
 * Every write of a configuration notifies the channel in its own statement or transaction, so the
 * other nodes hear of it when it commits and never of one that rolled back. The payload is the
 * writing handle's id: a handle has already told its own listeners.
 */
const CHANGES_CHANNEL = "cairn_trails";
const UPSERT = `
  WITH written AS (
    INSERT INTO cairn_trails (account_id, name, home_region, trail_arn, config_json) VALUES ($1, $2, $3, $4, $5)
    ON CONFLICT (account_id, name) DO UPDATE SET
      home_region = excluded.home_region, trail_arn = excluded.trail_arn, config_json = excluded.config_json
    RETURNING 1)
  SELECT pg_notify('${CHANGES_CHANNEL}', $6) FROM written`;
const INSERT = `
  WITH written AS (
    INSERT INTO cairn_trails (account_id, name, home_region, trail_arn, config_json) VALUES ($1, $2, $3, $4, $5)
    RETURNING 1)
  SELECT pg_notify('${CHANGES_CHANNEL}', $6) FROM written`;
const DELETE = `
  WITH removed AS (DELETE FROM cairn_trails WHERE account_id = $1 AND name = $2 RETURNING config_json)
  SELECT config_json, pg_notify('${CHANGES_CHANNEL}', $3) FROM removed`;
const KEEP_DELETED = `
  INSERT INTO cairn_trail_deleted (trail_arn, deliver_until_seq, deleted_json) VALUES ($1, $2, $3)
  ON CONFLICT (trail_arn, deliver_until_seq) DO UPDATE SET deleted_json = excluded.deleted_json`;
/**
 * The merge in one statement: $2 holds the members to set, $3 the names to clear. A trail that does
 * not exist gets no row: the reference fails (or the SELECT finds nothing) and the update is ignored.
 */
const MERGE_STATUS = `
  INSERT INTO cairn_trail_status (trail_arn, status)
  SELECT $1, $2::jsonb - $3::text[] WHERE EXISTS (SELECT 1 FROM cairn_trails WHERE trail_arn = $1)
  ON CONFLICT (trail_arn) DO UPDATE SET status = (cairn_trail_status.status || $2::jsonb) - $3::text[]`;

/** The PostgreSQL store can be closed; closing leaves the database to its owner. */
export interface PostgresTrailStore extends TrailStore {
  close(): Promise<void>;
}

export interface PostgresTrailStoreOptions {
  /** Where an onChange listener's exception goes: the write itself has already committed. */
  readonly onListenerError?: (error: unknown) => void;
}

/**
 * Opens (migrating) the cluster trail store on `db`: every node's trails in one table. A create and
 * a checked put lock the account's row, so the name test, the quota check and the insert are one
 * atomic step across nodes; the primary key (account, name) is the last word on uniqueness.
 * onChange listeners hear this handle's own writes once they committed (as the embedded store), and
 * other handles' and nodes' writes through LISTEN/NOTIFY, eventually; after a lost listening
 * connection came back they are called once, as changes may have been missed meanwhile.
 *
 * @example const trails = await openPostgresTrailStore(db);
 */
export async function openPostgresTrailStore(
  db: PostgresDatabase,
  options: PostgresTrailStoreOptions = {},
): Promise<PostgresTrailStore> {
  await migrate(db, "trails", MIGRATIONS);
  const listeners = changeListeners(
    options.onListenerError ??
      ((error: unknown) => process.stderr.write(`Cairn: trail change listener failed: ${String(error)}\n`)),
  );
  const self = randomUUID();
  const subscription = await db.listen(CHANGES_CHANNEL, (writer) => {
    if (writer !== self) listeners.notify();
  });
  let closed = false;
  const serial = inOrder();
  /** Every call runs in turn: a read issued before a write never sees it, as with the embedded store. */
  const run = <T>(task: () => Promise<T>): Promise<T> => {
    if (closed) return Promise.reject(new Error("The trail store is closed."));
    return serial(task);
  };
  const write = async (trail: TrailConfig, mustBeNew: boolean, check?: AccountTrailsCheck) => {
    refuseUnstorable(trail);
    await run(() => writeTrail(db, { trail, mustBeNew, check, writer: self }));
    listeners.notify();
  };

  return {
    list: (accountId) =>
      accountId !== undefined && !storable(accountId) ? Promise.resolve([]) : run(() => listTrails(db, accountId)),
    get: (accountId, name) =>
      storable(accountId, name) ? run(() => getTrail(db, accountId, name)) : Promise.resolve(undefined),
    create: (trail, check) => write(trail, true, check),
    put: (trail, check) => write(trail, false, check),
    async delete(accountId, name, options = {}) {
      if (!storable(accountId, name)) return;
      if (await run(() => deleteTrail(db, { accountId, name, writer: self, ...options }))) listeners.notify();
    },
    deletedTrails: () => run(() => listDeleted(db)),
    async forgetDeleted(trailArn, deliverUntilSeq) {
      if (!storable(trailArn)) return;
      await run(() =>
        db.query("DELETE FROM cairn_trail_deleted WHERE trail_arn = $1 AND deliver_until_seq = $2", [
          trailArn,
          deliverUntilSeq,
        ]),
      );
    },
    status: (trailArn) => (storable(trailArn) ? run(() => readStatus(db, trailArn)) : Promise.resolve({})),
    async updateStatus(trailArn, update) {
      if (storable(trailArn)) await run(() => mergeStatus(db, trailArn, update));
    },
    onChange(listener) {
      listeners.add(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      await subscription.close();
    },
  };
}

/** Runs tasks one at a time in call order; a task that fails does not stop the next. */
function inOrder() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const result = tail.then(task);
    tail = result.catch(() => undefined);
    return result;
  };
}

interface TrailWrite {
  readonly trail: TrailConfig;
  /** A create: a taken name is TrailAlreadyExistsError. */
  readonly mustBeNew: boolean;
  readonly check: AccountTrailsCheck | undefined;
  /** The writing handle's id, the notification's payload. */
  readonly writer: string;
}

/**
 * A create or checked put is one transaction under the account's lock; a plain put is one statement.
 * The primary key still decides a name should a writer skip the lock.
 */
async function writeTrail(db: PostgresDatabase, { trail, mustBeNew, check, writer }: TrailWrite): Promise<void> {
  const row = [...trailRow(trail), writer];
  if (!mustBeNew && check === undefined) {
    await db.query(UPSERT, row);
    return;
  }
  try {
    await db.transaction(async (tx) => {
      await lockAccount(tx, trail.accountId);
      if (mustBeNew && (await getTrail(tx, trail.accountId, trail.name)) !== undefined)
        throw new TrailAlreadyExistsError(trail.accountId, trail.name);
      check?.(await listTrails(tx, trail.accountId));
      await tx.query(mustBeNew ? INSERT : UPSERT, row);
    });
  } catch (error) {
    if (mustBeNew && sqlState(error) === UNIQUE_VIOLATION)
      throw new TrailAlreadyExistsError(trail.accountId, trail.name);
    throw error;
  }
}

/**
 * Removes the trail and keeps what it still has to deliver in one transaction, so a drain is never
 * lost between the two (and the notification goes out only when both committed). True when a trail was removed.
 */
async function deleteTrail(
  db: PostgresDatabase,
  { accountId, name, writer, journalHeadSeq }: { accountId: string; name: string; writer: string } & DeleteTrailOptions,
): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<{ config_json: string }>(DELETE, [accountId, name, writer]);
    if (row === undefined) return false;
    const trail = JSON.parse(row.config_json) as TrailConfig;
    const deleted = journalHeadSeq === undefined ? undefined : deletedTrailOf(trail, journalHeadSeq);
    if (deleted !== undefined)
      await tx.query(KEEP_DELETED, [trail.trailArn, deleted.deliverUntilSeq, JSON.stringify(deleted)]);
    return true;
  });
}

async function listDeleted(db: Queryable): Promise<DeletedTrail[]> {
  const rows = await db.query<{ deleted_json: string }>(
    'SELECT deleted_json FROM cairn_trail_deleted ORDER BY trail_arn COLLATE "C", deliver_until_seq',
  );
  return rows.map((row) => JSON.parse(row.deleted_json) as DeletedTrail);
}

async function readStatus(db: Queryable, trailArn: string): Promise<TrailDeliveryStatus> {
  const [row] = await db.query<{ status: TrailDeliveryStatus }>(
    "SELECT status FROM cairn_trail_status WHERE trail_arn = $1",
    [trailArn],
  );
  return row?.status ?? {};
}

/** A status update of a trail that does not exist (or was deleted meanwhile) is ignored. */
async function mergeStatus(db: Queryable, trailArn: string, update: Partial<TrailDeliveryStatus>): Promise<void> {
  const { set, clear } = statusChange(update);
  try {
    await db.query(MERGE_STATUS, [trailArn, JSON.stringify(set), clear]);
  } catch (error) {
    if (sqlState(error) !== FOREIGN_KEY_VIOLATION) throw error;
  }
}

/** Creates the account's lock row on first use, then locks it until the transaction ends. */
async function lockAccount(tx: Queryable, accountId: string): Promise<void> {
  await tx.query("INSERT INTO cairn_trail_accounts (account_id) VALUES ($1) ON CONFLICT (account_id) DO NOTHING", [
    accountId,
  ]);
  await tx.query("SELECT 1 FROM cairn_trail_accounts WHERE account_id = $1 FOR UPDATE", [accountId]);
}

async function listTrails(db: Queryable, accountId?: string): Promise<TrailConfig[]> {
  const rows = await db.query<{ config_json: string }>(
    "SELECT config_json FROM cairn_trails WHERE ($1::text IS NULL OR account_id = $1) ORDER BY account_id, name",
    [accountId ?? null],
  );
  return rows.map((row) => JSON.parse(row.config_json) as TrailConfig);
}

async function getTrail(db: Queryable, accountId: string, name: string): Promise<TrailConfig | undefined> {
  const [row] = await db.query<{ config_json: string }>(
    "SELECT config_json FROM cairn_trails WHERE account_id = $1 AND name = $2",
    [accountId, name],
  );
  return row === undefined ? undefined : (JSON.parse(row.config_json) as TrailConfig);
}

/**
 * PostgreSQL text cannot hold NUL. Trail names are checked before they reach the store, so a key
 * with NUL names no stored trail: reads find nothing, deletes and status updates change nothing.
 */
function storable(...keys: string[]): boolean {
  return keys.every((key) => !key.includes("\u0000"));
}

function refuseUnstorable(trail: TrailConfig): void {
  if (!storable(trail.accountId, trail.name, trail.homeRegion, trail.trailArn))
    throw new RangeError("A trail's account, name, region or ARN cannot contain NUL.");
}

/** JSON.stringify escapes NUL as `\u0000`, so any configuration fits PostgreSQL text. */
function trailRow(trail: TrailConfig): unknown[] {
  return [trail.accountId, trail.name, trail.homeRegion, trail.trailArn, JSON.stringify(trail)];
}

/**
 * The members to set and the names to clear (present with `undefined`). JSONB cannot hold NUL,
 * which an error message may carry: it becomes U+FFFD.
 */
function statusChange(update: Partial<TrailDeliveryStatus>): { set: Record<string, unknown>; clear: string[] } {
  const set: Record<string, unknown> = {};
  const clear: string[] = [];
  for (const [key, value] of Object.entries(update)) {
    if (value === undefined) clear.push(key);
    else set[key] = typeof value === "string" ? nulFree(value) : value;
  }
  return { set, clear };
}

function sqlState(error: unknown): unknown {
  return typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
}
