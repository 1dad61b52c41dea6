import type Database from "better-sqlite3";
import { openSchemaDatabase } from "../../lib/sqlite-database.js";
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

/** The SQLite store can be closed; the TrailStore contract itself has no lifecycle. */
export interface SqliteTrailStore extends TrailStore {
  close(): void;
}

export interface SqliteTrailStoreOptions {
  /** Where an onChange listener's exception goes: the write itself has already committed. */
  readonly onListenerError?: (error: unknown) => void;
}

// `user_version` numbers the schema so a later release can migrate a data dir in place.
const SCHEMA_VERSION = 1;
// Configurations are stored as JSON so TrailConfig can grow members without a migration; the key
// columns beside them are what lookups use.
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS trails (
    account_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    home_region TEXT NOT NULL,
    trail_arn   TEXT NOT NULL UNIQUE,
    config_json TEXT NOT NULL,
    PRIMARY KEY (account_id, name)
  ) STRICT;
  CREATE TABLE IF NOT EXISTS trail_status (
    trail_arn   TEXT PRIMARY KEY,
    status_json TEXT NOT NULL
  ) STRICT;
  -- Deleted trails still to drain (DeletedTrail). IF NOT EXISTS: added to version 1 data dirs as is.
  CREATE TABLE IF NOT EXISTS deleted_trails (
    trail_arn         TEXT NOT NULL,
    deliver_until_seq INTEGER NOT NULL,
    deleted_json      TEXT NOT NULL,
    PRIMARY KEY (trail_arn, deliver_until_seq)
  ) STRICT;
