import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { generatePrincipal } from "../../src/stores/principals/keys.js";
import {
  PrincipalExistsError,
  type Principal,
  type PrincipalStore,
  type PrincipalType,
} from "../../src/stores/principals/principal.js";

/**
 * The PrincipalStore contract (src/stores/principals/principal.ts), run against every implementation.
 * The factory is called once per test and must return an empty store.
 */
export interface PrincipalStoreUnderTest {
  readonly store: PrincipalStore;
  /**
   * Another instance on the same data, as `cairn principal add` opens while the server runs. The
   * test closes it.
   */
  reopen(): Promise<PrincipalStore>;
  /** Closes `store` (it may be closed already) and removes the data. */
  cleanup(): Promise<void>;
}

const ACCOUNT = "123456789012";
const OTHER_ACCOUNT = "111122223333";

function principal(name: string, type: PrincipalType, createdAtMs: number, accountId = ACCOUNT): Principal {
  return generatePrincipal({ name, type, accountId, createdAtMs });
}

export function principalStoreContractSuite(name: string, open: () => Promise<PrincipalStoreUnderTest>): void {
  async function withStore(body: (subject: PrincipalStoreUnderTest) => Promise<void>): Promise<void> {
    const subject = await open();
    try {
      await body(subject);
    } finally {
      await subject.cleanup();
    }
  }

  describe(`PrincipalStore contract: ${name}`, () => {
    it("starts empty", () =>
      withStore(async ({ store }) => {
        assert.deepEqual(await store.list(), []);
        assert.equal(await store.findByAccessKeyId("AKIANOSUCHKEY0000000"), undefined);
      }));

    it("adds, finds and lists principals", () =>
      withStore(async ({ store }) => {
        const alice = principal("alice", "IAMUser", 1);
        const role = principal("ops/s1", "AssumedRole", 2);
        await store.add(alice);
        await store.add(role);
        assert.deepEqual(await store.findByAccessKeyId(alice.accessKeyId), alice);
        assert.equal(await store.findByAccessKeyId("AKIANOSUCHKEY0000000"), undefined);
        assert.deepEqual(await store.list(), [alice, role]);
      }));

    it("keeps every field of every principal type as given", () =>
      withStore(async ({ store }) => {
        const stored = [
          principal("root", "Root", 1_700_000_000_123),
          principal("alice", "IAMUser", 1_700_000_000_124),
          principal("deploy/ci-run", "AssumedRole", 1_700_000_000_125),
        ];
        for (const each of stored) await store.add(each);
        for (const each of stored) assert.deepEqual(await store.findByAccessKeyId(each.accessKeyId), each);
      }));

    it("lists oldest first, then by access key id", () =>
      withStore(async ({ store }) => {
        const late = principal("late", "IAMUser", 30);
        const early = principal("early", "IAMUser", 10);
        const sameTime = [principal("a", "IAMUser", 20), principal("b", "IAMUser", 20)];
        for (const each of [late, ...sameTime, early]) await store.add(each);
        const tied = [...sameTime].sort((x, y) => (x.accessKeyId < y.accessKeyId ? -1 : 1));
        assert.deepEqual(await store.list(), [early, ...tied, late]);
      }));

    it("lists one account's principals", () =>
      withStore(async ({ store }) => {
        const alice = principal("alice", "IAMUser", 1);
        const bob = principal("bob", "IAMUser", 2, OTHER_ACCOUNT);
        const root = principal("root", "Root", 3);
        for (const each of [alice, bob, root]) await store.add(each);
        assert.deepEqual(await store.list({ accountId: ACCOUNT }), [alice, root]);
        assert.deepEqual(await store.list({ accountId: OTHER_ACCOUNT }), [bob]);
        assert.deepEqual(await store.list({ accountId: "999999999999" }), []);
        assert.deepEqual(await store.list({}), [alice, bob, root]);
      }));

    it("finds many keys at once, leaving unknown keys out", () =>
      withStore(async ({ store }) => {
        const alice = principal("alice", "IAMUser", 1);
        const role = principal("ops/s1", "AssumedRole", 2);
        await store.add(alice);
        await store.add(role);
        const found = await store.findByAccessKeyIds([role.accessKeyId, "AKIANOSUCHKEY0000000", alice.accessKeyId]);
        assert.deepEqual(
          found,
          new Map([
            [role.accessKeyId, role],
            [alice.accessKeyId, alice],
          ]),
        );
        assert.deepEqual(
          await store.findByAccessKeyIds([alice.accessKeyId, alice.accessKeyId]),
          new Map([[alice.accessKeyId, alice]]),
        );
        assert.equal((await store.findByAccessKeyIds([])).size, 0);
      }));

    it("refuses a duplicate access key id", () =>
      withStore(async ({ store }) => {
        const alice = principal("alice", "IAMUser", 1);
        await store.add(alice);
        await assert.rejects(store.add({ ...alice, name: "mallory" }), PrincipalExistsError);
        assert.equal((await store.list()).length, 1);
        assert.deepEqual(await store.findByAccessKeyId(alice.accessKeyId), alice, "the first holder keeps the key");
      }));

    it("holds two keys of one entity, sharing its principal id (only access key ids are unique)", () =>
      withStore(async ({ store }) => {
        const first = principal("dave", "IAMUser", 1);
        const second = { ...principal("dave", "IAMUser", 2), principalId: first.principalId };
        await store.add(first);
        await store.add(second);
        assert.deepEqual(await store.findByAccessKeyId(second.accessKeyId), second);
        assert.deepEqual(await store.list(), [first, second]);
      }));

    it("removes a principal by its access key", () =>
      withStore(async ({ store }) => {
        const alice = principal("alice", "IAMUser", 1);
        const bob = principal("bob", "IAMUser", 2);
        await store.add(alice);
        await store.add(bob);
        assert.equal(await store.remove(alice.accessKeyId), true);
        assert.equal(await store.remove(alice.accessKeyId), false, "already gone");
        assert.equal(await store.remove("AKIANOSUCHKEY0000000"), false);
        assert.equal(await store.findByAccessKeyId(alice.accessKeyId), undefined);
        assert.deepEqual(await store.list(), [bob]);
        await store.add(alice);
        assert.deepEqual(await store.findByAccessKeyId(alice.accessKeyId), alice, "a removed key can be added again");
      }));

    it("keeps principals across closing and reopening", () =>
      withStore(async ({ store, reopen }) => {
        const alice = principal("alice", "IAMUser", 1);
        await store.add(alice);
        await store.close();
        const second = await reopen();
        try {
          assert.deepEqual(await second.list(), [alice]);
        } finally {
          await second.close();
        }
      }));

    it("lets one instance see what another adds and removes, without reopening (server + CLI)", () =>
      withStore(async ({ store: server, reopen }) => {
        assert.equal((await server.list()).length, 0);
        const cli = await reopen();
        try {
          const bob = principal("bob", "IAMUser", 1);
          await cli.add(bob);
          assert.deepEqual(await server.findByAccessKeyId(bob.accessKeyId), bob);
          assert.deepEqual(await server.findByAccessKeyIds([bob.accessKeyId]), new Map([[bob.accessKeyId, bob]]));
          assert.deepEqual(await server.list(), [bob]);
          await assert.rejects(server.add({ ...bob, name: "mallory" }), PrincipalExistsError);
          assert.equal(await cli.remove(bob.accessKeyId), true);
          assert.equal(await server.findByAccessKeyId(bob.accessKeyId), undefined);
        } finally {
          await cli.close();
        }
      }));

    it("lets one of two instances win a user name or an access key both create at once (two nodes)", () =>
      withStore(async ({ store, reopen }) => {
        const other = await reopen();
        try {
          const user = (userName: string, userId: string) => ({
            accountId: ACCOUNT,
            userName,
            userId,
            path: "/",
            createdAtMs: 1,
          });
          const users = await Promise.allSettled([
            store.createUser(user("erin", "AIDAEXAMPLEERIN000001")),
            other.createUser(user("ERIN", "AIDAEXAMPLEERIN000002")),
          ]);
          assert.deepEqual(users.map((result) => result.status).sort(), ["fulfilled", "rejected"]);
          const lost = users.find((result) => result.status === "rejected");
          assert.ok(lost?.reason instanceof PrincipalExistsError, "the loser gets PrincipalExistsError");
          assert.equal((await other.listUsers(ACCOUNT)).length, 1);

          const key = principal("frank", "IAMUser", 2);
          const adds = await Promise.allSettled([store.add(key), other.add({ ...key, name: "mallory" })]);
          assert.deepEqual(adds.map((result) => result.status).sort(), ["fulfilled", "rejected"]);
          const refused = adds.find((result) => result.status === "rejected");
          assert.ok(refused?.reason instanceof PrincipalExistsError);
          const winner = adds[0]!.status === "fulfilled" ? key : { ...key, name: "mallory" };
          assert.deepEqual(await store.findByAccessKeyId(key.accessKeyId), winner);
          assert.deepEqual(await other.list(), [winner]);
        } finally {
          await other.close();
        }
      }));

    it("keeps users with or without keys, one per name whatever its case, per account", () =>
      withStore(async ({ store }) => {
        const carol = {
          accountId: ACCOUNT,
          userName: "carol",
          userId: "AIDAEXAMPLECAROL00001",
          path: "/",
          createdAtMs: 5,
        };
        await store.createUser(carol);
        await assert.rejects(store.createUser({ ...carol, userName: "CAROL" }), PrincipalExistsError);
        await store.createUser({ ...carol, accountId: OTHER_ACCOUNT });
        assert.deepEqual(await store.findUser(ACCOUNT, "Carol"), carol);
        assert.equal(await store.findUser(ACCOUNT, "nobody"), undefined);
        const alice = principal("alice", "IAMUser", 1);
        await store.add(alice);
        assert.deepEqual(
          (await store.listUsers(ACCOUNT)).map((u) => [u.userName, u.userId]),
          [
            ["alice", alice.principalId],
            ["carol", carol.userId],
          ],
        );
        assert.equal(await store.deleteUser(ACCOUNT, "carol"), true);
        assert.equal(await store.deleteUser(ACCOUNT, "carol"), false);
        assert.equal((await store.listUsers(OTHER_ACCOUNT)).length, 1);
      }));

    it("keeps each holder's inline and managed policies apart", () =>
      withStore(async ({ store, reopen }) => {
        const user = { accountId: ACCOUNT, kind: "user", name: "alice" } as const;
        const role = { accountId: ACCOUNT, kind: "role", name: "alice" } as const;
        const elsewhere = { ...user, accountId: OTHER_ACCOUNT };
        await store.putInlinePolicy(user, "deny-stop", '{"a":1}');
        await store.putInlinePolicy(user, "deny-stop", '{"a":2}');
        await store.putInlinePolicy(role, "other", '{"b":1}');
        await store.attachManagedPolicy(user, "arn:aws:iam::aws:policy/ReadOnlyAccess");
        await store.attachManagedPolicy(user, "arn:aws:iam::aws:policy/AdministratorAccess");
        await store.attachManagedPolicy(user, "arn:aws:iam::aws:policy/ReadOnlyAccess");
        const other = await reopen();
        try {
          assert.deepEqual(await other.policiesOf(user), {
            inline: [{ name: "deny-stop", document: '{"a":2}' }],
            managedArns: ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AdministratorAccess"],
          });
        } finally {
          await other.close();
        }
        assert.deepEqual(await store.policiesOf(role), {
          inline: [{ name: "other", document: '{"b":1}' }],
          managedArns: [],
        });
        assert.deepEqual(await store.policiesOf(elsewhere), { inline: [], managedArns: [] });
        assert.equal(await store.detachManagedPolicy(user, "arn:aws:iam::aws:policy/ReadOnlyAccess"), true);
        assert.equal(await store.detachManagedPolicy(user, "arn:aws:iam::aws:policy/ReadOnlyAccess"), false);
        assert.equal(await store.deleteInlinePolicy(user, "deny-stop"), true);
        assert.equal(await store.deleteInlinePolicy(user, "deny-stop"), false);
        assert.deepEqual(await store.policiesOf(user), {
          inline: [],
          managedArns: ["arn:aws:iam::aws:policy/AdministratorAccess"],
        });
      }));

    it("rejects calls once closed, and closing again does nothing", () =>
      withStore(async ({ store }) => {
        const alice = principal("alice", "IAMUser", 1);
        await store.add(alice);
        await store.close();
        await store.close();
        await assert.rejects(store.findByAccessKeyId(alice.accessKeyId));
        await assert.rejects(store.findByAccessKeyIds([alice.accessKeyId]));
        await assert.rejects(store.list());
        await assert.rejects(store.add(principal("bob", "IAMUser", 2)));
        await assert.rejects(store.remove(alice.accessKeyId));
      }));
  });
}
