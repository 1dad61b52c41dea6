import type { ConsumerStatus } from "../consumer.js";
import type { Journal } from "../../journal/journal.js";
import type { Clock } from "../../lib/clock.js";
import type { EventSelectorMatcher } from "../../selectors/selector-types.js";
import type { ObjectStore } from "../../stores/objects/index.js";
import { SigningKeyStore } from "../../stores/signing-keys/index.js";
import type { DeliveryStateStore, TrailConfig, TrailStore } from "../../stores/trails/index.js";
import { ConsumerRunner } from "../runner.js";
import { TrailDeliverer } from "./trail-deliverer.js";

export interface TrailDeliveryDeps {
  readonly journal: Journal;
  readonly trails: TrailStore;
  /** Each trail's cursor, intent and digest chains. */
  readonly deliveryStates: DeliveryStateStore;
  readonly objectStore: ObjectStore;
  /** Where the signing keys live when `keys` is not given. */
  readonly dataDir: string;
  readonly clock: Clock;
  /** CAIRN_DELIVERY_INTERVAL_SECONDS (default 60, minimum 1). */
  readonly deliveryIntervalSeconds: number;
  /** CAIRN_DIGEST_INTERVAL_SECONDS (default 3600, minimum 1). */
  readonly digestIntervalSeconds: number;
  readonly matcherFor: (trail: TrailConfig) => EventSelectorMatcher;
  /** Share the server's store so ListPublicKeys returns the keys digests are signed with; created when absent. */
  readonly keys?: SigningKeyStore;
  readonly organizationId?: string;
  readonly recordsPerFileMax?: number;
  /** How often due files and digests are looked for; default min(1 s, a quarter of the delivery interval). */
  readonly tickMs?: number;
  /** Called with errors nothing else reports (a trail that cannot start). */
  readonly onError?: (error: unknown) => void;
}

export interface TrailDelivery {
  readonly keys: SigningKeyStore;
  /** Stops every trail's consumer (no final digest: the server is stopping, not the trails). */
  stop(): Promise<void>;
  /** Catches every logging trail up with the journal head and delivers now (tests, shutdown hooks). */
  flush(): Promise<void>;
  /** Lowest journal seq any logging trail still needs; journal retention must keep it (Infinity when none). */
  neededFromSeq(): number;
  /** One consumer per logging trail, for journal retention and `/health`. */
  consumers(): ConsumerStatus[];
}

interface Running {
  readonly config: string;
  readonly deliverer: TrailDeliverer;
  readonly runner: ConsumerRunner;
}

const CATCH_UP_WAIT_MS = 10_000;

/**
 * Runs trail delivery (spec §2, §3): one consumer per logging trail, started and stopped as the
 * trail store changes (a changed configuration restarts the trail's consumer from its durable
 * cursor), and one timer that delivers due files and digests for all of them.
 */
export async function startTrailDelivery(deps: TrailDeliveryDeps): Promise<TrailDelivery> {
  const keys = deps.keys ?? new SigningKeyStore({ dataDir: deps.dataDir, clock: deps.clock });
  const running = new Map<string, Running>();
  const report = deps.onError ?? ((error: unknown) => process.stderr.write(`Cairn trail delivery: ${String(error)}\n`));
  let stopped = false;
  let reconciling: Promise<void> = Promise.resolve();

  const startOne = async (trail: TrailConfig): Promise<Running> => {
    const deliverer = new TrailDeliverer({
      trail,
      journal: deps.journal,
      trails: deps.trails,
      objectStore: deps.objectStore,
      keys,
      matcher: deps.matcherFor(trail),
      deliveryStates: deps.deliveryStates,
      clock: deps.clock,
      deliveryIntervalSeconds: deps.deliveryIntervalSeconds,
      digestIntervalSeconds: deps.digestIntervalSeconds,
      ...(deps.recordsPerFileMax !== undefined ? { recordsPerFileMax: deps.recordsPerFileMax } : {}),
      ...(deps.organizationId !== undefined ? { organizationId: deps.organizationId } : {}),
    });
    const runner = new ConsumerRunner(deps.journal, deliverer, { retryDelayMsInitial: 1_000, retryDelayMsMax: 60_000 });
    await runner.start();
    await deliverer.recover();
    return { config: JSON.stringify(trail), deliverer, runner };
  };

  const reconcile = async (): Promise<void> => {
    if (stopped) return;
    const wanted = new Map((await deps.trails.list()).filter((t) => t.isLogging).map((t) => [t.trailArn, t]));
    for (const [arn, current] of [...running]) {
      const trail = wanted.get(arn);
      if (trail !== undefined && JSON.stringify(trail) === current.config) continue;
      running.delete(arn);
      await current.runner.stop();
      // Stopped or deleted: deliver what was logged until now and close the digest chains.
      if (trail === undefined) {
        const stopped = (await deps.trails.list()).find((t) => t.trailArn === arn);
        await current.deliverer.drain(stopped?.deliverUntilSeq).catch(report);
      }
    }
    for (const [arn, trail] of wanted) {
      if (running.has(arn)) continue;
      try {
        running.set(arn, await startOne(trail));
      } catch (error) {
        report(error);
      }
    }
  };
  const scheduleReconcile = (): Promise<void> => {
    reconciling = reconciling.then(reconcile).catch(report);
    return reconciling;
  };

  deps.trails.onChange(() => void scheduleReconcile());
  await scheduleReconcile();

  const tickMs = deps.tickMs ?? Math.min(1000, Math.max(50, (deps.deliveryIntervalSeconds * 1000) / 4));
  let ticking = false;
  const timer = setInterval(() => {
    if (ticking) return;
    ticking = true;
    void Promise.all([...running.values()].map((r) => r.deliverer.tick()))
      .catch(report)
      .finally(() => (ticking = false));
  }, tickMs);
  timer.unref();

  const consumers = (): ConsumerStatus[] =>
    [...running].map(([arn, { deliverer, runner }]) => ({
      name: `trail-delivery:${arn}`,
      cursor: deliverer.neededFromSeq() - 1,
      neededFromSeq: deliverer.neededFromSeq(),
      ...(runner.lastError !== undefined ? { lastError: String(runner.lastError) } : {}),
    }));

  return {
    keys,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await reconciling;
      await Promise.all([...running.values()].map((r) => r.runner.stop()));
      running.clear();
    },
    async flush() {
      await reconciling;
      const head = deps.journal.headSeq();
      for (const { deliverer } of running.values()) {
        // Polls in real time on purpose: an injected test clock may stand still.
        for (let waited = 0; deliverer.examinedSeq() < head && waited < CATCH_UP_WAIT_MS; waited += 10) await delay(10);
        await deliverer.flush();
      }
    },
    neededFromSeq() {
      return Math.min(Infinity, ...consumers().map((consumer) => consumer.neededFromSeq));
    },
    consumers,
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
