import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, it } from "node:test";
import {
  startTrailDelivery,
  type TrailDelivery,
  type TrailDeliveryDeps,
} from "../../../src/consumers/trail-delivery/trail-delivery-manager.js";
import {
  emptyDeliveryState as emptyState,
  type DeliveryState,
  type DeliveryStateStore,
} from "../../../src/stores/trails/delivery-state.js";
import { deliveryStatePath, openFileDeliveryStateStore } from "../../../src/stores/trails/file-delivery-state-store.js";
import type { TrailConfig } from "../../../src/stores/trails/trail.js";
import { systemClock } from "../../../src/lib/clock.js";
import { openFileSigningKeyStore } from "../../../src/stores/signing-keys/index.js";
import { testMasterKey } from "../../helpers/master-key.js";
import { compileEventSelectors } from "../../../src/selectors/selector-matcher.js";
import { collectOutput } from "../../../src/cli/output.js";
import { dataDirPublicKeys } from "../../../src/cli/validate-logs/sources.js";
import { validateLogs } from "../../../src/cli/validate-logs/validate-run.js";
import { MemoryJournal } from "../../helpers/memory-journal.js";
import {
  BUCKET,
  MemoryTrailStore,
  appendRecords,
  readLogFiles,
  record,
  trailConfig,
  workspace,
  type Workspace,
} from "./harness.js";

let ws: Workspace;
afterEach(() => ws.cleanup());

it("starts a consumer when a trail starts logging, delivers, and closes the digest chain at StopLogging", async () => {
  ws = workspace();
  await ws.store.ensureBucket(BUCKET);
  const journal = new MemoryJournal();
  const trails = new MemoryTrailStore();
  const trail = trailConfig({ isLogging: false, startLoggingTimeMs: Date.now() });
  await trails.put(trail);
  await appendRecords(journal, [record()]); // before StartLogging: not delivered
  const delivery = await startTrailDelivery({
    journal,
    trails,
    deliveryStates: openFileDeliveryStateStore(ws.dataDir),
    objectStore: ws.store,
    keys: openFileSigningKeyStore({ dataDir: ws.dataDir, clock: systemClock, masterKey: testMasterKey() }),
    clock: systemClock,
    deliveryIntervalSeconds: 1,
    digestIntervalSeconds: 3600,
    matcherFor: (t) => compileEventSelectors(t),
    tickMs: 20,
  });
  try {
    await trails.put({ ...trail, isLogging: true, deliverFromSeq: journal.headSeq() + 1 });
    const logged = [record(), record({ eventName: "RunInstances", readOnly: false })];
    await appendRecords(journal, logged);
    await delivery.flush();
    assert.deepEqual(
      (await readLogFiles(ws.store)).flatMap((f) => f.eventIds).sort(),
      logged.map((r) => r.eventID).sort(),
    );
    assert.equal(delivery.neededFromSeq(), journal.headSeq() + 1);

    await new Promise((resolve) => setTimeout(resolve, 1100)); // the final digest ends at least a second after the chain began
    await trails.put({ ...trail, isLogging: false, deliverFromSeq: 2 });
    await delivery.flush(); // waits for the reconcile that drains and closes the chain
    assert.equal((await digestKeys()).length, 1);
    await assertValidates(trail, 1);
    assert.ok((await trails.status(trail.trailArn)).latestDigestDeliveryTimeMs !== undefined);
  } finally {
    await delivery.stop();
  }
});

