import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  StaleFencingTokenError,
  TrailAlreadyExistsError,
  type DeliveryState,
  type DeliveryStateStore,
  type TrailConfig,
  type TrailStore,
} from "../../src/stores/trails/index.js";

/**
 * The trail control-plane contracts (src/stores/trails/), run against every backend: TrailStore
 * (configurations, status, change notifications) and DeliveryStateStore (per-trail cursor, intent
 * and digest chains). A backend hands out handles over its storage; a handle opened after another
 * was closed must see what that one wrote, and two handles open at once are two nodes on the same
 * storage. Each test gets a fresh, empty storage.
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

  /** Two handles open at once on one storage: two nodes. */
  const withNodes = (body: (stores: TrailStore[]) => Promise<void>, count = 2) =>
    withBackend(create, async (backend) => {
      const opened: Array<Opened<TrailStore>> = [];
      try {
        for (let index = 0; index < count; index++) opened.push(await backend.open(ignoreErrors));
        await body(opened.map((handle) => handle.store));
      } finally {
        for (const handle of opened.reverse()) await handle.close();
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

    it("creates a trail once: a taken name is TrailAlreadyExistsError, and of racing creates on two handles one wins", () =>
      withNodes(async (nodes) => {
        const [first, second] = nodes as [TrailStore, TrailStore];
        await first.create(trail("solo"));
        await assert.rejects(first.create({ ...trail("solo"), s3BucketName: "other" }), TrailAlreadyExistsError);
        await first.create(trail("solo", OTHER_ACCOUNT));
        const racers = Array.from({ length: 6 }, (_, index) => ({
          ...trail("raced"),
          s3BucketName: `bucket-${index}`,
        }));
        const outcomes = await Promise.allSettled(racers.map((t, index) => [first, second][index % 2]!.create(t)));
        const won = outcomes.flatMap((outcome, index) => (outcome.status === "fulfilled" ? [racers[index]!] : []));
        assert.equal(won.length, 1, "exactly one create of a name wins");
        for (const outcome of outcomes)
          if (outcome.status === "rejected")
            assert.ok(outcome.reason instanceof TrailAlreadyExistsError, String(outcome.reason));
        assert.deepEqual(await second.get(ACCOUNT, "raced"), won[0], "the winner's configuration is the stored one");
        assert.deepEqual(await second.get(ACCOUNT, "solo"), trail("solo"), "a refused create changes nothing");
      }));

    it("holds a quota that the check enforces however many creates race on four handles", () =>
      withNodes(async (nodes) => {
        const [first, second] = nodes as [TrailStore, TrailStore];
        const quotaError = new Error("quota");
        const atMostThree = (accountTrails: readonly TrailConfig[]) => {
          if (accountTrails.filter((t) => t.homeRegion === "us-east-1").length >= 3) throw quotaError;
        };
        await first.create(trail("elsewhere", ACCOUNT, "eu-west-1"), atMostThree);
        // Every handle has already talked to its storage, so the creates start together.
        await Promise.all(nodes.map((node) => node.list(ACCOUNT)));
        const names = Array.from({ length: 12 }, (_, index) => `q${index}`);
        const outcomes = await Promise.allSettled(
          names.map((name, index) => nodes[index % nodes.length]!.create(trail(name), atMostThree)),
        );
        assert.equal(outcomes.filter((o) => o.status === "fulfilled").length, 3);
        for (const outcome of outcomes) if (outcome.status === "rejected") assert.equal(outcome.reason, quotaError);
        const stored = (await second.list(ACCOUNT)).filter((t) => t.homeRegion === "us-east-1");
        assert.equal(stored.length, 3, "the check's refusals stored nothing");
      }, 4));

    it("runs a put's check against the stored trails, the replaced one included; a refused put changes nothing", () =>
      withNodes(async ([store]) => {
        if (store === undefined) assert.fail("no handle");
        await store.put(trail("p"));
        await store.put(trail("p2", ACCOUNT, "eu-west-1"));
        let seen: string[] = [];
        await store.put({ ...trail("p"), isMultiRegionTrail: true }, (accountTrails) => {
          seen = accountTrails.map((t) => `${t.name}:${t.isMultiRegionTrail}`);
        });
        assert.deepEqual(seen, ["p:false", "p2:false"]);
        await assert.rejects(
          store.put({ ...trail("p"), s3BucketName: "refused" }, () => {
            throw new RangeError("no");
          }),
          RangeError,
        );
        assert.deepEqual(await store.get(ACCOUNT, "p"), { ...trail("p"), isMultiRegionTrail: true });
      }));

    it("keeps a deleted trail with events left to deliver, out of sight, until it is forgotten; on every handle", () =>
      withNodes(async ([store, other]) => {
        if (store === undefined || other === undefined) assert.fail("no handles");
        const logging = { ...trail("gone"), isLogging: true, deliverFromSeq: 5 };
        const stopped = { ...trail("halted"), deliverUntilSeq: 9 };
        await store.put(logging);
        await store.put(stopped);
        await store.put(trail("idle"));
        await store.updateStatus(logging.trailArn, { latestDeliveryTimeMs: 5 });
        await store.delete(ACCOUNT, "gone", { journalHeadSeq: 30 });
        await store.delete(ACCOUNT, "halted", { journalHeadSeq: 31 });
        await store.delete(ACCOUNT, "idle", { journalHeadSeq: 32 });
        const expected = [
          { trail: logging, deliverUntilSeq: 30, stopLogging: false },
          { trail: stopped, deliverUntilSeq: 9, stopLogging: true },
        ];
        assert.deepEqual(await other.deletedTrails(), expected, "a trail that never logged is not kept");
        assert.deepEqual(await other.list(), [], "deleted trails are in no list");
        assert.equal(await other.get(ACCOUNT, "gone"), undefined);
        assert.deepEqual(await other.status(logging.trailArn), {}, "the status went with the trail");

        // A trail of the same name at once: a new configuration, a status of its own, a deletion of its own.
        const again = { ...trail("gone"), createdAtMs: 1_800_000_000_000, isLogging: true };
        await other.create(again);
        assert.deepEqual(await store.get(ACCOUNT, "gone"), again);
        assert.deepEqual(await store.status(again.trailArn), {});
        await other.delete(ACCOUNT, "gone", { journalHeadSeq: 40 });
        assert.deepEqual(
          (await store.deletedTrails()).map((d) => `${d.trail.name}@${d.deliverUntilSeq}:${d.trail.createdAtMs}`),
          ["gone@30:1700000000000", "gone@40:1800000000000", "halted@9:1700000000000"],
          "by ARN, then deletion",
        );

        await other.forgetDeleted(logging.trailArn, 30);
        await other.forgetDeleted(logging.trailArn, 30);
        await store.forgetDeleted(stopped.trailArn, 9);
        assert.deepEqual(
          (await store.deletedTrails()).map((d) => `${d.trail.name}@${d.deliverUntilSeq}`),
          ["gone@40"],
        );
        await store.delete(ACCOUNT, "never-existed", { journalHeadSeq: 50 });
        assert.equal((await other.deletedTrails()).length, 1);
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

  /** Two handles open at once on one storage: a stale holder's node and the current holder's. */
  const withNodes = (body: (stores: [DeliveryStateStore, DeliveryStateStore]) => Promise<void>) =>
    withBackend(create, async (backend) => {
      const first = await backend.open();
      try {
        const second = await backend.open();
        try {
          await body([first.store, second.store]);
        } finally {
          await second.close();
        }
      } finally {
        await first.close();
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

    it("refuses a fenced save under a lower token once a higher one saved; the chain head read back is the committed one", () =>
      withNodes(async ([stale, current]) => {
        await stale.save(midDelivery(), { fencingToken: 5 });
        const committed = withChainHead({ ...midDelivery(), cursor: 57, intent: null }, "12");
        await current.save(committed, { fencingToken: 7 });
        const late = withChainHead({ ...midDelivery(), cursor: 60, intent: null }, "34");
        const refusal = await stale.save(late, { fencingToken: 5 }).then(
          () => assert.fail("the stale holder's commit was accepted"),
          (error: unknown) => error,
        );
        assert.ok(refusal instanceof StaleFencingTokenError, String(refusal));
        assert.equal(refusal.fencingToken, 5);
        assert.equal(refusal.currentToken, 7);
        assert.match(refusal.message, /token 5 is stale/);
        const unfenced = await stale.save(late).then(
          () => assert.fail("an unfenced save passed the fence"),
          (error: unknown) => error,
        );
        assert.ok(unfenced instanceof StaleFencingTokenError, String(unfenced));
        assert.equal(unfenced.fencingToken, undefined);
        assert.equal(unfenced.currentToken, 7);
        for (const states of [stale, current]) assert.deepEqual(await states.load(ARN), committed);
        assert.equal((await current.load(ARN, { fencingToken: 7 })).chains[0]?.previous?.signature, "12");
        await current.save({ ...committed, cursor: 58 }, { fencingToken: 7 });
        await current.save({ ...committed, cursor: 59 }, { fencingToken: 8 });
        assert.equal((await stale.load(ARN)).cursor, 59, "the same or a higher token commits");
        await stale.save(midDelivery(OTHER_ARN), { fencingToken: 1 });
        assert.deepEqual(await current.load(OTHER_ARN), midDelivery(OTHER_ARN), "tokens are per trail");
      }));

    it("keeps the current holder's commit when a stale holder's commits race it on another handle", () =>
      withNodes(async ([stale, current]) => {
        for (let round = 1; round <= 10; round++) {
          const trailArn = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/race-${round}`;
          const mine = { ...midDelivery(trailArn), cursor: 1_000 + round };
          const outcomes = await Promise.allSettled([
            stale.save({ ...midDelivery(trailArn), cursor: round }, { fencingToken: round }),
            current.save(mine, { fencingToken: round + 1 }),
            stale.save({ ...midDelivery(trailArn), cursor: round }, { fencingToken: round }),
          ]);
          assert.equal(outcomes[1]!.status, "fulfilled");
          for (const outcome of outcomes)
            if (outcome.status === "rejected") assert.ok(outcome.reason instanceof StaleFencingTokenError);
          assert.deepEqual(await stale.load(trailArn), mine, `round ${round}: a stale commit landed last`);
        }
      }));

    it("lets a fenced load claim the state, so the previous holder's late commit is refused", () =>
      withNodes(async ([stale, current]) => {
        await stale.save(midDelivery(), { fencingToken: 3 });
        assert.deepEqual(await current.load(ARN, { fencingToken: 4 }), midDelivery(), "the takeover reads the state");
        await assert.rejects(
          stale.save({ ...midDelivery(), cursor: 57, intent: null }, { fencingToken: 3 }),
          StaleFencingTokenError,
        );
        await assert.rejects(stale.load(ARN, { fencingToken: 3 }), StaleFencingTokenError);
        assert.deepEqual(await stale.load(ARN), midDelivery(), "the refused commit changed nothing");
        const fresh = `arn:aws:cloudtrail:us-east-1:${ACCOUNT}:trail/fresh`;
        assert.deepEqual(
          await current.load(fresh, { fencingToken: 2 }),
          await current.load(fresh),
          "a claim of a trail never saved",
        );
        assert.equal((await current.load(fresh)).cursor, 0);
        await assert.rejects(
          stale.save({ ...midDelivery(fresh), cursor: 1 }, { fencingToken: 1 }),
          StaleFencingTokenError,
        );
      }));

    it("keeps the fencing token across a reopen, and refuses a token that is not an integer ≥ 0", () =>
      withBackend(create, async (backend) => {
        const first = await backend.open();
        await first.store.load(ARN, { fencingToken: 9 });
        await first.close();
        const second = await backend.open();
        try {
          await assert.rejects(second.store.save(midDelivery(), { fencingToken: 8 }), StaleFencingTokenError);
          for (const token of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 2]) {
            await assert.rejects(second.store.save(midDelivery(), { fencingToken: token }), RangeError, String(token));
            await assert.rejects(second.store.load(ARN, { fencingToken: token }), RangeError, String(token));
          }
          assert.equal((await second.store.load(ARN)).cursor, 0, "nothing was saved");
        } finally {
          await second.close();
        }
      }));
  });
}

/** The state with its first chain's head (the last digest's signature) set to `signature`. */
function withChainHead(state: DeliveryState, signature: string): DeliveryState {
  const [chain] = state.chains;
  return { ...state, chains: [{ ...chain!, previous: { ...chain!.previous!, signature } }] };
}
