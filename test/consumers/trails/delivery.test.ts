import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it } from "node:test";
import { TrailDeliverer, type TrailDelivererOptions } from "../../../src/consumers/trail-delivery/trail-deliverer.js";
import { openFileSigningKeyStore, type SigningKeyStore } from "../../../src/stores/signing-keys/signing-keys.js";
import { testMasterKey } from "../../helpers/master-key.js";
import { gunzipFirstMember } from "../../../src/cli/validate-logs/gzip-member.js";
import type { TrailConfig } from "../../../src/stores/trails/trail.js";
import { openFileDeliveryStateStore } from "../../../src/stores/trails/file-delivery-state-store.js";
import { StaleFencingTokenError } from "../../../src/stores/trails/delivery-state.js";
import { MemoryJournal } from "../../helpers/memory-journal.js";
import {
  ACCOUNT,
  BUCKET,
  FaultyObjectStore,
  ManualClock,
  MemoryTrailStore,
  appendRecords,
  everything,
  readLogFiles,
  record,
  trailConfig,
  workspace,
  type Workspace,
} from "./harness.js";

const T0 = Date.UTC(2025, 2, 1, 12, 0, 0);
const LOG_KEY =
  /^AWSLogs\/111122223333\/CloudTrail\/(us-east-1|eu-west-1)\/2025\/03\/01\/111122223333_CloudTrail_\1_20250301T\d{4}Z_[A-Za-z0-9]{16}\.json\.gz$/;