it("drains a stop whose drain never ran (the process died after StopLogging) at the next start, once", async () => {
  ws = workspace();
  await ws.store.ensureBucket(BUCKET);
  const journal = new MemoryJournal();
  const trails = new MemoryTrailStore();
  // Logging began a while ago, so the final digest covers a period of at least a second.
  const trail = trailConfig({ startLoggingTimeMs: Date.now() - 5_000 });
  await trails.put(trail);
  const errors: unknown[] = [];
  const dying = await startDelivery(journal, trails, errors);
  const logged = [record(), record({ eventName: "RunInstances", readOnly: false })];
  await appendRecords(journal, logged);
  await dying.stop(); // as a kill would: nothing delivered, no drain
  assert.deepEqual(await readLogFiles(ws.store), []);

  // StopLogging ran on another node, or after this process restarted, with no deliverer to drain.
  await trails.put({ ...trail, isLogging: false, deliverUntilSeq: journal.headSeq(), stopLoggingTimeMs: Date.now() });
  const stop = record({
    eventSource: "cloudtrail.amazonaws.com",
    eventName: "StopLogging",
    readOnly: false,
    requestParameters: { name: trail.name },
  });
  await appendRecords(journal, [stop, record()]);

  const next = await startDelivery(journal, trails, errors);
  await next.stop();
  const files = await readLogFiles(ws.store);
  assert.deepEqual(files.flatMap((file) => file.eventIds).sort(), [...logged, stop].map((r) => r.eventID).sort());
  assert.equal((await digestKeys()).length, 1, "the drain closed the digest chain");
  await assertValidates(trail, files.length);

  const again = await startDelivery(journal, trails, errors);
  await again.stop();
  assert.equal((await readLogFiles(ws.store)).length, files.length, "a drained stop is not drained twice");
  assert.equal((await digestKeys()).length, 1);
  assert.deepEqual(errors, []);
});

it("delivers a deleted logging trail's events and final digest; a new trail of its name starts with no cursor or chain", async () => {
  ws = workspace();
  await ws.store.ensureBucket(BUCKET);
  const journal = new MemoryJournal();
  const trails = new MemoryTrailStore();
  const states = openFileDeliveryStateStore(ws.dataDir);
  const trail = trailConfig({ startLoggingTimeMs: Date.now() - 5_000 });
  await trails.put(trail);
  const errors: unknown[] = [];
  const delivery = await startDelivery(journal, trails, errors, states);
  try {
    const logged = [record(), record({ eventName: "RunInstances", readOnly: false })];
    await appendRecords(journal, logged);
    await trails.delete(trail.accountId, trail.name, { journalHeadSeq: journal.headSeq() });
    await appendRecords(journal, [record()]); // after DeleteTrail: not the deleted trail's
    await delivery.flush(); // waits for the reconcile that drains the deleted trail
    const files = await readLogFiles(ws.store);
    assert.deepEqual(files.flatMap((file) => file.eventIds).sort(), logged.map((r) => r.eventID).sort());
    assert.equal((await digestKeys()).length, 1, "the final digest");
    await assertValidates(trail, files.length);
    assert.deepEqual(await trails.deletedTrails(), [], "forgotten once drained");
    const left = await states.load(trail.trailArn);
    assert.deepEqual(
      { ...left, drainedUntilSeq: undefined },
      { ...emptyState(trail.trailArn), drainedUntilSeq: undefined },
    );

    // CreateTrail + StartLogging of the same name: its own files and a chain of its own.
    const startedMs = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1100)); // its final digest ends a second after its chain began
    const again = trailConfig({
      startLoggingTimeMs: startedMs,
      createdAtMs: startedMs,
      deliverFromSeq: journal.headSeq() + 1,
    });
    await trails.create(again);
    const next = [record({ eventName: "TerminateInstances", readOnly: false })];
    await appendRecords(journal, next);
    await trails.delete(again.accountId, again.name, { journalHeadSeq: journal.headSeq() });
    await delivery.flush();
    const after = (await readLogFiles(ws.store)).flatMap((file) => file.eventIds);
    assert.deepEqual(after.sort(), [...logged, ...next].map((r) => r.eventID).sort());
    const digests = await digestKeys();
    assert.equal(digests.length, 2);
    const newest = JSON.parse(gunzipSync((await ws.store.getObject(BUCKET, digests.sort().at(-1)!))!.body).toString());
    assert.equal(newest.previousDigestSignature, null, "the new trail's chain does not follow the deleted one's");
    assert.deepEqual(errors, []);
  } finally {
    await delivery.stop();
  }
});

