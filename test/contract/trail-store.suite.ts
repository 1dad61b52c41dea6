import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DeliveryState, DeliveryStateStore, TrailConfig, TrailStore } from "../../src/stores/trails/index.js";

/**
 * The trail control-plane contracts (src/stores/trails/), run against every backend: TrailStore
 * (configurations, status, change notifications) and DeliveryStateStore (per-trail cursor, intent
 * and digest chains). A backend hands out handles over its storage; a handle opened after another
 * was closed must see what that one wrote. Each test gets a fresh, empty storage.
 */
export interface Opened<T> {
  readonly store: T;
  close(): Promise<void>;
}

export interface TrailStoreBackend {
  open(options: { onListenerError: (error: unknown) => void }): Promise<Opened<TrailStore>>;
  cleanup(): Promise<void>;
}

export interface DeliveryStateStoreBackend {
  open(): Promise<Opened<DeliveryStateStore>>;
  cleanup(): Promise<void>;
}

const ACCOUNT = "111122223333";
const OTHER_ACCOUNT = "444455556666";
/** How long a change notification may take to arrive (a cluster backend delivers them asynchronously). */
const NOTIFICATION_WAIT_MS = 5_000;

function trail(name: string, accountId = ACCOUNT, region = "us-east-1"): TrailConfig {
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

async function eventually(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited >= NOTIFICATION_WAIT_MS) assert.fail(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function withBackend<B extends { cleanup(): Promise<void> }>(
  create: () => Promise<B>,
  body: (backend: B) => Promise<void>,
): Promise<void> {
  const backend = await create();
  try {
    await body(backend);
  } finally {
    await backend.cleanup();
  }
}

export function trailStoreContractSuite(name: string, create: () => Promise<TrailStoreBackend>): void {
  const ignoreErrors = { onListenerError: () => undefined };
  const withStore = (body: (store: TrailStore, backend: TrailStoreBackend) => Promise<void>) =>
    withBackend(create, async (backend) => {
      const opened = await backend.open(ignoreErrors);
      try {
        await body(opened.store, backend);
      } finally {
        await opened.close();
      }
    });

  describe(`TrailStore contract: ${name}`, () => {
    it("stores, lists per account, replaces and deletes configurations", () =>
      withStore(async (store) => {
        await store.put(trail("b"));
        await store.put(trail("a"));
        await store.put(trail("a", OTHER_ACCOUNT));
        assert.deepEqual(
          (await store.list(ACCOUNT)).map((t) => t.name),
          ["a", "b"],
        );
        assert.equal((await store.list()).length, 3);
        assert.deepEqual(
          (await store.list()).map((t) => `${t.accountId}/${t.name}`),
          [`${ACCOUNT}/a`, `${ACCOUNT}/b`, `${OTHER_ACCOUNT}/a`],
          "ordered by account, then name",
        );
        assert.deepEqual(await store.get(ACCOUNT, "a"), trail("a"));
        assert.equal(await store.get(ACCOUNT, "zzz"), undefined);
        await store.put({ ...trail("a"), isLogging: true, deliverFromSeq: 42 });
        assert.equal((await store.get(ACCOUNT, "a"))?.deliverFromSeq, 42);
        assert.equal((await store.list(ACCOUNT)).length, 2, "a put of an existing name replaces it");
        await store.delete(ACCOUNT, "a");
        assert.equal(await store.get(ACCOUNT, "a"), undefined);
        assert.ok(await store.get(OTHER_ACCOUNT, "a"));
        await store.delete(ACCOUNT, "never-existed");
        assert.deepEqual(
          (await store.list()).map((t) => `${t.accountId}/${t.name}`),
          [`${ACCOUNT}/b`, `${OTHER_ACCOUNT}/a`],
        );
      }));

    it("survives a reopen", () =>
      withBackend(create, async (backend) => {
        const first = await backend.open(ignoreErrors);
        await first.store.put(trail("kept"));
        await first.store.updateStatus(trail("kept").trailArn, { latestDeliveryTimeMs: 5 });
        await first.close();
        const second = await backend.open(ignoreErrors);
        try {
          assert.deepEqual(await second.store.get(ACCOUNT, "kept"), trail("kept"));
          assert.deepEqual(await second.store.status(trail("kept").trailArn), { latestDeliveryTimeMs: 5 });
        } finally {
          await second.close();
        }
      }));

    it("merges status updates; undefined clears a member; status goes with its trail", () =>
      withStore(async (store) => {
        const arn = trail("s").trailArn;
        assert.deepEqual(await store.status(arn), {});
        await store.updateStatus(arn, { latestDeliveryTimeMs: 1 });
        assert.deepEqual(await store.status(arn), {}, "no status for a trail that does not exist");
        await store.put(trail("s"));
        await store.updateStatus(arn, { latestDeliveryAttemptTimeMs: 10, latestDeliveryError: "AccessDenied" });
        await store.updateStatus(arn, {
          latestDeliveryTimeMs: 11,
          latestDeliveryAttemptTimeMs: 11,
          latestDeliveryError: undefined,
        });
        assert.deepEqual(await store.status(arn), { latestDeliveryAttemptTimeMs: 11, latestDeliveryTimeMs: 11 });
        await store.put({ ...trail("s"), isLogging: true });
        assert.deepEqual(
          await store.status(arn),
          { latestDeliveryAttemptTimeMs: 11, latestDeliveryTimeMs: 11 },
          "replacing the configuration keeps the status",
        );
        await store.delete(ACCOUNT, "s");
        await store.put(trail("s"));
        assert.deepEqual(await store.status(arn), {}, "a re-created trail starts without status");
      }));

    it("calls onChange listeners after put and delete, and survives a failing listener", () =>
      withBackend(create, async (backend) => {
        const errors: unknown[] = [];
        const { store, close } = await backend.open({ onListenerError: (error) => errors.push(error) });
        try {
          const seen: Array<Promise<string>> = [];
          store.onChange(() => {
            throw new Error("boom");
          });
          // What a listener reads when notified already includes the change.
          store.onChange(() => seen.push(store.list().then((trails) => trails.map((t) => t.name).join(","))));
          const changes = [() => store.put(trail("x")), () => store.put(trail("y")), () => store.delete(ACCOUNT, "x")];
          for (const [index, change] of changes.entries()) {
            await change();
            await eventually(() => seen.length > index, `notification ${index + 1}`);
          }
          assert.deepEqual(await Promise.all(seen), ["x", "x,y", "y"]);
          await eventually(() => errors.length === 3, "the failing listener's errors");
          assert.equal(errors.length, 3);
          // Nothing removed, no notification: the next change is the fourth one seen, not the fifth.
          await store.delete(ACCOUNT, "missing");
          await store.put(trail("z"));
          await eventually(() => seen.length >= 4, "notification 4");
          assert.deepEqual(await Promise.all(seen), ["x", "x,y", "y", "y,z"]);
        } finally {
          await close();
        }
      }));
  });
}

const ARN = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/main`;
const OTHER_ARN = `arn:aws:cloudtrail:eu-west-1:${ACCOUNT}:trail/second`;

/** A state in the middle of a delivery: a planned file, a delivered one, a chain and a pending digest. */
function midDelivery(trailArn = ARN): DeliveryState {
  return {
    version: 1,
    trailArn,
    cursor: 41,
    intent: {
      toSeq: 57,
      plannedAtMs: 1_700_000_060_000,
      files: [{ bucket: "b", key: "AWSLogs/x.json.gz", accountId: ACCOUNT, region: "us-east-1", seqs: [42, 45, 57] }],
    },
    undigested: [
      {
        accountId: ACCOUNT,
        region: "us-east-1",
        bucket: "b",
        key: "AWSLogs/w.json.gz",
        hashValue: "ab".repeat(32),
        oldestEventTime: "2023-11-14T22:13:20Z",
        newestEventTime: null,
        deliveredAtMs: 1_700_000_000_500,
      },
    ],
    chains: [
      {
        accountId: ACCOUNT,
        region: "us-east-1",
        epoch: 1_700_000_000_000,
        nextStartMs: 1_700_003_600_000,
        previous: { bucket: "b", key: "AWSLogs/d.json.gz", hashValue: "cd".repeat(32), signature: "ef".repeat(64) },
      },
    ],
    pendingDigests: [{ bucket: "b", key: "AWSLogs/e.json.gz", json: '{"digestEndTime":"x"}', signature: "01" }],
  };
}

export function deliveryStateStoreContractSuite(name: string, create: () => Promise<DeliveryStateStoreBackend>): void {
  const withStore = (body: (states: DeliveryStateStore) => Promise<void>) =>
    withBackend(create, async (backend) => {
      const opened = await backend.open();
      try {
        await body(opened.store);
      } finally {
        await opened.close();
      }
    });

  describe(`DeliveryStateStore contract: ${name}`, () => {
    it("loads an empty state for a trail never saved", () =>
      withStore(async (states) => {
        assert.deepEqual(await states.load(ARN), {
          version: 1,
          trailArn: ARN,
          cursor: 0,
          intent: null,
          undigested: [],
          chains: [],
          pendingDigests: [],
        });
      }));

    it("loads what was saved: intent, delivered files, digest chain and pending digests; per trail", () =>
      withStore(async (states) => {
        await states.save(midDelivery());
        assert.deepEqual(await states.load(ARN), midDelivery());
        assert.equal((await states.load(OTHER_ARN)).cursor, 0, "another trail's state is its own");
        // The commit step: the cursor moves and the intent goes, in one save.
        const committed: DeliveryState = { ...midDelivery(), cursor: 57, intent: null };
        await states.save(committed);
        assert.deepEqual(await states.load(ARN), committed);
      }));

    it("keeps the state as it was at save time", () =>
      withStore(async (states) => {
        const state = midDelivery();
        await states.save(state);
        state.cursor = 99;
        state.chains[0]!.nextStartMs = 0;
        assert.deepEqual(await states.load(ARN), midDelivery());
      }));

    it("survives a reopen", () =>
      withBackend(create, async (backend) => {
        const first = await backend.open();
        await first.store.save(midDelivery());
        await first.store.save(midDelivery(OTHER_ARN));
        await first.close();
        const second = await backend.open();
        try {
          assert.deepEqual(await second.store.load(ARN), midDelivery());
          assert.deepEqual(await second.store.load(OTHER_ARN), midDelivery(OTHER_ARN));
        } finally {
          await second.close();
        }
      }));
  });
}
