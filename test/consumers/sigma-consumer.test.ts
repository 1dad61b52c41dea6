/**
 * The Sigma consumer in process, over a real file journal and the real SQLite store: account rules
 * apart from each other, server-wide rules for every account, rules reloaded when they change, and
 * correlation state that survives a failed commit and a restart without a match lost or doubled.
 * A commit fails once through a wrapper over the real store (a fault injected, nothing stubbed).
 */
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SigmaConsumer } from "../../src/consumers/sigma/sigma-consumer.js";
import { workerEvaluation, type SigmaEvaluation } from "../../src/consumers/sigma/sigma-evaluation.js";
import { openFileJournal, type Journal } from "../../src/journal/index.js";
import { parseRuleFile } from "../../src/sigma/index.js";
import {
  openSqliteSigmaStore,
  type SigmaMatchStore,
  type SigmaRuleStore,
  type StoredSigmaRule,
} from "../../src/stores/sigma/index.js";

const A = "111111111111";
const B = "222222222222";
const T0 = Date.parse("2026-03-01T10:00:00Z");
const clock = { nowMs: () => T0 + 3_600_000 };

function ruleYaml(id: string, eventName: string): string {
  return `title: rule ${id}\nid: ${id}\nlevel: high\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s: {eventName: ${eventName}}\n  condition: s\n`;
}

/** Three `Burst` calls by one user within ten minutes. */
const CORRELATION = `title: burst
id: burst-base
logsource: {product: aws, service: cloudtrail}
detection:
  s: {eventName: Burst}
  condition: s
---
title: three bursts
id: burst
level: critical
correlation:
  type: event_count
  rules: [burst-base]
  group-by: [userIdentity.arn]
  timespan: 10m
  condition: {gte: 3}
`;

let n = 0;
function record(accountId: string, eventName: string, minutes = n): Record<string, unknown> {
  n++;
  return {
    eventVersion: "1.08",
    eventID: `e-${accountId.slice(0, 1)}-${n}`,
    eventTime: new Date(T0 + minutes * 60_000).toISOString(),
    eventName,
    eventSource: "example.amazonaws.com",
    recipientAccountId: accountId,
    userIdentity: { type: "IAMUser", accountId, arn: `arn:aws:iam::${accountId}:user/u` },
  };
}

function stored(accountId: string, id: string, yaml: string): StoredSigmaRule {
  return { accountId, id, title: id, level: "high", yaml, addedBy: "test", addedAtMs: T0 };
}

type Store = SigmaRuleStore & SigmaMatchStore;

const idOf = (entry: { json: string }): string => (JSON.parse(entry.json) as { eventID: string }).eventID;

describe("the Sigma consumer", () => {
  const directory = mkdtempSync(join(tmpdir(), "cairn-sigma-consumer-"));
  after(() => rmSync(directory, { recursive: true, force: true }));
  let place = 0;

  async function setUp(serverYaml?: string) {
    const dir = join(directory, String(place++));
    const journal: Journal = await openFileJournal({ directory: join(dir, "journal") });
    const store: Store = openSqliteSigmaStore(join(dir, "sigma.db"));
    const serverRules = serverYaml !== undefined ? parseRuleFile("server.yml", serverYaml).rules : [];
    const evaluations: SigmaEvaluation[] = [];
    // Each consumer on its own worker thread, as the server runs it (a restart: a new one).
    const consumerOn = async (over: Store = store) => {
      const evaluation = await workerEvaluation(serverRules, () => undefined);
      evaluations.push(evaluation);
      return new SigmaConsumer({ store: over, journal, evaluation, clock });
    };
    const append = async (records: Record<string, unknown>[]) => {
      await journal.append(records.map((one) => ({ json: JSON.stringify(one) })));
      return journal.read(journal.headSeq() - records.length + 1, records.length);
    };
    const close = async () => {
      for (const evaluation of evaluations) await evaluation.close();
      await store.close();
      await journal.close();
    };
    return { journal, store, consumerOn, append, close };
  }

  const keys = async (store: Store, accountId: string) =>
    (await store.listMatches({ accountId, limit: 100 })).map((match) => `${match.ruleId} ${match.eventID}`);

  it("gives each account its own rules, and the server-wide rules to every account", async () => {
    const { store, consumerOn, append, close } = await setUp(ruleYaml("server", "Everywhere"));
    try {
      await store.put(stored(A, "mine", ruleYaml("mine", "Mine")), 10);
      const consumer = await consumerOn();
      await consumer.loadCursor();
      const batch = await append([
        record(A, "Mine"),
        record(B, "Mine"),
        record(A, "Everywhere"),
        record(B, "Everywhere"),
      ]);
      await consumer.handle(batch);
      assert.deepEqual(await keys(store, A), [`mine ${idOf(batch[0]!)}`, `server ${idOf(batch[2]!)}`]);
      assert.deepEqual(await keys(store, B), [`server ${idOf(batch[3]!)}`]);
      assert.equal(await store.cursor(), batch.at(-1)!.seq);
    } finally {
      await close();
    }
  });

  it("reloads the account's rules when they change", async () => {
    const { store, consumerOn, append, close } = await setUp();
    try {
      const consumer = await consumerOn();
      await consumer.loadCursor();
      await consumer.handle(await append([record(A, "Mine")]));
      await store.put(stored(A, "mine", ruleYaml("mine", "Mine")), 10);
      const second = await append([record(A, "Mine")]);
      await consumer.handle(second);
      await store.delete(A, "mine");
      await consumer.handle(await append([record(A, "Mine")]));
      assert.deepEqual(await keys(store, A), [`mine ${idOf(second[0]!)}`]);
    } finally {
      await close();
    }
  });

  it("neither loses nor doubles a correlation when a commit fails and the batch comes again", async () => {
    const { store, consumerOn, append, close } = await setUp(CORRELATION);
    try {
      let failNext = false;
      const flaky: Store = Object.assign(Object.create(store) as Store, {
        commit: (...args: Parameters<Store["commit"]>) => {
          if (!failNext) return store.commit(...args);
          failNext = false;
          return Promise.reject(new Error("disk went away"));
        },
      });
      const consumer = await consumerOn(flaky);
      await consumer.loadCursor();
      await consumer.handle(await append([record(A, "Burst", 1), record(A, "Burst", 2)]));
      const third = await append([record(A, "Burst", 3)]);
      failNext = true;
      await assert.rejects(consumer.handle(third), /disk went away/);
      await consumer.handle(third);
      assert.deepEqual(await keys(store, A), [`burst ${idOf(third[0]!)}`]);
    } finally {
      await close();
    }
  });

  it("rebuilds correlation state after a restart, storing nothing twice", async () => {
    const { store, consumerOn, append, close } = await setUp(CORRELATION);
    try {
      const first = await consumerOn();
      await first.loadCursor();
      await first.handle(await append([record(A, "Burst", 1), record(A, "Burst", 2), record(A, "Burst", 3)]));
      await first.handle(await append([record(A, "Burst", 4), record(A, "Burst", 5)]));
      assert.equal((await keys(store, A)).length, 1);
      const restarted = await consumerOn();
      assert.equal(await restarted.loadCursor(), await store.cursor());
      assert.equal(restarted.replayedEntries, 5);
      const sixth = await append([record(A, "Burst", 6)]);
      await restarted.handle(sixth);
      const listed = await keys(store, A);
      assert.equal(listed.length, 2, "the second burst of three fires once, across the restart");
      assert.equal(listed[1], `burst ${idOf(sixth[0]!)}`);
    } finally {
      await close();
    }
  });
});