it("drains a trail deleted while no process delivered it at the next start, once", async () => {
  ws = workspace();
  await ws.store.ensureBucket(BUCKET);
  const journal = new MemoryJournal();
  const trails = new MemoryTrailStore();
  const trail = trailConfig({ startLoggingTimeMs: Date.now() - 5_000 });
  await trails.put(trail);
  const errors: unknown[] = [];
  const dying = await startDelivery(journal, trails, errors);
  const logged = [record(), record({ eventName: "RunInstances", readOnly: false })];
  await appendRecords(journal, logged);
  await dying.stop(); // as a kill would: nothing delivered
  await trails.delete(trail.accountId, trail.name, { journalHeadSeq: journal.headSeq() });
  await appendRecords(journal, [record()]);

  const next = await startDelivery(journal, trails, errors);
  await next.stop();
  const files = await readLogFiles(ws.store);
  assert.deepEqual(files.flatMap((file) => file.eventIds).sort(), logged.map((r) => r.eventID).sort());
  assert.equal((await digestKeys()).length, 1);
  await assertValidates(trail, files.length);
  assert.deepEqual(await trails.deletedTrails(), []);

  const again = await startDelivery(journal, trails, errors);
  await again.stop();
  assert.equal((await readLogFiles(ws.store)).length, files.length, "drained once");
  assert.deepEqual(errors, []);
});

async function digestKeys(): Promise<string[]> {
  const listed = await ws.store.listObjects(BUCKET, { prefix: "AWSLogs/111122223333/CloudTrail-Digest/" });
  return listed.objects.map((object) => object.key);
}

/** `cairn validate-logs` over the trail's logging time finds one valid digest and `logFiles` valid log files. */
async function assertValidates(trail: TrailConfig, logFiles: number): Promise<void> {
  const stdout = collectOutput();
  const stderr = collectOutput();
  const result = await validateLogs({
    trailArn: trail.trailArn,
    target: { accountId: trail.accountId, trailName: trail.name, homeRegion: "us-east-1", sourceRegion: "us-east-1" },
    bucket: BUCKET,
    startMs: trail.startLoggingTimeMs! - 60_000,
    endMs: Date.now(),
    verbose: false,
    reader: ws.store,
    publicKeys: dataDirPublicKeys(ws.dataDir, "us-east-1"),
    stdout,
    stderr,
  });
  assert.equal(result.exitCode, 0, stderr.text());
  assert.match(stdout.text(), new RegExp(`1/1 digest files valid\\n${logFiles}/${logFiles} log files valid\\n$`));
}

/** Trail delivery over the workspace's stores, reporting errors into `errors` instead of stderr. */
function startDelivery(
  journal: MemoryJournal,
  trails: MemoryTrailStore,
  errors: unknown[],
  deliveryStates: DeliveryStateStore = openFileDeliveryStateStore(ws.dataDir),
): Promise<TrailDelivery> {
  const deps: TrailDeliveryDeps = {
    journal,
    trails,
    deliveryStates,
    objectStore: ws.store,
    keys: openFileSigningKeyStore({ dataDir: ws.dataDir, clock: systemClock, masterKey: testMasterKey() }),
    clock: systemClock,
    // Long intervals: only flush() delivers, so nothing rewrites the state file while a test damages it.
    deliveryIntervalSeconds: 3600,
    digestIntervalSeconds: 3600,
    matcherFor: (t) => compileEventSelectors(t),
    tickMs: 20,
    onError: (error) => errors.push(error),
  };
  return startTrailDelivery(deps);
}

/** The consumer statuses without their error text, which the tests match separately. */
function holds(delivery: TrailDelivery): Array<{ name: string; cursor: number; neededFromSeq: number }> {
  return delivery.consumers().map(({ name, cursor, neededFromSeq }) => ({ name, cursor, neededFromSeq }));
}

