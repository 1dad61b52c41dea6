/**
 * The cluster Lake catalog: the same tables as the SQLite catalog, in the nodes' shared PostgreSQL
 * (decision 0014). Every write the SQLite catalog makes in one transaction is one PostgreSQL
 * transaction here; the de-duplication keys are `bytea` under a primary key, so two nodes committing
 * the same key both succeed and the catalog holds it once. Closing the catalog leaves the pool to its
 * owner.
 */
import {
  migrate,
  safeInteger,
  type Migration,
  type PostgresDatabase,
  type Queryable,
} from "../../stores/postgres/index.js";
import {
  KEY_BYTES,
  type CatalogDocument,
  type CatalogFile,
  type CommittedFile,
  type DocumentTable,
  type EventDataStore,
  type ImportFailure,
  type LakeCatalog,
  type LakeFence,
  LakeFencedError,
} from "./lake-catalog.js";

// COLLATE "C": paths and ids are listed in byte order, as SQLite's BINARY collation lists them,
// whatever the database's locale. JSON stays text: jsonb cannot hold an escaped NUL (\u0000).
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "lake catalog",
    sql: `CREATE TABLE cairn_lake_stores (
            id TEXT COLLATE "C" PRIMARY KEY, account_id TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
            json TEXT NOT NULL
          );
          CREATE INDEX cairn_lake_stores_by_account ON cairn_lake_stores (account_id, id);
          CREATE TABLE cairn_lake_state (key TEXT PRIMARY KEY, value BIGINT NOT NULL);
          CREATE TABLE cairn_lake_files (
            path TEXT COLLATE "C" PRIMARY KEY, eds_id TEXT NOT NULL, rows BIGINT NOT NULL
          );
          CREATE INDEX cairn_lake_files_by_store ON cairn_lake_files (eds_id, path);
          CREATE TABLE cairn_lake_keys (eds_id TEXT NOT NULL, key BYTEA NOT NULL, PRIMARY KEY (eds_id, key));
          CREATE TABLE cairn_lake_documents (
            kind TEXT NOT NULL CHECK (kind IN ('queries', 'imports', 'channels')),
            id TEXT COLLATE "C" NOT NULL, account_id TEXT NOT NULL, json TEXT NOT NULL,
            PRIMARY KEY (kind, id)
          );
          CREATE INDEX cairn_lake_documents_by_account ON cairn_lake_documents (kind, account_id, id);
          CREATE TABLE cairn_lake_import_failures (
            import_id TEXT NOT NULL, seq BIGSERIAL NOT NULL, json TEXT NOT NULL, PRIMARY KEY (import_id, seq)
          )`,
  },
];

const DOCUMENT_TABLES: ReadonlySet<DocumentTable> = new Set(["queries", "imports", "channels"]);

/** A deadlock or serialization failure aborts only that attempt: the transaction is run again. */
const RETRIED_CODES = new Set(["40P01", "40001"]);
const ATTEMPTS = 5;

interface JsonRow {
  readonly json: string;
}

const parse = <T>(row: JsonRow | undefined): T | undefined => (row ? (JSON.parse(row.json) as T) : undefined);
const parseAll = <T>(rows: readonly JsonRow[]): T[] => rows.map((row) => JSON.parse(row.json) as T);

/**
 * PostgreSQL text cannot hold NUL (SQLite can). Replacing it would make two names one, so a name
 * holding NUL is refused where it would be stored, and names nothing where it is looked up.
 */
function stored(value: string, what: string): string {
  if (value.includes("\u0000")) throw new RangeError(`A Lake catalog ${what} cannot hold NUL.`);
  return value;
}

const holdsNul = (...values: ReadonlyArray<string | undefined>): boolean =>
  values.some((value) => value?.includes("\u0000") === true);

/** The keys of a commit, one row per (store, key), sorted so that concurrent commits lock keys in one order. */
function keyRows(files: readonly CommittedFile[]): { stores: string[]; keys: Buffer[] } {
  const rows = files.flatMap((file) =>
    file.keys.map((key) => {
      if (key.length !== KEY_BYTES) throw new Error(`A de-duplication key has ${key.length} bytes, not ${KEY_BYTES}.`);
      return { store: stored(file.edsId, "store id"), key };
    }),
  );
  rows.sort((a, b) => (a.store < b.store ? -1 : a.store > b.store ? 1 : Buffer.compare(a.key, b.key)));
  return { stores: rows.map((row) => row.store), keys: rows.map((row) => row.key) };
}

