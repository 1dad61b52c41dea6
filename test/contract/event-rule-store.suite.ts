import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type {
  ApiDestination,
  EventRuleStore,
  EventTarget,
  NewConnection,
  RuleDefinition,
} from "../../src/stores/event-rules/index.js";

/**
 * The EventRuleStore contract (src/stores/event-rules/event-rule-store.ts), run against every
 * implementation. The factory is called once per test and returns an empty place; `open()` opens a
 * new store over it each time, as another process (or node, or a restart) would.
 */
export interface EventRuleStoreUnderTest {
  open(): EventRuleStore | Promise<EventRuleStore>;
  /** Closes what `open` returned and removes the data. */
  cleanup(): Promise<void>;
}

const ALICE = { accountId: "111111111111", region: "us-east-1" };
const BOB = { accountId: "222222222222", region: "us-east-1" };
const T0 = 1_700_000_000_000;
export const API_KEY_SECRET = "sk-live-contract-9f1c2e7a";
export const PASSWORD_SECRET = "hunter2-contract-password";
export const CLIENT_SECRET = "oauth-client-secret-contract-5d2b";

/** An OAuth connection as CreateConnection stores it: AUTHORIZING, never authorized yet. */
export function oauthConnection(scope: typeof ALICE, name: string): NewConnection {
  const { lastAuthorizedAtMs: _never, ...base } = connection(scope, name);
  return {
    ...base,
    authorizationType: "OAUTH_CLIENT_CREDENTIALS",
    state: "AUTHORIZING",
    auth: {
      authorizationType: "OAUTH_CLIENT_CREDENTIALS",
      oauth: {
        authorizationEndpoint: "https://auth.example/token",
        httpMethod: "POST",
        clientId: "cairn-client",
        clientSecret: CLIENT_SECRET,
        oauthHttpParameters: {
          bodyParameters: [
            { key: "audience", value: "hooks", isValueSecret: false },
            { key: "assertion", value: PASSWORD_SECRET, isValueSecret: true },
          ],
        },
      },
    },
  };
}

function rule(scope: typeof ALICE, name: string, extra: Partial<RuleDefinition> = {}): RuleDefinition {
  return {
    ...scope,
    arn: `arn:aws:events:${scope.region}:${scope.accountId}:rule/${name}`,
    name,
    eventPattern: '{"source":["aws.cloudtrail"]}',
    state: "ENABLED",
    ...extra,
  };
}

function target(id: string, extra: Partial<EventTarget> = {}): EventTarget {
  return { id, arn: `arn:aws:events:us-east-1:111111111111:api-destination/hook/${id}`, ...extra };
}

export function connection(scope: typeof ALICE, name: string): NewConnection {
  const arn = `arn:aws:events:${scope.region}:${scope.accountId}:connection/${name}/0c9d6a4e-1111-4222-8333-444455556666`;
  return {
    ...scope,
    arn,
    name,
    authorizationType: "API_KEY",
    secretArn: `arn:aws:secretsmanager:${scope.region}:${scope.accountId}:secret:events!connection/${name}/x`,
    createdAtMs: T0,
    updatedAtMs: T0,
    state: "AUTHORIZED",
    lastAuthorizedAtMs: T0,
    auth: {
      authorizationType: "API_KEY",
      apiKey: { name: "x-api-key", value: API_KEY_SECRET },
      invocationHttpParameters: {
        headerParameters: [
          { key: "x-team", value: "secops", isValueSecret: false },
          { key: "x-signing", value: PASSWORD_SECRET, isValueSecret: true },
        ],
      },
    },
  };
}

function destination(scope: typeof ALICE, name: string, connectionArn: string): ApiDestination {
  return {
    ...scope,
    arn: `arn:aws:events:${scope.region}:${scope.accountId}:api-destination/${name}/a1b2c3d4-0000-4000-8000-000000000000`,
    name,
    connectionArn,
    invocationEndpoint: "https://hooks.example/cairn",
    httpMethod: "POST",
    invocationRateLimitPerSecond: 10,
    createdAtMs: T0,
    updatedAtMs: T0,
  };
}

