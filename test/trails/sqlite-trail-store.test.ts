import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteTrailStore } from "../../src/stores/trails/sqlite-trail-store.js";
import type { TrailConfig } from "../../src/stores/trails/trail.js";

const directory = mkdtempSync(join(tmpdir(), "cairn-trails-"));
after(() => rmSync(directory, { recursive: true, force: true }));
let counter = 0;
const freshPath = () => join(directory, `control-plane-${(counter += 1)}.db`);

function trail(name: string, accountId = "111122223333", region = "us-east-1"): TrailConfig {
  return {
    accountId,
    name,
    homeRegion: region,
    trailArn: `arn:aws:cloudtrail:${region}:${accountId}:trail/${name}`,
    s3BucketName: "bucket",
    includeGlobalServiceEvents: true,
    isMultiRegionTrail: false,
    isOrganizationTrail: false,
    logFileValidationEnabled: false,
    eventSelectors: [
      { ReadWriteType: "All", IncludeManagementEvents: true, DataResources: [], ExcludeManagementEventSources: [] },
    ],
    hasCustomEventSelectors: false,
    tags: [{ Key: "team", Value: "sec" }],
    isLogging: false,
    createdAtMs: 1_700_000_000_000,
  };
}

describe("openSqliteTrailStore", () => {
  it("stores, lists per account, replaces and deletes configurations", () => {
    const store = openSqliteTrailStore(freshPath());
    store.put(trail("b"));
    store.put(trail("a"));
    store.put(trail("a", "444455556666"));
    assert.deepEqual(
      store.list("111122223333").map((t) => t.name),
      ["a", "b"],
    );
    assert.equal(store.list().length, 3);
    assert.deepEqual(store.get("111122223333", "a"), trail("a"));
    assert.equal(store.get("111122223333", "zzz"), undefined);
    store.put({ ...trail("a"), isLogging: true, deliverFromSeq: 42 });
    assert.equal(store.get("111122223333", "a")?.deliverFromSeq, 42);
    store.delete("111122223333", "a");
    assert.equal(store.get("111122223333", "a"), undefined);
    assert.ok(store.get("444455556666", "a"));
    store.close();
  });

  it("survives a reopen", () => {
    const path = freshPath();
    const first = openSqliteTrailStore(path);
    first.put(trail("kept"));
    first.updateStatus(trail("kept").trailArn, { latestDeliveryTimeMs: 5 });
    first.close();
    const second = openSqliteTrailStore(path);
    assert.deepEqual(second.get("111122223333", "kept"), trail("kept"));
    assert.deepEqual(second.status(trail("kept").trailArn), { latestDeliveryTimeMs: 5 });
    second.close();
  });

  it("merges status updates; undefined clears a member; status goes with its trail", () => {
    const store = openSqliteTrailStore(freshPath());
    const arn = trail("s").trailArn;
    assert.deepEqual(store.status(arn), {});
    store.updateStatus(arn, { latestDeliveryTimeMs: 1 });
    assert.deepEqual(store.status(arn), {}, "no status for a trail that does not exist");
    store.put(trail("s"));
    store.updateStatus(arn, { latestDeliveryAttemptTimeMs: 10, latestDeliveryError: "AccessDenied" });
    store.updateStatus(arn, {
      latestDeliveryTimeMs: 11,
      latestDeliveryAttemptTimeMs: 11,
      latestDeliveryError: undefined,
    });
    assert.deepEqual(store.status(arn), { latestDeliveryAttemptTimeMs: 11, latestDeliveryTimeMs: 11 });
    store.delete("111122223333", "s");
    store.put(trail("s"));
    assert.deepEqual(store.status(arn), {}, "a re-created trail starts without status");
    store.close();
  });

  it("calls onChange listeners after put and delete, and survives a failing listener", () => {
    const errors: unknown[] = [];
    const store = openSqliteTrailStore(freshPath(), { onListenerError: (e) => errors.push(e) });
    const seen: string[] = [];
    store.onChange(() => {
      throw new Error("boom");
    });
    store.onChange(() =>
      seen.push(
        store
          .list()
          .map((t) => t.name)
          .join(","),
      ),
    );
    store.put(trail("x"));
    store.put(trail("y"));
    store.delete("111122223333", "x");
    store.delete("111122223333", "missing");
    assert.deepEqual(seen, ["x", "x,y", "y"]);
    assert.equal(errors.length, 3);
    store.close();
  });
});