/** The files of a commit, the last of a repeated path winning (as SQLite's INSERT OR REPLACE in order), in path order. */
function fileRows(files: readonly CommittedFile[]): { paths: string[]; stores: string[]; rows: number[] } {
  const byPath = new Map(files.map((file) => [stored(file.path, "path"), file]));
  const paths = [...byPath.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return {
    paths,
    stores: paths.map((path) => stored(byPath.get(path)!.edsId, "store id")),
    rows: paths.map((path) => byPath.get(path)!.rows),
  };
}

/** The SQLSTATE of a failed statement, also when the database wrapped it (it reports class 40 as unavailable). */
function sqlState(error: unknown): string {
  for (let cause = error, depth = 0; typeof cause === "object" && cause !== null && depth < 3; depth++) {
    const { code } = cause as { code?: unknown };
    if (typeof code === "string") return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  return "";
}

/**
 * FOR SHARE: a node taking the lease over updates this row, so it waits until a fenced commit in
 * flight is done, and a commit that starts after the takeover sees the new token and is refused.
 */
const CHECK_FENCE = `SELECT 1 FROM cairn_leases
  WHERE name = $1 AND fencing_token = $2 AND expires_at > clock_timestamp() FOR SHARE`;

class PostgresLakeCatalog implements LakeCatalog {
  private closed = false;

  constructor(
    private readonly db: PostgresDatabase,
    private readonly fence?: LakeFence,
  ) {}

  /** First statement of every file-changing transaction of a fenced catalog (decision 0015). */
  private async checkFence(tx: Queryable): Promise<void> {
    if (this.fence === undefined) return;
    const grant = this.fence.current();
    if (grant === undefined) throw new LakeFencedError(undefined);
    const rows = await tx.query(CHECK_FENCE, [grant.name, grant.fencingToken]);
    if (rows.length === 0) throw new LakeFencedError(grant.fencingToken);
  }

  private async query<R extends object>(sql: string, values: readonly unknown[] = []): Promise<R[]> {
    this.assertOpen();
    return this.db.query<R>(sql, values);
  }

  /** One transaction, run again when PostgreSQL aborted it as a deadlock victim or a serialization failure. */
  private async transaction<T>(body: (tx: Queryable) => Promise<T>): Promise<T> {
    this.assertOpen();
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction(body);
      } catch (error) {
        if (attempt >= ATTEMPTS || !RETRIED_CODES.has(sqlState(error))) throw error;
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error("The Lake catalog is closed.");
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async putStore(store: EventDataStore): Promise<void> {
    const json = JSON.stringify(store);
    await this.query(
      `INSERT INTO cairn_lake_stores (id, account_id, region, name, json) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET account_id = EXCLUDED.account_id, region = EXCLUDED.region,
         name = EXCLUDED.name, json = EXCLUDED.json`,
      [
        stored(store.id, "store id"),
        stored(store.accountId, "account id"),
        stored(store.region, "region"),
        stored(store.name, "store name"),
        json,
      ],
    );
  }

  async store(id: string): Promise<EventDataStore | undefined> {
    if (holdsNul(id)) return undefined;
    const [row] = await this.query<JsonRow>("SELECT json FROM cairn_lake_stores WHERE id = $1", [id]);
    return parse<EventDataStore>(row);
  }

  async stores(accountId?: string): Promise<EventDataStore[]> {
    if (holdsNul(accountId)) return [];
    const rows = await this.query<JsonRow>(
      "SELECT json FROM cairn_lake_stores WHERE $1::text IS NULL OR account_id = $1 ORDER BY id",
      [accountId ?? null],
    );
    return parseAll<EventDataStore>(rows);
  }

  async deleteStore(id: string): Promise<void> {
    if (holdsNul(id)) return;
    await this.transaction(async (tx) => {
      await this.checkFence(tx);
      await tx.query("DELETE FROM cairn_lake_stores WHERE id = $1", [id]);
      await tx.query("DELETE FROM cairn_lake_files WHERE eds_id = $1", [id]);
      await tx.query("DELETE FROM cairn_lake_keys WHERE eds_id = $1", [id]);
    });
  }

  async cursor(): Promise<number> {
    const [row] = await this.query<{ value: string }>("SELECT value FROM cairn_lake_state WHERE key = 'cursor'");
    return row === undefined ? 0 : safeInteger(row.value, "the cursor");
  }

  async commitFiles(files: readonly CommittedFile[], cursor?: number): Promise<void> {
    // Checked before anything is sent: a batch holding a malformed key is refused whole.
    const keys = keyRows(files);
    const rows = fileRows(files);
    await this.transaction(async (tx) => {
      await this.checkFence(tx);
      if (rows.paths.length > 0)
        await tx.query(
          `INSERT INTO cairn_lake_files (path, eds_id, rows)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) ORDER BY 1
           ON CONFLICT (path) DO UPDATE SET eds_id = EXCLUDED.eds_id, rows = EXCLUDED.rows`,
          [rows.paths, rows.stores, rows.rows],
        );
      if (keys.keys.length > 0)
        await tx.query(
          `INSERT INTO cairn_lake_keys (eds_id, key)
           SELECT * FROM unnest($1::text[], $2::bytea[]) ORDER BY 1, 2 ON CONFLICT DO NOTHING`,
          [keys.stores, keys.keys],
        );
      if (cursor !== undefined)
        await tx.query(
          `INSERT INTO cairn_lake_state (key, value) VALUES ('cursor', $1)
           ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`,
          [cursor],
        );
    });
  }

  async committedPaths(): Promise<Set<string>> {
    const rows = await this.query<{ path: string }>("SELECT path FROM cairn_lake_files");
    return new Set(rows.map((row) => row.path));
  }

  async storeFiles(edsId: string): Promise<string[]> {
    if (holdsNul(edsId)) return [];
    const rows = await this.query<{ path: string }>(
      "SELECT path FROM cairn_lake_files WHERE eds_id = $1 ORDER BY path",
      [edsId],
    );
    return rows.map((row) => row.path);
  }

  async allFiles(): Promise<CatalogFile[]> {
    const rows = await this.query<{ path: string; eds_id: string; rows: string }>(
      "SELECT path, eds_id, rows FROM cairn_lake_files ORDER BY path",
    );
    return rows.map((row) => ({ path: row.path, edsId: row.eds_id, rows: safeInteger(row.rows, "a row count") }));
  }

  async replaceFiles(merged: CatalogFile, replaced: readonly string[]): Promise<boolean> {
    const merge = [stored(merged.path, "path"), stored(merged.edsId, "store id")];
    if (holdsNul(...replaced)) return false;
    const paths = [...new Set(replaced)];
    return this.transaction(async (tx) => {
      await this.checkFence(tx);
      // FOR SHARE on the store holds off its purge until this swap is done (or finds it gone); FOR
      // UPDATE on the files holds off a retention sweep, and skips a file that sweep already forgot.
      const store = await tx.query("SELECT 1 FROM cairn_lake_stores WHERE id = $1 FOR SHARE", [merged.edsId]);
      if (store.length === 0) return false;
      const owned = await tx.query(
        "SELECT path FROM cairn_lake_files WHERE path = ANY($1::text[]) AND eds_id = $2 ORDER BY path FOR UPDATE",
        [paths, merged.edsId],
      );
      if (owned.length !== paths.length) return false;
      await tx.query("DELETE FROM cairn_lake_files WHERE path = ANY($1::text[])", [paths]);
      await tx.query("INSERT INTO cairn_lake_files (path, eds_id, rows) VALUES ($1, $2, $3)", [...merge, merged.rows]);
      return true;
    });
  }

  async forgetFiles(paths: readonly string[]): Promise<void> {
    if (paths.length === 0) return;
    await this.transaction(async (tx) => {
      await this.checkFence(tx);
      await tx.query("DELETE FROM cairn_lake_files WHERE path = ANY($1::text[])", [
        paths.filter((path) => !holdsNul(path)),
      ]);
    });
  }

  async hasKeys(edsId: string, keys: readonly Buffer[]): Promise<boolean[]> {
    if (holdsNul(edsId)) return keys.map(() => false);
    if (keys.length === 0) return [];
    // One round trip for the batch: the positions (1-based) of the keys the store holds.
    const rows = await this.query<{ i: string }>(
      `SELECT u.i FROM unnest($2::bytea[]) WITH ORDINALITY AS u(key, i)
       WHERE EXISTS (SELECT 1 FROM cairn_lake_keys k WHERE k.eds_id = $1 AND k.key = u.key)`,
      [edsId, keys],
    );
    const held = new Set(rows.map((row) => Number(row.i) - 1));
    return keys.map((_, i) => held.has(i));
  }

  private kind(table: DocumentTable): DocumentTable {
    if (!DOCUMENT_TABLES.has(table)) throw new Error(`Unknown catalog document table ${String(table)}`);
    return table;
  }

  async putDocument<T extends CatalogDocument>(table: DocumentTable, document: T): Promise<void> {
    // Serialised now, before the first await: later changes to the object are not stored.
    const json = JSON.stringify(document);
    await this.query(
      `INSERT INTO cairn_lake_documents (kind, id, account_id, json) VALUES ($1, $2, $3, $4)
       ON CONFLICT (kind, id) DO UPDATE SET account_id = EXCLUDED.account_id, json = EXCLUDED.json`,
      [this.kind(table), stored(document.id, "document id"), stored(document.accountId, "account id"), json],
    );
  }

  async document<T extends CatalogDocument>(
    table: DocumentTable,
    id: string,
    accountId: string,
  ): Promise<T | undefined> {
    if (holdsNul(id, accountId)) return undefined;
    const [row] = await this.query<JsonRow>(
      "SELECT json FROM cairn_lake_documents WHERE kind = $1 AND id = $2 AND account_id = $3",
      [this.kind(table), id, accountId],
    );
    return parse<T>(row);
  }

  async findDocument<T extends CatalogDocument>(table: DocumentTable, id: string): Promise<T | undefined> {
    if (holdsNul(id)) return undefined;
    const [row] = await this.query<JsonRow>("SELECT json FROM cairn_lake_documents WHERE kind = $1 AND id = $2", [
      this.kind(table),
      id,
    ]);
    return parse<T>(row);
  }

  async documents<T extends CatalogDocument>(table: DocumentTable, accountId?: string): Promise<T[]> {
    if (holdsNul(accountId)) return [];
    const rows = await this.query<JsonRow>(
      "SELECT json FROM cairn_lake_documents WHERE kind = $1 AND ($2::text IS NULL OR account_id = $2) ORDER BY id",
      [this.kind(table), accountId ?? null],
    );
    return parseAll<T>(rows);
  }

  async deleteDocument(table: DocumentTable, id: string, accountId: string): Promise<void> {
    if (holdsNul(id, accountId)) return;
    await this.query("DELETE FROM cairn_lake_documents WHERE kind = $1 AND id = $2 AND account_id = $3", [
      this.kind(table),
      id,
      accountId,
    ]);
  }

  async addImportFailures(importId: string, failures: readonly ImportFailure[]): Promise<void> {
    if (failures.length === 0) return;
    const values = [stored(importId, "import id"), failures.map((failure) => JSON.stringify(failure))];
    // One statement; the sequence numbers the rows in array order, so two nodes adding at once never clash.
    await this.transaction(async (tx) => {
      await this.checkFence(tx);
      await tx.query(
        `INSERT INTO cairn_lake_import_failures (import_id, json)
         SELECT $1, f FROM unnest($2::text[]) WITH ORDINALITY AS u(f, i) ORDER BY i`,
        values,
      );
    });
  }

  async clearImportFailures(importId: string): Promise<void> {
    if (holdsNul(importId)) return;
    await this.transaction(async (tx) => {
      await this.checkFence(tx);
      await tx.query("DELETE FROM cairn_lake_import_failures WHERE import_id = $1", [importId]);
    });
  }

  async importFailures(importId: string, offset: number, limit: number): Promise<ImportFailure[]> {
    if (holdsNul(importId)) return [];
    const rows = await this.query<JsonRow>(
      "SELECT json FROM cairn_lake_import_failures WHERE import_id = $1 ORDER BY seq LIMIT $2 OFFSET $3",
      [importId, limit, offset],
    );
    return parseAll<ImportFailure>(rows);
  }
}

/**
 * Opens (migrating) the cluster Lake catalog on `db`. Closing the catalog leaves `db` open. With
 * `fence`, every file-changing call (commitFiles, replaceFiles, forgetFiles, deleteStore) and every
 * change to import failures (addImportFailures, clearImportFailures) is refused
 * with LakeFencedError, in its own transaction, unless the fence's lease is still this node's
 * (the `cairn_leases` table of the PostgreSQL lease store).
 *
 * @example const catalog = await openPostgresLakeCatalog(db);
 */
export async function openPostgresLakeCatalog(db: PostgresDatabase, fence?: LakeFence): Promise<LakeCatalog> {
  await migrate(db, "lake-catalog", MIGRATIONS);
  return new PostgresLakeCatalog(db, fence);
}

/**
 * Adds de-duplication keys of one store without committing a file (`cairn migrate --to-cluster`:
 * keys outlive the files retention forgot, and a Lake's keys are copied a page at a time rather
 * than in one commit). Keys already there are skipped, so a repeated call changes nothing.
 */
export async function addPostgresLakeKeys(db: PostgresDatabase, edsId: string, keys: readonly Buffer[]): Promise<void> {
  if (keys.length === 0) return;
  await migrate(db, "lake-catalog", MIGRATIONS);
  const rows = keyRows([{ path: "", edsId, rows: 0, keys }]);
  await db.query(
    `INSERT INTO cairn_lake_keys (eds_id, key)
     SELECT * FROM unnest($1::text[], $2::bytea[]) ORDER BY 1, 2 ON CONFLICT DO NOTHING`,
    [rows.stores, rows.keys],
  );
}
