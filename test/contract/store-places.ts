import assert from "node:assert/strict";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import type { PostgresServer } from "../helpers/postgres-server.js";

interface Closable {
  close(): void | Promise<void>;
}

/**
 * An empty place a contract suite runs one test in: `open()` opens a new store over it each time,
 * as another process (or node, or a restart) would; `cleanup()` closes them and removes the data.
 */
export interface StorePlace<S> {
  open(): S | Promise<S>;
  cleanup(): Promise<void>;
}

/** A fresh temp directory per test, the store opened on `<dir>/<file>`. */
export function sqlitePlace<S extends Closable>(
  file: string,
  openAt: (path: string) => S | Promise<S>,
): () => Promise<StorePlace<S>> {
  return async () => {
    const directory = await mkdtemp(join(tmpdir(), `cairn-contract-${file}-`));
    const opened: S[] = [];
    return {
      async open() {
        const store = await openAt(join(directory, file));
        opened.push(store);
        return store;
      },
      async cleanup() {
        for (const store of opened) await store.close();
        await rm(directory, { recursive: true, force: true });
      },
    };
  };
}

/** A fresh database per test on the server `server()` gives, each store on its own pool. */
export function postgresPlace<S extends Closable>(
  server: () => PostgresServer,
  openOn: (db: PostgresDatabase) => Promise<S>,
): () => Promise<StorePlace<S>> {
  return async () => {
    const database = await server().createDatabase();
    const dbs: PostgresDatabase[] = [];
    const stores: S[] = [];
    return {
      async open() {
        const db = openPostgresDatabase({ url: database.url });
        dbs.push(db);
        const store = await openOn(db);
        stores.push(store);
        return store;
      },
      async cleanup() {
        for (const store of stores) await store.close();
        for (const db of dbs) await db.close();
        await database.drop();
      },
    };
  };
}

/** The embedded store's file is readable by its owner only, whatever the umask. */
export function itKeepsItsFilePrivate(file: string, openAt: (path: string) => Closable | Promise<Closable>): void {
  it(`keeps ${file} private to its owner`, async () => {
    const directory = await mkdtemp(join(tmpdir(), `cairn-mode-${file}-`));
    try {
      await (await openAt(join(directory, file))).close();
      assert.equal((await stat(join(directory, file))).mode & 0o777, 0o600);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
}
