import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { masterKeyOf } from "../../src/lib/secret-envelope.js";
import {
  openPostgresEventRuleStore,
  openSqliteEventRuleStore,
  resealConnectionSecrets,
  resealPostgresConnectionSecrets,
} from "../../src/stores/event-rules/index.js";
import { openPostgresDatabase } from "../../src/stores/postgres/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { postgresPlace, sqlitePlace } from "./store-places.js";
import { API_KEY_SECRET, connection, eventRuleStoreContractSuite, PASSWORD_SECRET } from "./event-rule-store.suite.js";

const masterKey = masterKeyOf(randomBytes(32));

eventRuleStoreContractSuite(
  "SQLite",
  sqlitePlace("event-rules.db", (path) => openSqliteEventRuleStore(path, { masterKey })),
);

describe("SQLite event rule store file", () => {
  it("is private to its owner and holds connection secrets only sealed", async () => {
    const directory = await mkdtemp(join(tmpdir(), "cairn-event-rules-file-"));
    try {
      const path = join(directory, "event-rules.db");
      const store = openSqliteEventRuleStore(path, { masterKey });
      const hooks = connection({ accountId: "111111111111", region: "us-east-1" }, "hooks");
      await store.createConnection(hooks);
      // Before closing too: the WAL holds the page until a checkpoint.
      const bytes = async () =>
        Buffer.concat(await Promise.all((await readdir(directory)).map((file) => readFile(join(directory, file)))));
      const open = await bytes();
      assert.ok(!open.includes(API_KEY_SECRET) && !open.includes(PASSWORD_SECRET));
      await store.close();
      const closed = await bytes();
      assert.ok(!closed.includes(API_KEY_SECRET) && !closed.includes(PASSWORD_SECRET));
      assert.equal((await stat(path)).mode & 0o777, 0o600);
      const otherKey = openSqliteEventRuleStore(path, { masterKey: masterKeyOf(randomBytes(32)) });
      await assert.rejects(otherKey.connectionAuth(hooks.arn), { name: "SecretEnvelopeError" });
      await otherKey.close();
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe("SQLite connection secrets across a master key rotation", () => {
  it("re-seals every connection with the new key, idempotently; a key that opens none is refused", async () => {
    const directory = await mkdtemp(join(tmpdir(), "cairn-event-rules-rotate-"));
    try {
      const path = join(directory, "event-rules.db");
      const hooks = connection({ accountId: "111111111111", region: "us-east-1" }, "hooks");
      const store = openSqliteEventRuleStore(path, { masterKey });
      await store.createConnection(hooks);
      await store.close();
      const newKey = masterKeyOf(randomBytes(32));
      assert.equal(resealConnectionSecrets(path, [newKey, masterKey], newKey), 1);
      assert.equal(resealConnectionSecrets(path, [newKey, masterKey], newKey), 1, "a re-run opens with the new key");
      const rotated = openSqliteEventRuleStore(path, { masterKey: newKey });
      assert.deepEqual(await rotated.connectionAuth(hooks.arn), hooks.auth);
      await rotated.close();
      const stranger = masterKeyOf(randomBytes(32));
      assert.throws(() => resealConnectionSecrets(path, [stranger], stranger), { name: "ConnectionResealError" });
      assert.equal(resealConnectionSecrets(join(directory, "absent.db"), [newKey], newKey), 0);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

const postgresMissing = postgresMissingReason();

describe("PostgreSQL event rule store", { skip: postgresMissing }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  eventRuleStoreContractSuite(
    "PostgreSQL",
    postgresPlace(
      () => server,
      (db) => openPostgresEventRuleStore(db, { masterKey }),
    ),
  );

  it("keeps connection secrets only sealed in the database, and re-seals them with a new key", async () => {
    const database = await server.createDatabase();
    const db = openPostgresDatabase({ url: database.url });
    try {
      const store = await openPostgresEventRuleStore(db, { masterKey });
      await store.createConnection(connection({ accountId: "111111111111", region: "us-east-1" }, "hooks"));
      const rows = await db.query("SELECT * FROM cairn_event_connections");
      const text = JSON.stringify(rows);
      assert.equal(rows.length, 1);
      assert.ok(!text.includes(API_KEY_SECRET) && !text.includes(PASSWORD_SECRET));
      const newKey = masterKeyOf(randomBytes(32));
      assert.equal(await db.transaction((tx) => resealPostgresConnectionSecrets(tx, [masterKey, newKey], newKey)), 1);
      const rotated = await openPostgresEventRuleStore(db, { masterKey: newKey });
      const arn = (rows[0] as { arn: string }).arn;
      assert.equal((await rotated.connectionAuth(arn))?.apiKey?.value, API_KEY_SECRET);
      await store.close();
    } finally {
      await db.close();
      await database.drop();
    }
  });
});