it("a trail whose consumer cannot restart keeps holding journal retention at its cursor, and starts once it can", async () => {
  ws = workspace();
  await ws.store.ensureBucket(BUCKET);
  const journal = new MemoryJournal();
  const trails = new MemoryTrailStore();
  const trail = trailConfig({ startLoggingTimeMs: Date.now() });
  await trails.put(trail);
  const errors: unknown[] = [];
  const delivery = await startDelivery(journal, trails, errors);
  try {
    await appendRecords(journal, [record(), record()]);
    await delivery.flush();
    const delivered = journal.headSeq();
    const statePath = deliveryStatePath(ws.dataDir, trail.trailArn);
    const savedState = readFileSync(statePath, "utf8");

    writeFileSync(statePath, "{ damaged");
    const waiting = record();
    await appendRecords(journal, [waiting]);
    await trails.put({ ...trail, s3KeyPrefix: "moved" }); // a changed configuration restarts the consumer
    await delivery.flush();
    const name = `trail-delivery:${trail.trailArn}`;
    assert.deepEqual(holds(delivery), [{ name, cursor: delivered, neededFromSeq: delivered + 1 }]);
    assert.equal(delivery.neededFromSeq(), delivered + 1);
    assert.match(delivery.consumers()[0]!.lastError ?? "", /JSON/);
    assert.equal(errors.length, 1);

    writeFileSync(statePath, savedState);
    await trails.put({ ...trail, s3KeyPrefix: "moved-again" }); // the next reconcile retries
    await delivery.flush();
    assert.deepEqual(holds(delivery), [{ name, cursor: journal.headSeq(), neededFromSeq: journal.headSeq() + 1 }]);
    assert.equal(delivery.consumers()[0]!.lastError, undefined);
    const movedAgain = await readLogFiles(ws.store, "moved-again/");
    assert.deepEqual(
      movedAgain.flatMap((f) => f.eventIds),
      [waiting.eventID],
    );
  } finally {
    await delivery.stop();
  }
});

it("a trail that cannot read its delivery state at all holds the whole journal", async () => {
  ws = workspace();
  const journal = new MemoryJournal();
  await appendRecords(journal, [record(), record()]);
  const trails = new MemoryTrailStore();
  const trail = trailConfig();
  await trails.put(trail);
  const statePath = deliveryStatePath(ws.dataDir, trail.trailArn);
  mkdirSync(dirname(statePath), { recursive: true });
  writeFileSync(statePath, "{ damaged");
  const errors: unknown[] = [];
  const delivery = await startDelivery(journal, trails, errors);
  try {
    assert.deepEqual(holds(delivery), [{ name: `trail-delivery:${trail.trailArn}`, cursor: 0, neededFromSeq: 1 }]);
    assert.equal(delivery.neededFromSeq(), 1);
    assert.equal(errors.length, 1);
  } finally {
    await delivery.stop();
  }
});

it("a trail whose consumer fails to start holds retention at the cursor its saved state records", async () => {
  ws = workspace();
  await ws.store.ensureBucket(BUCKET);
  const journal = new MemoryJournal();
  const trails = new MemoryTrailStore();
  const trail: TrailConfig = trailConfig({ startLoggingTimeMs: Date.now() });
  await trails.put(trail);
  const first = await startDelivery(journal, trails, []);
  await appendRecords(journal, [record()]);
  await first.flush();
  await first.stop();
  const delivered = journal.headSeq();
  await appendRecords(journal, [record()]);

  const states = new FlakyDeliveryStates(openFileDeliveryStateStore(ws.dataDir));
  states.failingLoads = 1;
  const errors: unknown[] = [];
  const delivery = await startDelivery(journal, trails, errors, states);
  try {
    const name = `trail-delivery:${trail.trailArn}`;
    assert.deepEqual(holds(delivery), [{ name, cursor: delivered, neededFromSeq: delivered + 1 }]);
    assert.match(delivery.consumers()[0]!.lastError ?? "", /EMFILE/);
    assert.equal(errors.length, 1);
  } finally {
    await delivery.stop();
  }
});

/** The file store, except that the next `failingLoads` loads fail the way a process out of file handles does. */
class FlakyDeliveryStates implements DeliveryStateStore {
  failingLoads = 0;
  constructor(private readonly inner: DeliveryStateStore) {}
  load(trailArn: string): Promise<DeliveryState> {
    if (this.failingLoads === 0) return this.inner.load(trailArn);
    this.failingLoads--;
    return Promise.reject(Object.assign(new Error("EMFILE: too many open files"), { code: "EMFILE" }));
  }
  save(state: DeliveryState): Promise<void> {
    return this.inner.save(state);
  }
}