describe("trail log file delivery", () => {
  let ws: Workspace;
  let journal: MemoryJournal;
  let clock: ManualClock;
  let trails: MemoryTrailStore;
  let store: FaultyObjectStore;
  let keys: SigningKeyStore;

  beforeEach(async () => {
    ws = workspace();
    clock = new ManualClock(T0);
    journal = new MemoryJournal(() => clock.nowMs());
    trails = new MemoryTrailStore();
    store = new FaultyObjectStore(ws.store);
    keys = openFileSigningKeyStore({ dataDir: ws.dataDir, clock, masterKey: testMasterKey() });
    await ws.store.ensureBucket(BUCKET);
  });
  afterEach(() => ws.cleanup());

  /** A fresh deliverer over the same data dir, as after a process restart; caught up with the journal. */
  async function deliverer(trail: TrailConfig, extra: Partial<TrailDelivererOptions> = {}): Promise<TrailDeliverer> {
    await trails.put(trail);
    const d = new TrailDeliverer({
      trail,
      journal,
      trails,
      objectStore: store,
      keys,
      matcher: everything,
      deliveryStates: openFileDeliveryStateStore(ws.dataDir),
      clock,
      deliveryIntervalSeconds: 60,
      digestIntervalSeconds: 3600,
      ...extra,
    });
    const cursor = await d.loadCursor();
    await d.recover();
    await d.handle(await journal.read(cursor + 1, 100_000));
    await d.idle(); // the delivery handle() started runs beside it
    return d;
  }

  async function catchUp(d: TrailDeliverer): Promise<void> {
    await d.handle(await journal.read(d.examinedSeq() + 1, 100_000));
    await d.idle();
  }

  it("waits for the interval, then writes one single-member gzip file of the trail's records", async () => {
    const trail = trailConfig({ logFileValidationEnabled: false });
    const mine = [record(), record({ eventName: "RunInstances" })];
    const foreignRegion = record({ awsRegion: "eu-west-1" });
    const foreignAccount = record({ recipientAccountId: "999999999999" });
    await appendRecords(journal, [...mine, foreignRegion, foreignAccount]);
    const d = await deliverer(trail);
    await d.tick();
    assert.equal((await readLogFiles(ws.store)).length, 0, "nothing before the interval");

    clock.advance(60_000);
    await d.tick();
    const files = await readLogFiles(ws.store);
    assert.equal(files.length, 1);
    const [file] = files;
    assert.match(file!.key, LOG_KEY);
    assert.deepEqual(
      file!.eventIds,
      mine.map((r) => r.eventID),
    );
    const member = gunzipFirstMember(file!.gzip);
    assert.ok(member.ok && !member.trailing, "exactly one gzip member");
    assert.ok(member.ok && member.data.toString("utf8").startsWith('{"Records":[{"eventVersion"'));
    const object = await ws.store.getObject(BUCKET, file!.key);
    assert.equal(object?.contentType, "application/json");
    assert.equal(object?.contentEncoding, "gzip");
    assert.equal((await trails.status(trail.trailArn)).latestDeliveryTimeMs, clock.ms);
    assert.equal((await trails.status(trail.trailArn)).latestDeliveryError, undefined);
  });

  it("once revoked (its lease lost) mid-plan, puts no further file, saves nothing, and its successor finishes the plan", async () => {
    const trail = trailConfig({ logFileValidationEnabled: false });
    const records = [record(), record(), record()];
    let onPut = (): void => undefined;
    const revoking = new FaultyObjectStore(store);
    const putObject = revoking.putObject.bind(revoking);
    // Revoked as its first put is sent: the files of a plan are put at once, so "after the first put
    // landed" would find the others already sent (a put already sent may land; none may start after).
    revoking.putObject = async (...args) => {
      onPut();
      await putObject(...args);
    };
    const lost = await deliverer(trail, { recordsPerFileMax: 1, objectStore: revoking });
    onPut = () => lost.revoke("The lease on the trail passed to another node.");
    await appendRecords(journal, records);
    await catchUp(lost); // three full files: plans them, is revoked as it puts the first
    clock.advance(60_000);
    await lost.tick();
    await assert.rejects(lost.flush(), /passed to another node/);
    assert.equal(revoking.puts, 1, "no put after the revocation, not even of the plan under way, nor a retry");
    await assert.rejects(lost.handle(await journal.read(1, 10)), /passed to another node/);

    const successor = await deliverer(trail, { recordsPerFileMax: 1 }); // recover() puts the saved plan
    const files = await readLogFiles(ws.store);
    assert.equal(files.length, 3, "the first file was rewritten under its planned key, not planned again");
    assert.deepEqual(files.flatMap((f) => f.eventIds).sort(), records.map((r) => r.eventID).sort());
    assert.equal(successor.neededFromSeq(), journal.headSeq() + 1);
  });

  it("with a fencing token, stops a deliverer whose state a later holder loaded before it puts anything", async () => {
    const trail = trailConfig({ logFileValidationEnabled: false });
    const first = [record(), record()];
    await appendRecords(journal, first);
    const stale = await deliverer(trail, { fencingToken: 1 });
    await stale.flush();
    // The lease passed on: the new holder loads (claims) the state with a greater token.
    const current = await deliverer(trail, { fencingToken: 2 });
    const later = [record(), record()];
    await appendRecords(journal, later);
    await catchUp(stale);
    await assert.rejects(stale.flush(), StaleFencingTokenError);
    assert.deepEqual(
      (await readLogFiles(ws.store)).flatMap((f) => f.eventIds),
      first.map((r) => r.eventID),
      "the stale holder put nothing after the takeover",
    );
    await catchUp(current);
    await current.flush();
    const delivered = (await readLogFiles(ws.store)).flatMap((f) => f.eventIds);
    assert.deepEqual(delivered.sort(), [...first, ...later].map((r) => r.eventID).sort(), "each event once");
  });

  it("multi-region trails write one file per region; IncludeGlobalServiceEvents=false drops global events", async () => {
    const trail = trailConfig({
      isMultiRegionTrail: true,
      includeGlobalServiceEvents: false,
      logFileValidationEnabled: false,
    });
    const east = record();
    const west = record({ awsRegion: "eu-west-1" });
    const iam = record({ eventSource: "iam.amazonaws.com", eventName: "CreateUser" });
    await appendRecords(journal, [east, west, iam]);
    const d = await deliverer(trail);
    await d.flush();
    const files = await readLogFiles(ws.store);
    assert.equal(files.length, 2);
    for (const f of files) assert.match(f.key, LOG_KEY);
    assert.deepEqual(files.flatMap((f) => f.eventIds).sort(), [east.eventID, west.eventID].sort());
  });

  it("splits at the records-per-file cap and delivers a full file without waiting", async () => {
    const trail = trailConfig({ logFileValidationEnabled: false });
    const records = Array.from({ length: 25 }, () => record());
    await appendRecords(journal, records);
    const d = await deliverer(trail, { recordsPerFileMax: 10 });
    const files = await readLogFiles(ws.store);
    assert.deepEqual(files.map((f) => f.eventIds.length).sort(), [10, 10, 5]);
    assert.deepEqual(files.flatMap((f) => f.eventIds).sort(), records.map((r) => r.eventID).sort());
    await d.flush();
    assert.equal((await readLogFiles(ws.store)).length, 3);
  });

  it("starts at deliverFromSeq: what happened before StartLogging is not delivered", async () => {
    const before = record();
    await appendRecords(journal, [before]);
    const after = record();
    await appendRecords(journal, [after]);
    const d = await deliverer(trailConfig({ deliverFromSeq: 2, logFileValidationEnabled: false }));
    await d.flush();
    assert.deepEqual(
      (await readLogFiles(ws.store)).flatMap((f) => f.eventIds),
      [after.eventID],
    );
  });

  it("exactly once: a crash between put and cursor commit re-puts the same key, never a second file", async () => {
    const trail = trailConfig({ isMultiRegionTrail: true, logFileValidationEnabled: false });
    const first = [record(), record({ awsRegion: "eu-west-1" }), record()];
    await appendRecords(journal, first);
    const crashed = await deliverer(trail);
    store.mode = "crash-after-put"; // the objects land, then the process "dies" before committing
    await assert.rejects(crashed.flush());
    const afterCrash = (await readLogFiles(ws.store)).map((f) => f.key).sort();
    assert.equal(afterCrash.length, 1, "the first put landed, the crash stopped the second");

    store.mode = "ok";
    const second = [record(), record({ awsRegion: "eu-west-1" })];
    await appendRecords(journal, second);
    const restarted = await deliverer(trail); // recover() redoes the saved intent first
    const afterRecovery = (await readLogFiles(ws.store)).map((f) => f.key).sort();
    assert.equal(afterRecovery.length, 2, "both planned files, under their planned keys");
    assert.ok(afterRecovery.includes(afterCrash[0]!));
    await restarted.flush();

    const files = await readLogFiles(ws.store);
    const delivered = files.flatMap((f) => f.eventIds);
    assert.equal(new Set(delivered).size, delivered.length, "no event in two files");
    assert.deepEqual(delivered.sort(), [...first, ...second].map((r) => r.eventID).sort(), "none missing");
    assert.equal(files.length, 4);
  });

  it("exactly once: a crash before planning (records only in memory) loses nothing", async () => {
    const trail = trailConfig({ logFileValidationEnabled: false });
    const records = [record(), record()];
    await appendRecords(journal, records);
    await deliverer(trail); // examined, buffered in memory, then the process dies
    const restarted = await deliverer(trail);
    await restarted.flush();
    await restarted.flush();
    assert.deepEqual(
      (await readLogFiles(ws.store)).flatMap((f) => f.eventIds).sort(),
      records.map((r) => r.eventID).sort(),
    );
  });

  it("S3 outage: reports the error, keeps the events, backs off, then catches up", async () => {
    const trail = trailConfig({ logFileValidationEnabled: false });
    const d = await deliverer(trail);
    store.mode = "fail";
    const during = [record(), record()];
    await appendRecords(journal, during);
    await catchUp(d);
    clock.advance(60_000);
    await d.tick();
    const failed = await trails.status(trail.trailArn);
    assert.match(String(failed.latestDeliveryError), /simulated outage/);
    assert.equal(failed.latestDeliveryAttemptTimeMs, clock.ms);
    assert.equal(failed.latestDeliveryTimeMs, undefined);

    const more = [record()];
    await appendRecords(journal, more);
    await catchUp(d);
    clock.advance(500);
    await d.tick(); // inside the back-off: no attempt
    assert.equal((await trails.status(trail.trailArn)).latestDeliveryAttemptTimeMs, clock.ms - 500);

    store.mode = "ok";
    clock.advance(5_000);
    await d.tick(); // the saved intent goes first
    await d.flush(); // then what arrived during the outage
    const status = await trails.status(trail.trailArn);
    assert.equal(status.latestDeliveryError, undefined);
    assert.equal(status.latestDeliveryTimeMs, clock.ms);
    const delivered = (await readLogFiles(ws.store)).flatMap((f) => f.eventIds).sort();
    assert.deepEqual(delivered, [...during, ...more].map((r) => r.eventID).sort());
  });

  it("handle() returns while a delivery is under way; what it examined meanwhile goes into the next one", async () => {
    const trail = trailConfig({ logFileValidationEnabled: false });
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const gated = new FaultyObjectStore(store);
    const putObject = gated.putObject.bind(gated);
    gated.putObject = async (...args) => {
      await gate;
      await putObject(...args);
    };
    const d = await deliverer(trail, { recordsPerFileMax: 2, objectStore: gated });
    const first = [record(), record()];
    await appendRecords(journal, first);
    await d.handle(await journal.read(d.examinedSeq() + 1, 100)); // a full file: its delivery starts
    const meanwhile = [record(), record(), record()];
    await appendRecords(journal, meanwhile);
    await d.handle(await journal.read(d.examinedSeq() + 1, 100)); // resolves although the put waits
    assert.equal(d.examinedSeq(), journal.headSeq());
    assert.equal((await readLogFiles(ws.store)).length, 0, "the first put is still held");

    release();
    await d.idle();
    const files = await readLogFiles(ws.store);
    assert.deepEqual(files.map((f) => f.eventIds.length).sort(), [1, 2, 2]);
    const delivered = files.flatMap((f) => f.eventIds);
    assert.deepEqual(delivered.sort(), [...first, ...meanwhile].map((r) => r.eventID).sort(), "each event once");
    assert.equal(d.neededFromSeq(), journal.headSeq() + 1, "the cursor moved past all of them");
  });

  it("a file's eventTime range for its digest is the same planned in memory or read back after a crash", async () => {
    const trail = trailConfig({ logFileValidationEnabled: true });
    const times = ["2025-03-01T11:58:00.250Z", "2025-03-01T11:59:00Z", "2025-03-01T11:57:30Z"];
    const expected = { oldestEventTime: "2025-03-01T11:57:30Z", newestEventTime: "2025-03-01T11:59:00Z" };
    const states = openFileDeliveryStateStore(ws.dataDir);
    const rangesOf = async (): Promise<object[]> =>
      (await states.load(trail.trailArn)).undigested.map((f) => ({
        oldestEventTime: f.oldestEventTime,
        newestEventTime: f.newestEventTime,
      }));

    await appendRecords(
      journal,
      times.map((eventTime) => record({ eventTime })),
    );
    const planned = await deliverer(trail);
    await planned.flush(); // range from the records it examined
    assert.deepEqual(await rangesOf(), [expected]);

    await appendRecords(
      journal,
      times.map((eventTime) => record({ eventTime })),
    );
    await catchUp(planned);
    store.mode = "crash-after-put";
    await assert.rejects(planned.flush());
    store.mode = "ok";
    await deliverer(trail); // recover() puts the saved plan again: range parsed from the journal's records
    assert.deepEqual(await rangesOf(), [expected, expected]);
  });

  it("scopes by account: recipientAccountId, else the caller's account", async () => {
    const trail = trailConfig({ logFileValidationEnabled: false });
    const byCaller = record({ recipientAccountId: undefined });
    const otherCaller = record({ recipientAccountId: undefined, userIdentity: { accountId: "444455556666" } });
    await appendRecords(journal, [byCaller, otherCaller]);
    const d = await deliverer(trail);
    await d.flush();
    assert.deepEqual(
      (await readLogFiles(ws.store)).flatMap((f) => f.eventIds),
      [byCaller.eventID],
    );
    assert.equal(ACCOUNT, trail.accountId);
  });
});