export function eventRuleStoreContractSuite(name: string, create: () => Promise<EventRuleStoreUnderTest>): void {
  async function withStore(
    body: (store: EventRuleStore, place: EventRuleStoreUnderTest) => Promise<void>,
  ): Promise<void> {
    const place = await create();
    try {
      await body(await place.open(), place);
    } finally {
      await place.cleanup();
    }
  }

  describe(`EventRuleStore contract: ${name}`, () => {
    it("PutRule creates, then replaces the definition and keeps the targets and creation time", () =>
      withStore(async (store, place) => {
        const first = await store.putRule(rule(ALICE, "tampering", { description: "one" }), T0);
        assert.equal(first.created, true);
        assert.equal(first.rule.description, "one");
        assert.equal(await store.putTargets(first.rule.arn, [target("1")], 5), "ok");
        const again = await store.putRule(rule(ALICE, "tampering", { state: "DISABLED" }), T0 + 1000);
        assert.equal(again.created, false);
        assert.equal(again.rule.state, "DISABLED");
        assert.equal(again.rule.description, undefined);
        assert.equal(again.rule.createdAtMs, T0);
        assert.equal(again.rule.updatedAtMs, T0 + 1000);
        assert.ok(again.rule.generation > first.rule.generation);
        const reopened = await place.open();
        assert.deepEqual(await reopened.getRule(first.rule.arn), again.rule);
        assert.deepEqual(await reopened.listTargets(first.rule.arn, undefined, 10), [target("1")]);
      }));

    it("lists an account's rules by name prefix, in name order, page by page; never another account's", () =>
      withStore(async (store) => {
        for (const n of ["b_x", "a-1", "a_2", "c"]) await store.putRule(rule(ALICE, n), T0);
        await store.putRule(rule(BOB, "a-bob"), T0);
        await store.putRule(rule({ ...ALICE, region: "eu-west-1" }, "a-eu"), T0);
        const names = async (page: Parameters<EventRuleStore["listRules"]>[1]) =>
          (await store.listRules(ALICE, page)).map((r) => r.name);
        assert.deepEqual(await names({ limit: 10 }), ["a-1", "a_2", "b_x", "c"]);
        // `_` in a prefix is a character, not a wildcard.
        assert.deepEqual(await names({ prefix: "a_", limit: 10 }), ["a_2"]);
        assert.deepEqual(await names({ prefix: "a", limit: 1 }), ["a-1"]);
        assert.deepEqual(await names({ prefix: "a", afterName: "a-1", limit: 1 }), ["a_2"]);
        assert.equal(await store.countRules(ALICE), 4);
        assert.equal(await store.countRules(BOB), 1);
      }));

    it("EnableRule/DisableRule set the state and move the generation; an unknown rule is false", () =>
      withStore(async (store) => {
        const { rule: created } = await store.putRule(rule(ALICE, "r"), T0);
        assert.equal(
          await store.setRuleState(created.arn, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", T0 + 5),
          true,
        );
        const changed = await store.getRule(created.arn);
        assert.equal(changed?.state, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS");
        assert.equal(changed?.updatedAtMs, T0 + 5);
        assert.ok(changed!.generation > created.generation);
        assert.equal(await store.setRuleState(rule(ALICE, "nope").arn, "DISABLED", T0), false);
      }));

    it("a rule with targets is not deleted; without, it is; an absent one says so", () =>
      withStore(async (store) => {
        const { rule: created } = await store.putRule(rule(ALICE, "r"), T0);
        await store.putTargets(created.arn, [target("1"), target("2")], 5);
        assert.equal(await store.deleteRule(created.arn), "has-targets");
        assert.deepEqual(await store.removeTargets(created.arn, ["1", "2", "9"]), ["1", "2"]);
        assert.equal(await store.deleteRule(created.arn), "deleted");
        assert.equal(await store.getRule(created.arn), undefined);
        assert.equal(await store.deleteRule(created.arn), "absent");
        assert.equal(await store.removeTargets(created.arn, ["1"]), undefined);
        assert.equal(await store.listTargets(created.arn, undefined, 10), undefined);
      }));

    it("PutTargets replaces by id, keeps every member, and refuses all of a call past the limit", () =>
      withStore(async (store) => {
        const { rule: created } = await store.putRule(rule(ALICE, "r"), T0);
        const full = target("3", {
          roleArn: "arn:aws:iam::111111111111:role/events",
          inputTransformer: { inputPathsMap: { name: "$.detail.eventName" }, inputTemplate: '{"n": <name>}' },
          retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 600 },
          httpParameters: { headerParameters: { "x-a": "b" }, queryStringParameters: { q: "1" } },
          deadLetterArn: "arn:aws:sqs:us-east-1:111111111111:dlq",
        });
        assert.equal(await store.putTargets(created.arn, [target("1"), target("2"), full], 5), "ok");
        assert.equal(await store.putTargets(created.arn, [target("1", { input: '{"x":1}' })], 5), "ok");
        const listed = await store.listTargets(created.arn, undefined, 10);
        assert.deepEqual(listed, [target("1", { input: '{"x":1}' }), target("2"), full]);
        assert.deepEqual(await store.listTargets(created.arn, "1", 1), [target("2")]);
        assert.equal(await store.putTargets(created.arn, [target("4"), target("5"), target("6")], 5), "limit");
        assert.equal((await store.listTargets(created.arn, undefined, 10))?.length, 3);
        assert.equal(await store.putTargets(created.arn, [target("4"), target("5"), target("1")], 5), "ok");
        assert.equal(await store.putTargets(rule(ALICE, "none").arn, [target("1")], 5), "absent");
      }));

    it("the delivery view: every rule not DISABLED in every account, with its targets; the revision moves on writes", () =>
      withStore(async (store, place) => {
        const r0 = await store.revision();
        const { rule: a } = await store.putRule(rule(ALICE, "a"), T0);
        const { rule: b } = await store.putRule(
          rule(BOB, "b", { state: "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" }),
          T0,
        );
        await store.putRule(rule(ALICE, "off", { state: "DISABLED" }), T0);
        await store.putTargets(a.arn, [target("1")], 5);
        const r1 = await store.revision();
        assert.ok(r1 > r0);
        const active = await (await place.open()).activeRules();
        assert.deepEqual(
          active.map((entry) => [entry.rule.name, entry.targets.map((t) => t.id)]),
          [
            ["a", ["1"]],
            ["b", []],
          ],
        );
        assert.equal(active[0]!.rule.generation, (await store.getRule(a.arn))!.generation);
        await store.setRuleState(b.arn, "DISABLED", T0);
        assert.ok((await store.revision()) > r1);
        assert.deepEqual(
          (await store.activeRules()).map((entry) => entry.rule.name),
          ["a"],
        );
        // Connections and destinations move it too: a consumer caching them notices their changes.
        let last = await store.revision();
        const grew = async () => {
          const now = await store.revision();
          assert.ok(now > last, `${now} > ${last}`);
          last = now;
        };
        const hooks = (await store.createConnection(connection(ALICE, "hooks"))).connection;
        await grew();
        await store.createApiDestination(destination(ALICE, "pager", hooks.arn));
        await grew();
        await store.deleteApiDestination(ALICE, "pager");
        await grew();
        await store.deleteConnection(ALICE, "hooks");
        await grew();
        await store.removeTargets(a.arn, ["1"]);
        await grew();
        assert.equal((await store.getRule(a.arn))?.generation, last);
      }));

    it("a connection is stored once per name, shown without its secrets, its auth opened only by connectionAuth", () =>
      withStore(async (store, place) => {
        const input = connection(ALICE, "hooks");
        const { connection: stored, created } = await store.createConnection(input);
        assert.equal(created, true);
        assert.equal(stored.apiKeyName, "x-api-key");
        assert.deepEqual(stored.invocationHttpParameters?.headerParameters, [
          { key: "x-team", value: "secops", isValueSecret: false },
          { key: "x-signing", isValueSecret: true },
        ]);
        assert.ok(!JSON.stringify(stored).includes(API_KEY_SECRET));
        assert.ok(!JSON.stringify(stored).includes(PASSWORD_SECRET));
        const again = await store.createConnection({ ...input, arn: `${input.arn}0` });
        assert.equal(again.created, false);
        assert.equal(again.connection.arn, input.arn);
        const reopened = await place.open();
        assert.deepEqual(await reopened.connectionAuth(input.arn), input.auth);
        assert.equal(await reopened.connectionAuth(`${input.arn}0`), undefined);
        assert.deepEqual(await reopened.getConnection(ALICE, "hooks"), stored);
        assert.equal(await reopened.getConnection(BOB, "hooks"), undefined);
      }));

    it("an OAuth connection: its client secret and secret parameters sealed, its state set as its authorization ends", () =>
      withStore(async (store, place) => {
        const input = oauthConnection(ALICE, "oauth");
        const before = await store.revision();
        const { connection: stored } = await store.createConnection(input);
        assert.equal(stored.state, "AUTHORIZING");
        assert.equal(stored.lastAuthorizedAtMs, undefined);
        assert.deepEqual(stored.oauth, {
          authorizationEndpoint: "https://auth.example/token",
          httpMethod: "POST",
          clientId: "cairn-client",
          oauthHttpParameters: {
            bodyParameters: [
              { key: "audience", value: "hooks", isValueSecret: false },
              { key: "assertion", isValueSecret: true },
            ],
          },
        });
        for (const secret of [CLIENT_SECRET, PASSWORD_SECRET]) assert.ok(!JSON.stringify(stored).includes(secret));
        const reopened = await place.open();
        assert.deepEqual(await reopened.connectionAuth(input.arn), input.auth);
        assert.ok((await store.revision()) > before);
        await store.createConnection(connection(ALICE, "keyed"));
        const grown = await store.revision();

        const refused = { state: "DEAUTHORIZED" as const, reason: "HTTP 401", nowMs: T0 + 5 };
        assert.equal(await store.setConnectionState(input.arn, { ...refused, ifUpdatedAtMs: T0 - 1 }), false);
        assert.equal(await store.setConnectionState(input.arn, { ...refused, ifUpdatedAtMs: T0 }), true);
        assert.equal(await store.setConnectionState(input.arn, refused), false, "nothing changed");
        const deauthorized = await reopened.getConnection(ALICE, "oauth");
        assert.equal(deauthorized?.state, "DEAUTHORIZED");
        assert.equal(deauthorized?.stateReason, "HTTP 401");
        assert.equal(deauthorized?.updatedAtMs, T0, "a state is not a change of the connection");
        const listed = async (state: "AUTHORIZED" | "DEAUTHORIZED") =>
          (await store.listConnections(ALICE, { limit: 10 }, state)).map((c) => c.name);
        assert.deepEqual(await listed("DEAUTHORIZED"), ["oauth"]);
        assert.deepEqual(await listed("AUTHORIZED"), ["keyed"]);

        assert.equal(await store.setConnectionState(input.arn, { state: "AUTHORIZED", nowMs: T0 + 7 }), true);
        const authorized = await reopened.getConnection(ALICE, "oauth");
        assert.equal(authorized?.state, "AUTHORIZED");
        assert.equal(authorized?.stateReason, undefined);
        assert.equal(authorized?.lastAuthorizedAtMs, T0 + 7);
        assert.equal(await store.revision(), grown, "state changes do not move the revision");

        const updated = await store.updateConnection(
          ALICE,
          "oauth",
          { auth: input.auth, state: "AUTHORIZING" },
          T0 + 9,
        );
        assert.equal(updated?.state, "AUTHORIZING");
        assert.equal(updated?.lastAuthorizedAtMs, T0 + 7);
        assert.equal(await store.setConnectionState("arn:aws:events:us-east-1:1:connection/x/y", refused), false);
      }));

    it("lists, counts and deletes connections per account", () =>
      withStore(async (store) => {
        for (const n of ["b", "a", "a_b"]) await store.createConnection(connection(ALICE, n));
        await store.createConnection(connection(BOB, "a"));
        const names = (await store.listConnections(ALICE, { prefix: "a", limit: 10 })).map((c) => c.name);
        assert.deepEqual(names, ["a", "a_b"]);
        assert.equal(await store.countConnections(ALICE), 3);
        const deleted = await store.deleteConnection(ALICE, "a");
        assert.equal(deleted?.name, "a");
        assert.equal(await store.connectionAuth(deleted!.arn), undefined);
        assert.equal(await store.deleteConnection(ALICE, "a"), undefined);
        assert.equal((await store.getConnection(BOB, "a"))?.accountId, BOB.accountId);
      }));

    it("API destinations: once per name, by name and by ARN, listed by prefix and connection, deleted", () =>
      withStore(async (store, place) => {
        const hooks = (await store.createConnection(connection(ALICE, "hooks"))).connection;
        const other = (await store.createConnection(connection(ALICE, "other"))).connection;
        const pager = destination(ALICE, "pager", hooks.arn);
        assert.equal((await store.createApiDestination(pager)).created, true);
        assert.equal((await store.createApiDestination({ ...pager, httpMethod: "PUT" })).created, false);
        await store.createApiDestination(destination(ALICE, "paging", other.arn));
        await store.createApiDestination(destination(BOB, "pager", hooks.arn));
        const reopened = await place.open();
        assert.deepEqual(await reopened.getApiDestination(ALICE, "pager"), pager);
        assert.deepEqual(await reopened.apiDestination(pager.arn), pager);
        const names = async (connectionArn?: string) =>
          (await store.listApiDestinations(ALICE, { prefix: "pag", limit: 10 }, connectionArn)).map((d) => d.name);
        assert.deepEqual(await names(), ["pager", "paging"]);
        assert.deepEqual(await names(other.arn), ["paging"]);
        assert.equal(await store.countApiDestinations(ALICE), 2);
        assert.equal(await store.deleteApiDestination(ALICE, "pager"), true);
        assert.equal(await store.deleteApiDestination(ALICE, "pager"), false);
        assert.equal(await store.apiDestination(pager.arn), undefined);
        assert.equal((await store.getApiDestination(BOB, "pager"))?.accountId, BOB.accountId);
      }));

    it("UpdateConnection re-seals a new auth whole; UpdateApiDestination changes what it is given", () =>
      withStore(async (store, place) => {
        const input = connection(ALICE, "hooks");
        await store.createConnection(input);
        const basic = { authorizationType: "BASIC" as const, basic: { username: "cairn", password: PASSWORD_SECRET } };
        const updated = await store.updateConnection(ALICE, "hooks", { description: "rotated", auth: basic }, T0 + 9);
        assert.equal(updated?.authorizationType, "BASIC");
        assert.equal(updated?.username, "cairn");
        assert.equal(updated?.apiKeyName, undefined);
        assert.equal(updated?.invocationHttpParameters, undefined);
        assert.equal(updated?.updatedAtMs, T0 + 9);
        assert.equal(updated?.createdAtMs, T0);
        assert.ok(!JSON.stringify(updated).includes(PASSWORD_SECRET));
        const reopened = await place.open();
        assert.deepEqual(await reopened.connectionAuth(input.arn), basic);
        const described = await reopened.updateConnection(ALICE, "hooks", { description: "again" }, T0 + 10);
        assert.equal(described?.username, "cairn");
        assert.deepEqual(await reopened.connectionAuth(input.arn), basic, "a change without auth keeps it");
        assert.equal(await store.updateConnection(BOB, "hooks", { description: "x" }, T0), undefined);

        const pager = destination(ALICE, "pager", input.arn);
        await store.createApiDestination(pager);
        const changed = await store.updateApiDestination(
          ALICE,
          "pager",
          { httpMethod: "PUT", invocationEndpoint: "http://10.0.0.1/x" },
          T0 + 11,
        );
        assert.deepEqual(changed, {
          ...pager,
          httpMethod: "PUT",
          invocationEndpoint: "http://10.0.0.1/x",
          updatedAtMs: T0 + 11,
        });
        assert.deepEqual(await reopened.apiDestination(pager.arn), changed);
        assert.equal(await store.updateApiDestination(BOB, "pager", { httpMethod: "GET" }, T0), undefined);
      }));

    it("refuses every call once closed", () =>
      withStore(async (store) => {
        await store.close();
        await assert.rejects(store.getRule(rule(ALICE, "r").arn), /closed/);
        await assert.rejects(store.activeRules(), /closed/);
        await store.close();
      }));
  });
}
