import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { masterKeyOf } from "../../src/lib/secret-envelope.js";
import {
  importPostgresEventRules,
  openPostgresEventRuleStore,
  openSqliteEventRuleStore,
  readSqliteEventRules,
} from "../../src/stores/event-rules/index.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../src/stores/postgres/index.js";
import {
  importPostgresRuleDeliveries,
  openPostgresRuleDeliveryStore,
  openSqliteRuleDeliveryStore,
  readSqliteRuleDeliveries,
  type DeliveryFailureRecord,
  type PendingDelivery,
} from "../../src/stores/rule-deliveries/index.js";
import {
  importPostgresSns,
  openPostgresSnsStore,
  openSqliteSnsStore,
  readSqliteSnsStore,
} from "../../src/stores/sns/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { API_KEY_SECRET, connection, PASSWORD_SECRET } from "../contract/event-rule-store.suite.js";

const skip = postgresMissingReason();
const ALICE = { accountId: "111111111111", region: "us-east-1" };
const BOB = { accountId: "222222222222", region: "eu-west-1" };
const T0 = 1_700_000_000_000;
const RULE = `arn:aws:events:us-east-1:${ALICE.accountId}:rule/tampering`;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("cairn migrate --to-cluster: SNS, EventBridge rules and rule deliveries into PostgreSQL", { skip }, () => {
  let server: PostgresServer;
  let dir: string;
  before(async () => {
    server = await startPostgresServer();
    dir = mkdtempSync(join(tmpdir(), "cairn-migrate-events-"));
  });
  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh cluster database for `body`. */
  async function inCluster(body: (db: PostgresDatabase) => Promise<void>): Promise<void> {
    const database = await server.createDatabase();
    const db = openPostgresDatabase({ url: database.url });
    try {
      await body(db);
    } finally {
      await db.close();
      await database.drop();
    }
  }

  it("copies topics and subscriptions with status and token hash, in every account and region; a re-run adds none", async () => {
    const path = join(dir, "sns.db");
    const embedded = openSqliteSnsStore(path);
    const topics = [ALICE, BOB].map((scope, i) => ({
      ...scope,
      arn: `arn:aws:sns:${scope.region}:${scope.accountId}:alerts`,
      name: "alerts",
      displayName: `Alerts ${i}`,
      ...(i === 0 ? { policy: '{"Version":"2012-10-17","Statement":[]}' } : {}),
      createdAtMs: T0 + i,
    }));
    for (const topic of topics) await embedded.createTopic(topic);
    const subscribe = (endpoint: string, token: string) =>
      embedded.subscribe({
        arn: `${topics[0]!.arn}:${sha256(endpoint).slice(0, 36)}`,
        topicArn: topics[0]!.arn,
        accountId: ALICE.accountId,
        protocol: "https",
        endpoint,
        createdAtMs: T0,
        tokenHash: sha256(token),
        tokenExpiresMs: T0 + 3 * 86_400_000,
      });
    await subscribe("https://hooks.example/confirmed", "confirmed-token");
    await subscribe("https://hooks.example/pending", "pending-token");
    assert.ok(await embedded.confirm(topics[0]!.arn, sha256("confirmed-token"), T0 + 1));
    await embedded.close();

    await inCluster(async (db) => {
      const contents = readSqliteSnsStore(path);
      assert.deepEqual(await importPostgresSns(db, contents), { topics: 2, subscriptions: 2 });
      assert.deepEqual(await importPostgresSns(db, contents), { topics: 0, subscriptions: 0 });
      const cluster = await openPostgresSnsStore(db);
      for (const topic of topics) assert.deepEqual(await cluster.getTopic(topic.arn), topic);
      const subscriptions = await cluster.listSubscriptions(topics[0]!.arn, undefined, 10);
      assert.deepEqual(subscriptions.map((s) => [s.endpoint, s.status]).sort(), [
        ["https://hooks.example/confirmed", "confirmed"],
        ["https://hooks.example/pending", "pending"],
      ]);
      // The token's hash and expiry came along: the pending subscription still confirms with its token, in time only.
      assert.equal(await cluster.confirm(topics[0]!.arn, sha256("pending-token"), T0 + 4 * 86_400_000), undefined);
      assert.equal((await cluster.confirm(topics[0]!.arn, sha256("pending-token"), T0 + 2))?.status, "confirmed");
      await cluster.close();
    });
    assert.deepEqual(readSqliteSnsStore(join(dir, "absent-sns.db")), { topics: [], subscriptions: [] });
  });

  it("copies connections re-sealed for the cluster's key, destinations, rules and targets as stored; a re-run adds none", async () => {
    const path = join(dir, "event-rules.db");
    const dataDirKey = masterKeyOf(randomBytes(32));
    const clusterKey = masterKeyOf(randomBytes(32));
    const embedded = openSqliteEventRuleStore(path, { masterKey: dataDirKey });
    const hooks = connection(ALICE, "hooks");
    await embedded.createConnection(hooks);
    const destination = {
      ...ALICE,
      arn: `arn:aws:events:us-east-1:${ALICE.accountId}:api-destination/pager/9e8d7c6b-0000-4000-8000-000000000001`,
      name: "pager",
      connectionArn: hooks.arn,
      invocationEndpoint: "https://pager.example/hook",
      httpMethod: "POST" as const,
      invocationRateLimitPerSecond: 5,
      createdAtMs: T0,
      updatedAtMs: T0 + 5,
    };
    await embedded.createApiDestination(destination);
    const definition = { ...ALICE, arn: RULE, name: "tampering", eventPattern: '{"source":["aws.cloudtrail"]}' };
    await embedded.putRule({ ...definition, state: "ENABLED", description: "stops" }, T0);
    await embedded.setRuleState(RULE, "DISABLED", T0 + 60_000);
    const target = { id: "pager", arn: destination.arn, input: '{"x":1}', retryPolicy: { maximumRetryAttempts: 3 } };
    assert.equal(await embedded.putTargets(RULE, [target], 5), "ok");
    const rule = (await embedded.getRule(RULE))!;
    await embedded.close();

    await inCluster(async (db) => {
      const contents = readSqliteEventRules(path);
      const keys = { from: dataDirKey, to: clusterKey };
      const all = { rules: 1, targets: 1, connections: 1, destinations: 1 };
      assert.deepEqual(await importPostgresEventRules(db, contents, keys), all);
      const revision = await (await openPostgresEventRuleStore(db, { masterKey: clusterKey })).revision();
      assert.deepEqual(await importPostgresEventRules(db, contents, keys), {
        ...all,
        rules: 0,
        targets: 0,
        connections: 0,
        destinations: 0,
      });
      const cluster = await openPostgresEventRuleStore(db, { masterKey: clusterKey });
      assert.equal(await cluster.revision(), revision, "a re-run writes nothing: nodes reload nothing");
      assert.equal((await cluster.getRule(RULE))?.generation, revision);
      assert.deepEqual(await cluster.connectionAuth(hooks.arn), hooks.auth);
      assert.deepEqual(await cluster.apiDestination(destination.arn), destination);
      const { generation: _g, ...copied } = (await cluster.getRule(RULE))!;
      const { generation: _s, ...stored } = rule;
      assert.deepEqual(copied, stored, "state, pattern, description and both times as stored");
      assert.deepEqual(await cluster.listTargets(RULE, undefined, 10), [target]);
      const text = JSON.stringify(await db.query("SELECT * FROM cairn_event_connections"));
      assert.ok(!text.includes(API_KEY_SECRET) && !text.includes(PASSWORD_SECRET), "secrets only sealed");
      const withDataDirKey = await openPostgresEventRuleStore(db, { masterKey: dataDirKey });
      await assert.rejects(withDataDirKey.connectionAuth(hooks.arn), { name: "SecretEnvelopeError" });
      await cluster.close();
    });

    await inCluster(async (db) => {
      // The data dir's secrets do not open with another key: refused, naming the connection, never a secret.
      await assert.rejects(
        importPostgresEventRules(db, readSqliteEventRules(path), { from: clusterKey, to: clusterKey }),
        (error: Error) =>
          error.name === "ConnectionResealError" &&
          error.message.includes(hooks.arn) &&
          !error.message.includes(API_KEY_SECRET),
      );
      const cluster = await openPostgresEventRuleStore(db, { masterKey: clusterKey });
      assert.equal(await cluster.getRule(RULE), undefined, "all or nothing");
      // A connection of the same name created in the cluster has another ARN: targets would name the wrong one.
      await cluster.createConnection({ ...hooks, arn: hooks.arn.replace("0c9d6a4e", "ffffffff") });
      await assert.rejects(
        importPostgresEventRules(db, readSqliteEventRules(path), { from: dataDirKey, to: clusterKey }),
        /already has another EventBridge connection named hooks in account 111111111111/,
      );
      assert.equal(await cluster.getRule(RULE), undefined, "all or nothing");
      await cluster.close();
    });
  });

  it("copies the cursor, the queued deliveries and the failures; a delivery made in the cluster is not queued again", async () => {
    const path = join(dir, "rule-deliveries.db");
    const embedded = openSqliteRuleDeliveryStore(path);
    const pending = (seq: number): PendingDelivery => ({
      ...{ ruleArn: RULE, targetId: "pager", origin: "journal", seq, accountId: ALICE.accountId, firstAttemptAtMs: T0 },
      ...{
        attemptsMade: 2,
        nextAttemptAtMs: T0 + 3_000,
        lastError: "HTTP 503",
        lastHttpStatus: 503,
        lastAttemptAtMs: T0 + 1_000,
      },
    });
    const failure: DeliveryFailureRecord = {
      ...{ accountId: ALICE.accountId, ruleArn: RULE, targetId: "pager", targetArn: "arn:x", eventId: "e-1" },
      ...{ recordEventId: "r-1", journalSeq: 41, reason: "not-retryable", attempts: 1, lastHttpStatus: 403 },
      ...{ lastError: "HTTP 403", firstAttemptTime: new Date(T0).toISOString() },
      ...{ lastAttemptTime: new Date(T0).toISOString(), failedTime: new Date(T0).toISOString() },
    };
    const sigmaMatch: PendingDelivery = { ...pending(7), origin: "sigma", event: '{"source":"cairn.sigma"}' };
    await embedded.enqueue([pending(41), pending(42), pending(43)], 45, "journal");
    await embedded.enqueue([sigmaMatch], 9, "sigma");
    assert.ok(await embedded.giveUp(pending(41), failure));
    await embedded.close();

    await inCluster(async (db) => {
      const contents = readSqliteRuleDeliveries(path);
      assert.deepEqual(await importPostgresRuleDeliveries(db, contents), { cursorMoved: true, queued: 3, failures: 1 });
      const cluster = await openPostgresRuleDeliveryStore(db);
      assert.equal(await cluster.cursor("journal"), 45);
      assert.equal(await cluster.cursor("sigma"), 9);
      assert.deepEqual(await cluster.due(T0 + 3_000, 10), [sigmaMatch, pending(42), pending(43)]);
      const [kept] = await cluster.listFailures(ALICE.accountId, { limit: 10 });
      assert.deepEqual({ ...kept, id: 0 }, { ...failure, id: 0 });
      // A node delivers one and trims the failure, and goes on past the cursor; a re-run brings neither back.
      await cluster.remove([pending(42), sigmaMatch]);
      assert.equal(await cluster.trimFailures(T0 + 1), 1);
      await cluster.enqueue([], 50, "journal");
      assert.deepEqual(await importPostgresRuleDeliveries(db, contents), {
        cursorMoved: false,
        queued: 0,
        failures: 0,
      });
      assert.equal(await cluster.cursor("journal"), 50);
      assert.deepEqual(await cluster.due(T0 + 3_000, 10), [pending(43)]);
      assert.deepEqual(await cluster.listFailures(ALICE.accountId, { limit: 10 }), []);
      await cluster.close();
    });
    assert.deepEqual(readSqliteRuleDeliveries(join(dir, "absent.db")), {
      cursors: { journal: 0, sigma: 0 },
      queued: [],
      failures: [],
    });
  });
});
