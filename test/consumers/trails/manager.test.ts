import assert from "node:assert/strict";
import { afterEach, it } from "node:test";
import { startTrailDelivery } from "../../../src/consumers/trail-delivery/trail-delivery-manager.js";
import { openFileDeliveryStateStore } from "../../../src/stores/trails/file-delivery-state-store.js";
import { systemClock } from "../../../src/lib/clock.js";
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
    dataDir: ws.dataDir,
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
    const digests = (await ws.store.listObjects(BUCKET, { prefix: "AWSLogs/111122223333/CloudTrail-Digest/" })).objects;
    assert.equal(digests.length, 1);
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
    assert.match(stdout.text(), /1\/1 digest files valid\n1\/1 log files valid\n$/);
    assert.ok((await trails.status(trail.trailArn)).latestDigestDeliveryTimeMs !== undefined);
  } finally {
    await delivery.stop();
  }
});