`;

interface ConfigRow {
  config_json: string;
}

/**
 * Opens (creating if needed) the control-plane database, `<data-dir>/control-plane.db`: trail
 * configurations keyed by (account, name) and one delivery-status row per trail ARN.
 *
 * @example const trails = openSqliteTrailStore(join(dataDir, "control-plane.db"));
 */
export function openSqliteTrailStore(path: string, options: SqliteTrailStoreOptions = {}): SqliteTrailStore {
  // Trail changes are rare and an acknowledged CreateTrail must survive a power cut.
  const db = openSchemaDatabase(path, { schema: SCHEMA, schemaVersion: SCHEMA_VERSION, synchronous: "FULL" });
  const statements = prepareStatements(db);
  const { listAll, listAccount, getOne, upsert, deleteTrail, deleteStatus, getStatus, putStatus } = statements;
  const listeners = changeListeners(
    options.onListenerError ??
      ((error: unknown) => process.stderr.write(`Cairn: trail change listener failed: ${String(error)}\n`)),
  );

  // One process, one connection, synchronous transactions: nothing interleaves between the check and the write.
  const checkedWrite = db.transaction((trail: TrailConfig, mustBeNew: boolean, check?: AccountTrailsCheck) => {
    if (mustBeNew && getOne.get(trail.accountId, trail.name) !== undefined)
      throw new TrailAlreadyExistsError(trail.accountId, trail.name);
    check?.(listAccount.all(trail.accountId).map((row) => JSON.parse(row.config_json) as TrailConfig));
    upsert.run(trail.accountId, trail.name, trail.homeRegion, trail.trailArn, JSON.stringify(trail));
  });
  const removeTrail = db.transaction((accountId: string, name: string, options: DeleteTrailOptions) => {
    const row = getOne.get(accountId, name);
    if (row === undefined) return false;
    const existing = JSON.parse(row.config_json) as TrailConfig;
    deleteTrail.run(accountId, name);
    deleteStatus.run(existing.trailArn);
    const deleted = options.journalHeadSeq === undefined ? undefined : deletedTrailOf(existing, options.journalHeadSeq);
    if (deleted !== undefined)
      statements.keepDeleted.run(existing.trailArn, deleted.deliverUntilSeq, JSON.stringify(deleted));
    return true;
  });
  const mergeStatus = db.transaction((trailArn: string, update: Partial<TrailDeliveryStatus>) => {
    const current = readStatus(trailArn) as Record<string, unknown>;
    // A member present with `undefined` clears it (e.g. latestDeliveryError after a success).
    for (const [key, value] of Object.entries(update)) {
      if (value === undefined) delete current[key];
      else current[key] = value;
    }
    putStatus.run(trailArn, JSON.stringify(current), trailArn);
  });
  function readStatus(trailArn: string): TrailDeliveryStatus {
    const row = getStatus.get(trailArn);
    return row === undefined ? {} : (JSON.parse(row.status_json) as TrailDeliveryStatus);
  }

  // better-sqlite3 is synchronous: each method does its work at once and hands back a settled promise.
  return {
    async list(accountId) {
      const rows = accountId === undefined ? listAll.all() : listAccount.all(accountId);
      return rows.map((row) => JSON.parse(row.config_json) as TrailConfig);
    },
    async get(accountId, name) {
      const row = getOne.get(accountId, name);
      return row === undefined ? undefined : (JSON.parse(row.config_json) as TrailConfig);
    },
    async create(trail, check) {
      checkedWrite(trail, true, check);
      listeners.notify();
    },
    async put(trail, check) {
      checkedWrite(trail, false, check);
      listeners.notify();
    },
    async delete(accountId, name, options = {}) {
      if (removeTrail(accountId, name, options)) listeners.notify();
    },
    async deletedTrails() {
      return statements.listDeleted.all().map((row) => JSON.parse(row.deleted_json) as DeletedTrail);
    },
    async forgetDeleted(trailArn, deliverUntilSeq) {
      statements.forgetDeleted.run(trailArn, deliverUntilSeq);
    },
    async status(trailArn) {
      return readStatus(trailArn);
    },
    async updateStatus(trailArn, update) {
      mergeStatus(trailArn, update);
    },
    onChange(listener) {
      listeners.add(listener);
    },
    close() {
      db.close();
    },
  };
}

/** Every statement the store runs, prepared once when it opens. */
function prepareStatements(db: Database.Database) {
  return {
    listAll: db.prepare<[], ConfigRow>("SELECT config_json FROM trails ORDER BY account_id, name"),
    listAccount: db.prepare<[string], ConfigRow>("SELECT config_json FROM trails WHERE account_id = ? ORDER BY name"),
    getOne: db.prepare<[string, string], ConfigRow>("SELECT config_json FROM trails WHERE account_id = ? AND name = ?"),
    upsert: db.prepare<[string, string, string, string, string]>(
      `INSERT INTO trails (account_id, name, home_region, trail_arn, config_json) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (account_id, name) DO UPDATE SET
       home_region = excluded.home_region, trail_arn = excluded.trail_arn, config_json = excluded.config_json`,
    ),
    keepDeleted: db.prepare<[string, number, string]>(
      `INSERT INTO deleted_trails (trail_arn, deliver_until_seq, deleted_json) VALUES (?, ?, ?)
     ON CONFLICT (trail_arn, deliver_until_seq) DO UPDATE SET deleted_json = excluded.deleted_json`,
    ),
    listDeleted: db.prepare<[], { deleted_json: string }>(
      "SELECT deleted_json FROM deleted_trails ORDER BY trail_arn, deliver_until_seq",
    ),
    forgetDeleted: db.prepare<[string, number]>(
      "DELETE FROM deleted_trails WHERE trail_arn = ? AND deliver_until_seq = ?",
    ),
    deleteTrail: db.prepare<[string, string]>("DELETE FROM trails WHERE account_id = ? AND name = ?"),
    deleteStatus: db.prepare<[string]>("DELETE FROM trail_status WHERE trail_arn = ?"),
    getStatus: db.prepare<[string], { status_json: string }>(
      "SELECT status_json FROM trail_status WHERE trail_arn = ?",
    ),
    // Only for an existing trail: a delivery finishing after DeleteTrail must not leave a row that a
    // re-created trail of the same ARN would inherit.
    putStatus: db.prepare<[string, string, string]>(
      `INSERT INTO trail_status (trail_arn, status_json) SELECT ?, ? WHERE EXISTS (SELECT 1 FROM trails WHERE trail_arn = ?)
     ON CONFLICT (trail_arn) DO UPDATE SET status_json = excluded.status_json`,
    ),
  };
}
