import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import Database from "better-sqlite3";
import { masterKeyOf } from "../../src/lib/secret-envelope.js";
import {
  connectionSecretAssociatedData,
  openPostgresEventRuleStore,
  openSqliteEventRuleStore,
  resealConnectionSecrets,
  resealPostgresConnectionSecrets,
} from "../../src/stores/event-rules/index.js";
import { openPostgresDatabase } from "../../src/stores/postgres/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { postgresPlace, sqlitePlace } from "./store-places.js";
import {
  API_KEY_SECRET,
  CLIENT_SECRET,
  connection,
  eventRuleStoreContractSuite,
  oauthConnection,
  PASSWORD_SECRET,
} from "./event-rule-store.suite.js";

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
      await store.createConnection(oauthConnection({ accountId: "111111111111", region: "us-east-1" }, "oauth"));
      // Before closing too: the WAL holds the page until a checkpoint.
      const bytes = async () =>
        Buffer.concat(await Promise.all((await readdir(directory)).map((file) => readFile(join(directory, file)))));
      const open = await bytes();
      assert.ok(!open.includes(API_KEY_SECRET) && !open.includes(PASSWORD_SECRET) && !open.includes(CLIENT_SECRET));
      await store.close();
      const closed = await bytes();
      assert.ok(
        !closed.includes(API_KEY_SECRET) && !closed.includes(PASSWORD_SECRET) && !closed.includes(CLIENT_SECRET),
      );
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
      const oauth = oauthConnection({ accountId: "111111111111", region: "us-east-1" }, "oauth");
      const store = openSqliteEventRuleStore(path, { masterKey });
      await store.createConnection(hooks);
      await store.createConnection(oauth);
      await store.close();
      const newKey = masterKeyOf(randomBytes(32));
      assert.equal(resealConnectionSecrets(path, [newKey, masterKey], newKey), 2);
      assert.equal(resealConnectionSecrets(path, [newKey, masterKey], newKey), 2, "a re-run opens with the new key");
      const rotated = openSqliteEventRuleStore(path, { masterKey: newKey });
      assert.deepEqual(await rotated.connectionAuth(hooks.arn), hooks.auth);
      assert.deepEqual(await rotated.connectionAuth(oauth.arn), oauth.auth, "the OAuth client secret re-sealed too");
      await rotated.close();
      const stranger = masterKeyOf(randomBytes(32));
      assert.throws(() => resealConnectionSecrets(path, [stranger], stranger), { name: "ConnectionResealError" });
      assert.equal(resealConnectionSecrets(join(directory, "absent.db"), [newKey], newKey), 0);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});

describe("SQLite event rule store written by schema 1", () => {
  it("opens with its connections AUTHORIZED since their last change, their secrets as they were", async () => {
    const directory = await mkdtemp(join(tmpdir(), "cairn-event-rules-v1-"));
    try {
      const path = join(directory, "event-rules.db");
      const hooks = connection({ accountId: "111111111111", region: "us-east-1" }, "hooks");
      const old = new Database(path);
      old.exec(`CREATE TABLE event_connections (
          account_id TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL, arn TEXT NOT NULL UNIQUE,
          description TEXT, authorization_type TEXT NOT NULL, public_auth TEXT NOT NULL, secret_arn TEXT NOT NULL,
          sealed_auth TEXT NOT NULL CHECK (sealed_auth LIKE 'v1:%'), created_at_ms INTEGER NOT NULL,
          updated_at_ms INTEGER NOT NULL, PRIMARY KEY (account_id, region, name)) STRICT`);
      old
        .prepare("INSERT INTO event_connections VALUES (?, ?, ?, ?, NULL, 'API_KEY', ?, ?, ?, ?, ?)")
        .run(
          ...[hooks.accountId, hooks.region, hooks.name, hooks.arn, '{"apiKeyName":"x-api-key"}', hooks.secretArn],
          ...[masterKey.seal(JSON.stringify(hooks.auth), connectionSecretAssociatedData(hooks.arn)), 1_000, 2_000],
        );
      old.pragma("user_version = 1");
      old.close();
      const store = openSqliteEventRuleStore(path, { masterKey });
      const upgraded = await store.getConnection(hooks, "hooks");
      assert.equal(upgraded?.state, "AUTHORIZED");
      assert.equal(upgraded?.lastAuthorizedAtMs, 2_000);
      assert.deepEqual(await store.connectionAuth(hooks.arn), hooks.auth);
      await store.close();
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
      const oauth = oauthConnection({ accountId: "111111111111", region: "us-east-1" }, "oauth");
      await store.createConnection(oauth);
      const rows = await db.query("SELECT * FROM cairn_event_connections ORDER BY name");
      const text = JSON.stringify(rows);
      assert.equal(rows.length, 2);
      for (const secret of [API_KEY_SECRET, PASSWORD_SECRET, CLIENT_SECRET]) assert.ok(!text.includes(secret));
      const newKey = masterKeyOf(randomBytes(32));
      assert.equal(await db.transaction((tx) => resealPostgresConnectionSecrets(tx, [masterKey, newKey], newKey)), 2);
      const rotated = await openPostgresEventRuleStore(db, { masterKey: newKey });
      const arn = (rows[0] as { arn: string }).arn;
      assert.equal((await rotated.connectionAuth(arn))?.apiKey?.value, API_KEY_SECRET);
      assert.equal((await rotated.connectionAuth(oauth.arn))?.oauth?.clientSecret, CLIENT_SECRET);
      await store.close();
    } finally {
      await db.close();
      await database.drop();
    }
  });
});
