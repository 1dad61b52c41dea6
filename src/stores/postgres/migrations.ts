import { StoreUnavailableError } from "../../lib/transient-error.js";
import type { PostgresDatabase, Queryable } from "./postgres-database.js";

/** One step of a component's schema. Versions start at 1 and grow by one; a released step never changes. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  /** Statements without parameters; run in one transaction with the record of the step. */
  readonly sql: string;
}

/**
 * Every node runs the migrations on start, possibly several at once: one advisory lock (any 64-bit
 * number all Cairn nodes agree on; these are the bytes of "cairnmig") serialises them, and the
 * versions table says what is done, so each step runs exactly once.
 */
const MIGRATION_LOCK = 0x636169726e6d6967n;
/** Waiting for another node's migrations, and running a step, may take longer than a statement of the stores. */
const MIGRATION_TIMEOUT = "10min";

const VERSIONS_TABLE = `
  CREATE TABLE IF NOT EXISTS cairn_schema_versions (
    component  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
  )`;

/**
 * Brings `component`'s schema up to its last migration and resolves to the versions this call
 * applied (none when another node did them first). Each step is one transaction: a step that fails
 * leaves no trace and rejects. A database whose schema is newer than `migrations` is refused: this
 * node would not know the tables it finds.
 *
 * @example await migrate(db, "leases", LEASE_MIGRATIONS);
 */
export async function migrate(
  db: PostgresDatabase,
  component: string,
  migrations: readonly Migration[],
): Promise<number[]> {
  assertSequence(component, migrations);
  return db.session(async (session) => {
    await session.query(`SET statement_timeout = '${MIGRATION_TIMEOUT}'`);
    await session.query("SELECT pg_advisory_lock($1)", [MIGRATION_LOCK.toString()]);
    try {
      await session.query(VERSIONS_TABLE);
      const current = await currentVersion(session, component);
      const latest = migrations.at(-1)?.version ?? 0;
      if (current > latest)
        throw new Error(
          `The database's ${component} schema is at version ${current}, newer than this Cairn knows (${latest}): upgrade this node.`,
        );
      const applied: number[] = [];
      for (const step of migrations.filter((m) => m.version > current)) {
        await applyStep(session, component, step);
        applied.push(step.version);
      }
      return applied;
    } finally {
      // The session's connection is closed afterwards, which would release the lock too; this is prompt.
      await session.query("SELECT pg_advisory_unlock($1)", [MIGRATION_LOCK.toString()]).catch(() => undefined);
    }
  });
}

async function currentVersion(session: Queryable, component: string): Promise<number> {
  const [row] = await session.query<{ version: number | null }>(
    "SELECT max(version) AS version FROM cairn_schema_versions WHERE component = $1",
    [component],
  );
  return row?.version ?? 0;
}

async function applyStep(session: Queryable, component: string, step: Migration): Promise<void> {
  await session.query("BEGIN");
  try {
    await session.query(step.sql);
    await session.query("INSERT INTO cairn_schema_versions (component, version, name) VALUES ($1, $2, $3)", [
      component,
      step.version,
      step.name,
    ]);
    await session.query("COMMIT");
  } catch (error) {
    await session.query("ROLLBACK").catch(() => undefined);
    // A server that went away is not a broken step: the caller retries the whole run.
    if (error instanceof StoreUnavailableError) throw error;
    throw new Error(`Migration ${component} ${step.version} (${step.name}) failed; nothing of it was applied.`, {
      cause: error,
    });
  }
}

function assertSequence(component: string, migrations: readonly Migration[]): void {
  migrations.forEach((step, index) => {
    if (step.version !== index + 1)
      throw new Error(`Migrations of ${component} must be numbered 1, 2, 3…; found ${step.version} at ${index + 1}.`);
  });
}
