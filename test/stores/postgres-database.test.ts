import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { StoreUnavailableError, isTransientError } from "../../src/lib/transient-error.js";
import { migrate, openPostgresDatabase, type Migration } from "../../src/stores/postgres/index.js";
import { pollUntil } from "../helpers/poll.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { freePort } from "../storage/moto-server.js";

const postgresMissing = postgresMissingReason();

/** Steps that fail if run twice (no IF NOT EXISTS), so "applied once" is what the database says. */
const STEPS: Migration[] = [
  { version: 1, name: "widgets", sql: "CREATE TABLE widgets (id BIGINT PRIMARY KEY, name TEXT NOT NULL)" },
  { version: 2, name: "widget names", sql: "CREATE UNIQUE INDEX widgets_by_name ON widgets (name)" },
  { version: 3, name: "first widget", sql: "INSERT INTO widgets (id, name) VALUES (1, 'first')" },
];

describe("PostgreSQL database and migrations", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  it("migrates once when three nodes start at the same moment, and every node succeeds", async () => {
    const database = await server.createDatabase();
    const nodes = [1, 2, 3].map(() => openPostgresDatabase({ url: database.url }));
    try {
      const applied = await Promise.all(nodes.map((db) => migrate(db, "widgets", STEPS)));
      assert.deepEqual(applied.flat().sort(), [1, 2, 3], "each step was applied by exactly one node");
      const versions = await nodes[0]!.query<{ version: number }>(
        "SELECT version FROM cairn_schema_versions WHERE component = $1 ORDER BY version",
        ["widgets"],
      );
      assert.deepEqual(
        versions.map((row) => row.version),
        [1, 2, 3],
      );
      assert.deepEqual(await nodes[1]!.query("SELECT id::int, name FROM widgets"), [{ id: 1, name: "first" }]);
      assert.deepEqual(await migrate(nodes[2]!, "widgets", STEPS), [], "a restart finds nothing to do");
    } finally {
      await Promise.all(nodes.map((db) => db.close()));
      await database.drop();
    }
  });

  it("applies only the new steps later, and keeps components apart", async () => {
    const database = await server.createDatabase();
    const db = openPostgresDatabase({ url: database.url });
    try {
      assert.deepEqual(await migrate(db, "widgets", STEPS.slice(0, 1)), [1]);
      assert.deepEqual(await migrate(db, "widgets", STEPS), [2, 3]);
      const other: Migration[] = [{ version: 1, name: "gadgets", sql: "CREATE TABLE gadgets (id INT)" }];
      assert.deepEqual(await migrate(db, "gadgets", other), [1]);
    } finally {
      await db.close();
      await database.drop();
    }
  });

  it("leaves no trace of a failing step, and refuses a schema newer than the node", async () => {
    const database = await server.createDatabase();
    const db = openPostgresDatabase({ url: database.url });
    try {
      const broken: Migration[] = [
        ...STEPS.slice(0, 1),
        { version: 2, name: "half done", sql: "CREATE TABLE half (id INT); SELECT no_such_function()" },
      ];
      await assert.rejects(migrate(db, "widgets", broken), /Migration widgets 2 \(half done\) failed/);
      assert.deepEqual(await db.query("SELECT to_regclass('half') AS half"), [{ half: null }]);
      assert.deepEqual(await migrate(db, "widgets", STEPS), [2, 3], "the run is retried after the fix");
      await assert.rejects(migrate(db, "widgets", STEPS.slice(0, 2)), /newer than this Cairn knows \(2\)/);
      await assert.rejects(migrate(db, "widgets", [STEPS[1]!]), /numbered 1, 2, 3/);
    } finally {
      await db.close();
      await database.drop();
    }
  });

  it("commits a transaction that resolves, rolls back one that throws, and keeps the connection for the next", async () => {
    const database = await server.createDatabase();
    // One connection: a transaction that did not give it back would leave the next call waiting.
    const db = openPostgresDatabase({ url: database.url, maxConnections: 1 });
    try {
      await db.query("CREATE TABLE ledger (id INT PRIMARY KEY)");
      const [first] = await db.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      await assert.rejects(
        db.transaction(async (tx) => {
          await tx.query("INSERT INTO ledger (id) VALUES ($1)", [1]);
          throw new Error("the batch failed half-way");
        }),
        /half-way/,
      );
      await assert.rejects(
        db.transaction((tx) => tx.query("INSERT INTO ledger (id) VALUES ($1), ($1)", [2])),
        /duplicate key/,
      );
      const inside = await db.transaction(async (tx) => {
        await tx.query("INSERT INTO ledger (id) VALUES ($1)", [3]);
        return tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      });
      assert.deepEqual(await db.query("SELECT id FROM ledger ORDER BY id"), [{ id: 3 }]);
      assert.equal(inside[0]?.pid, first?.pid, "the same pooled connection served every call");
    } finally {
      await db.close();
      await database.drop();
    }
  });

  it("answers StoreUnavailableError while PostgreSQL restarts, and works again without reopening", async () => {
    const database = await server.createDatabase();
    const db = openPostgresDatabase({ url: database.url, connectTimeoutMs: 2_000 });
    try {
      assert.deepEqual(await db.query("SELECT 1 AS one"), [{ one: 1 }]);
      const inFlight = db.query("SELECT pg_sleep(60)").catch((error: unknown) => error);
      await pollUntil(
        async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'")).length === 1,
        { message: "the long statement to run" },
      );
      let during: unknown;
      await server.restart({
        whileDown: async () => {
          during = await db.query("SELECT 1 AS one").catch((error: unknown) => error);
        },
      });
      const interrupted = await inFlight;
      assert.ok(
        interrupted instanceof StoreUnavailableError,
        `the statement cut by the shutdown: ${String(interrupted)}`,
      );
      assert.ok(during instanceof StoreUnavailableError, String(during));
      assert.ok(isTransientError(during));
      assert.ok(!during.message.includes(new URL(database.url).password), "no password in the message");
      assert.deepEqual(await db.query("SELECT 1 AS one"), [{ one: 1 }]);
    } finally {
      await db.close();
      await database.drop();
    }
  });

  it("outlives a connection lost between two statements of a transaction, which then rejects as unavailable", async () => {
    const database = await server.createDatabase();
    const [db, admin] = [1, 2].map(() => openPostgresDatabase({ url: database.url }));
    try {
      const outcome = await db!
        .transaction(async (tx) => {
          const [row] = await tx.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
          // What a server shutdown does to every session: the error arrives while no statement runs.
          await admin!.query("SELECT pg_terminate_backend($1)", [row!.pid]);
          await pollUntil(
            async () => (await admin!.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [row!.pid])).length === 0,
            { message: "the session to end" },
          );
          return tx.query("SELECT 1 AS one");
        })
        .catch((error: unknown) => error);
      assert.ok(outcome instanceof StoreUnavailableError, `the transaction's next statement: ${String(outcome)}`);
      assert.deepEqual(await db!.query("SELECT 1 AS one"), [{ one: 1 }], "the pool serves again");
    } finally {
      await Promise.all([db!.close(), admin!.close()]);
      await database.drop();
    }
  });

  it("hands a LISTEN subscription the committed notifications of any connection, and refuses a channel that is not a name", async () => {
    const database = await server.createDatabase();
    const [listener, writer] = [1, 2].map(() => openPostgresDatabase({ url: database.url }));
    try {
      const payloads: Array<string | undefined> = [];
      const subscription = await listener!.listen("cairn_test", (payload) => payloads.push(payload));
      await assert.rejects(
        writer!.transaction(async (tx) => {
          await tx.query("SELECT pg_notify('cairn_test', 'rolled back')");
          throw new Error("abort");
        }),
        /abort/,
      );
      await writer!.query("SELECT pg_notify('cairn_test', $1)", ["committed"]);
      await writer!.query("SELECT pg_notify('other_channel', 'elsewhere')");
      await pollUntil(() => payloads.length > 0, { message: "the committed notification" });
      assert.deepEqual(payloads, ["committed"]);
      for (const bad of ["Cairn", "x; DROP TABLE t", "", "a".repeat(64)])
        await assert.rejects(
          listener!.listen(bad, () => undefined),
          RangeError,
          bad,
        );
      await subscription.close();
      await writer!.query("SELECT pg_notify('cairn_test', 'after close')");
      await listener!.listen("cairn_test", () => undefined);
    } finally {
      // Closing the database closes the subscription still open.
      await listener!.close();
      await writer!.close();
      await database.drop();
    }
  });

  it("answers StoreUnavailableError when nothing listens, naming the URL without its password", async () => {
    const port = await freePort();
    const db = openPostgresDatabase({ url: `postgres://cairn:s3cret-pw@127.0.0.1:${port}/cairn` });
    try {
      const error = await db.query("SELECT 1").catch((caught: unknown) => caught);
      assert.ok(error instanceof StoreUnavailableError, String(error));
      assert.match(error.message, new RegExp(`postgres://cairn@127\\.0\\.0\\.1:${port}/cairn`));
      assert.doesNotMatch(error.message, /s3cret-pw/);
    } finally {
      await db.close();
    }
  });

  it("answers StoreUnavailableError for a statement the server cancels at its timeout", async () => {
    const database = await server.createDatabase();
    const db = openPostgresDatabase({ url: database.url, statementTimeoutMs: 100 });
    try {
      const error = await db.query("SELECT pg_sleep(30)").catch((caught: unknown) => caught);
      assert.ok(error instanceof StoreUnavailableError, String(error));
      assert.match(error.message, /statement timeout/);
      assert.deepEqual(await db.query("SELECT 1 AS one"), [{ one: 1 }]);
    } finally {
      await db.close();
      await database.drop();
    }
  });

  it("passes a wrong statement through as it is, and refuses a URL that is not PostgreSQL's without echoing it", async () => {
    const database = await server.createDatabase();
    const db = openPostgresDatabase({ url: database.url });
    try {
      const error = await db.query("SELECT * FROM no_such_table").catch((caught: unknown) => caught);
      assert.ok(!(error instanceof StoreUnavailableError));
      assert.match(String(error), /no_such_table/);
      assert.throws(() => openPostgresDatabase({ url: "mysql://u:hunter2@h/d" }), /postgres:\/\//);
      assert.throws(
        () => openPostgresDatabase({ url: "not a url hunter2" }),
        (caught: Error) => !caught.message.includes("hunter2"),
      );
      await db.close();
      await assert.rejects(db.query("SELECT 1"), /closed/);
    } finally {
      await db.close();
      await database.drop();
    }
  });
});
