import type { ConsumerStatus } from "../consumer.js";
import type { Journal } from "../../journal/journal.js";
import type { Clock } from "../../lib/clock.js";
import type { EventSelectorMatcher } from "../../selectors/selector-types.js";
import type { ObjectStore } from "../../stores/objects/index.js";
import type { QuarantineStore } from "../../stores/quarantine/index.js";
import type { SigningKeyStore } from "../../stores/signing-keys/index.js";
import {
  StaleFencingTokenError,
  emptyDeliveryState,
  type DeletedTrail,
  type DeliveryStateStore,
  type TrailConfig,
  type TrailStore,
} from "../../stores/trails/index.js";
import { quarantineFor } from "../quarantine.js";
import { ConsumerRunner } from "../runner.js";
import { TrailDeliverer } from "./trail-deliverer.js";
import { TrailLeaseKeeper, type TrailLeases } from "./trail-leases.js";
import { TrailNotifications, type TrailNotify } from "./trail-notifications.js";

export type { TrailLeases } from "./trail-leases.js";
export type { TrailNotify } from "./trail-notifications.js";

export interface TrailDeliveryDeps {
  readonly journal: Journal;
  readonly trails: TrailStore;
  /** Each trail's cursor, intent and digest chains. */
  readonly deliveryStates: DeliveryStateStore;
  readonly objectStore: ObjectStore;
  /**
   * The store one trail writes through, when it differs from `objectStore`: the server gives each
   * trail its account's view, which refuses buckets other accounts own.
   */
  readonly objectStoreFor?: (trail: TrailConfig) => ObjectStore;
  readonly clock: Clock;
  /** CAIRN_DELIVERY_INTERVAL_SECONDS (default 60, minimum 1). */
  readonly deliveryIntervalSeconds: number;
  /** CAIRN_DIGEST_INTERVAL_SECONDS (default 3600, minimum 1). */
  readonly digestIntervalSeconds: number;
  readonly matcherFor: (trail: TrailConfig) => EventSelectorMatcher;
  /** The server's store, so ListPublicKeys returns the keys digests are signed with. */
  readonly keys: SigningKeyStore;
  readonly organizationId?: string;
  readonly recordsPerFileMax?: number;
  /** How often due files and digests are looked for; default min(1 s, a quarter of the delivery interval). */
  readonly tickMs?: number;
  /** Called with errors nothing else reports (a trail that cannot start). */
  readonly onError?: (error: unknown) => void;
  /** Where a trail's consumer sets aside a record it cannot handle; without it such a record is retried forever. */
  readonly quarantine?: QuarantineStore;
  /**
   * Cluster mode: a trail is delivered only while this node holds its lease, under that lease's
   * fencing token. Without it (the embedded server, the only writer of its data dir) every logging
   * trail is delivered here, unfenced, as before leases existed.
   */
  readonly leases?: TrailLeases;
  /** Publishes a trail's SNS notifications (spec §2.4); without it a trail's SnsTopicName is not notified. */
  readonly notify?: TrailNotify;
}

export interface TrailDelivery {
  readonly keys: SigningKeyStore;
  /** Stops every trail's consumer (no final digest: the server is stopping, not the trails). */
  stop(): Promise<void>;
  /** Catches every logging trail up with the journal head and delivers now (tests, shutdown hooks). */
  flush(): Promise<void>;
  /** Lowest journal seq any logging trail still needs; journal retention must keep it (Infinity when none). */
  neededFromSeq(): number;
  /** One consumer per logging trail this node delivers, for journal retention and `/health`. */
  consumers(): ConsumerStatus[];
  /** The lease names this node holds (cluster mode; empty without leases), for `/health`. */
  leasesHeld(): string[];
}

interface Running {
  readonly config: string;
  readonly deliverer: TrailDeliverer;
  readonly runner: ConsumerRunner;
}

/**
 * Stops a trail's consumer and waits for the delivery its last batch started (deliveries run beside
 * the consumer): only then may another deliverer load the trail's state, or its cursor be read.
 */
async function stopRunning({ runner, deliverer }: Pick<Running, "runner" | "deliverer">): Promise<void> {
  await runner.stop();
  await deliverer.idle();
}

/** A logging trail whose consumer could not start: retried at the next reconcile, and until then holds retention. */
interface Failed {
  /** The trail's durable cursor as far as it is known; 0 when nothing is. */
  readonly cursor: number;
  readonly error: unknown;
}

const CATCH_UP_WAIT_MS = 10_000;

/** A trail's deliverer was fenced off while it started: another node holds the trail now. */
class FencedOffError extends Error {
  constructor(trailArn: string) {
    super(`Another node took over ${trailArn} while this one started it.`);
    this.name = "FencedOffError";
  }
}

/**
 * Runs trail delivery (spec §2, §3): one consumer per logging trail, started and stopped as the
 * trail store changes (a changed configuration restarts the trail's consumer from its durable
 * cursor), and one timer that delivers due files and digests for all of them.
 */
export async function startTrailDelivery(deps: TrailDeliveryDeps): Promise<TrailDelivery> {
  const keys = deps.keys;
  const report = deps.onError ?? ((error: unknown) => process.stderr.write(`Cairn trail delivery: ${String(error)}\n`));
  const trails = new LoggingTrails(deps, keys, report);

  deps.trails.onChange(() => void trails.scheduleReconcile());
  await trails.scheduleReconcile();

  const tickMs = deps.tickMs ?? Math.min(1000, Math.max(50, (deps.deliveryIntervalSeconds * 1000) / 4));
  const timer = startTicking(() => trails.tick(), tickMs, report);
  // Renews held leases and tries to take the trails whose holder died (their leases lapsed).
  const leaseTimer = trails.leases && startTicking(() => trails.keepLeases(), trails.leases.renewEveryMs, report);

  return {
    keys,
    async stop() {
      clearInterval(timer);
      if (leaseTimer !== undefined) clearInterval(leaseTimer);
      await trails.stop();
    },
    leasesHeld: () => trails.leases?.heldTrails().map(consumerName) ?? [],
    flush: () => trails.flush(),
    neededFromSeq() {
      return Math.min(Infinity, ...trails.consumers().map((consumer) => consumer.neededFromSeq));
    },
    consumers: () => trails.consumers(),
  };
}

/** The consumers of the logging trails, kept in step with the trail store by reconcile(). */
class LoggingTrails {
  private readonly running = new Map<string, Running>();
  private readonly failed = new Map<string, Failed>();
  /** `<trail arn>@<deliverUntilSeq>` of the stops drained (or found drained) by this process. */
  private readonly drained = new Set<string>();
  private stopped = false;
  private reconciling: Promise<void> = Promise.resolve();
  /** Reconciles scheduled and not yet finished, so the lease timer does not pile them up. */
  private reconcilesQueued = 0;
  readonly leases: TrailLeaseKeeper | undefined;
  private readonly notifications: TrailNotifications | undefined;

  constructor(
    private readonly deps: TrailDeliveryDeps,
    private readonly keys: SigningKeyStore,
    private readonly report: (error: unknown) => void,
  ) {
    this.leases = deps.leases && new TrailLeaseKeeper(deps.leases);
    const { notify, trails, clock } = deps;
    this.notifications = notify && new TrailNotifications({ notify, trails, clock, report });
  }

  /** Lease timer work: renew what this node holds, then look for trails no live node holds. */
  async keepLeases(): Promise<void> {
    // Neither waits for the other: a long reconcile (a drain at StopLogging) must not hold back
    // renewals, and a renewal stuck on a slow store does not hold back the others (renewAll skips it).
    void this.leases?.renewAll((arn, reason) => this.dropLost(arn, reason), this.report).catch(this.report);
    if (this.reconcilesQueued === 0) void this.scheduleReconcile();
  }

  /**
   * Stops a trail whose lease this node lost, at once: its deliverer refuses every further put and
   * save from now on (it never retries under the old token); the runner stops after its batch.
   * The trail is tried again at the next lease tick.
   */
  private dropLost(arn: string, reason: string, deliverer?: TrailDeliverer): void {
    const current = this.running.get(arn);
    if (current === undefined || (deliverer !== undefined && current.deliverer !== deliverer)) return;
    current.deliverer.revoke(reason);
    this.running.delete(arn);
    this.leases?.forget(arn);
    void stopRunning(current).catch(this.report);
  }

  /** Reconciles after any reconcile already under way (trail changes arrive in bursts). */
  scheduleReconcile(): Promise<void> {
    this.reconcilesQueued++;
    this.reconciling = this.reconciling
      .then(() => this.reconcile())
      .catch(this.report)
      .finally(() => this.reconcilesQueued--);
    return this.reconciling;
  }

  /** Timer work for every running trail. */
  tick(): Promise<unknown> {
    return Promise.all([...this.running.values()].map((r) => r.deliverer.tick()));
  }

  async flush(): Promise<void> {
    await this.reconciling;
    const head = this.deps.journal.headSeq();
    for (const { deliverer } of this.running.values()) {
      // Polls in real time on purpose: an injected test clock may stand still.
      for (
        let waited = 0;
        !deliverer.revoked && deliverer.examinedSeq() < head && waited < CATCH_UP_WAIT_MS;
        waited += 10
      )
        await delay(10);
      // A trail whose lease moved on is another node's to deliver now, not a failure of this flush.
      await deliverer.flush().catch((error: unknown) => {
        if (!deliverer.revoked) throw error;
      });
    }
  }

  /** Stops every consumer (no final digest: the server is stopping, not the trails). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.reconciling;
    await Promise.all([...this.running.values()].map(stopRunning));
    this.running.clear();
    this.failed.clear();
    // Their POSTs end as the server closes (the publisher's shutdown signal); their status is written first.
    await this.notifications?.idle();
    // Handed over now rather than after the TTL: another node resumes from the committed state.
    for (const arn of this.leases?.heldTrails() ?? []) await this.leases?.release(arn).catch(this.report);
  }

  consumers(): ConsumerStatus[] {
    const running = [...this.running].map(([arn, { deliverer, runner }]) => ({
      name: consumerName(arn),
      cursor: deliverer.neededFromSeq() - 1,
      neededFromSeq: deliverer.neededFromSeq(),
      progressSeq: deliverer.progressSeq(runner.cursorSeq()),
      ...lastErrorOf(runner, deliverer),
    }));
    // A trail that could not start has delivered nothing past its cursor: the journal must keep the rest.
    const failed = [...this.failed].map(([arn, { cursor, error }]) => ({
      name: consumerName(arn),
      cursor,
      neededFromSeq: cursor + 1,
      lastError: String(error),
    }));
    return [...running, ...failed];
  }

  private async reconcile(): Promise<void> {
    if (this.stopped) return;
    // Deleted trails first: a trail deleted between the two reads is then in neither, and is
    // drained (by stopChanged, or at the next reconcile) rather than both run and drained here.
    const deleted = await this.deps.trails.deletedTrails();
    const all = await this.deps.trails.list();
    const wanted = new Map(all.filter((t) => t.isLogging).map((t) => [t.trailArn, t]));
    const lastCursors = await this.stopChanged(wanted, deleted);
    for (const arn of this.failed.keys()) if (!wanted.has(arn)) this.failed.delete(arn);
    // A new trail of a deleted one's name has its ARN, lease and state key: it starts once the old one is drained.
    const waiting = await this.drainDeleted(deleted);
    for (const [arn, trail] of wanted) {
      if (this.running.has(arn) || waiting.has(arn)) continue;
      try {
        const fencingToken = await this.leaseFor(arn);
        if (fencingToken === null) continue;
        this.running.set(arn, await this.startOne(trail, fencingToken));
        this.failed.delete(arn);
      } catch (error) {
        await this.noteStartFailure(arn, error, lastCursors.get(arn));
      }
    }
    await this.drainUnfinished(all);
  }

  /**
   * Stopped trails whose drain no node finished (its holder died, or this process crashed, between
   * StopLogging and the final digest): drained here, under the trail's lease, then let go. Each
   * stop is looked at once per process; one already drained costs a state load.
   */
  private async drainUnfinished(trails: readonly TrailConfig[]): Promise<void> {
    for (const trail of trails) {
      const untilSeq = trail.deliverUntilSeq;
      const mark = `${trail.trailArn}@${untilSeq}`;
      if (trail.isLogging || untilSeq === undefined || this.drained.has(mark) || this.stopped) continue;
      try {
        const fencingToken = await this.leaseFor(trail.trailArn);
        if (fencingToken === null) continue;
        try {
          await this.drainOne(trail, untilSeq, fencingToken);
          this.drained.add(mark);
        } finally {
          await this.leases?.release(trail.trailArn).catch(this.report);
        }
      } catch (error) {
        this.report(error);
      }
    }
  }

  private async drainOne(trail: TrailConfig, untilSeq: number, fencingToken: number | undefined): Promise<void> {
    const deliverer = await this.loadedDeliverer(trail, fencingToken);
    if (!deliverer.drainedUntil(untilSeq)) await deliverer.drain(untilSeq);
  }

  /** A deliverer of `trail` on its saved state, its saved plan and pending digests put again. */
  private async loadedDeliverer(trail: TrailConfig, fencingToken: number | undefined): Promise<TrailDeliverer> {
    const deliverer = this.newDeliverer(trail, fencingToken);
    await deliverer.loadCursor();
    await deliverer.recover();
    if (deliverer.revoked) throw new FencedOffError(trail.trailArn);
    return deliverer;
  }

  /**
   * Deleted trails no manager drained yet (their holder died, or the drain failed): each drained
   * here under its lease, one ARN's deletions in order. Returns the ARNs that still have one, whose
   * new trail of the same name must wait.
   */
  private async drainDeleted(deleted: readonly DeletedTrail[]): Promise<Set<string>> {
    const waiting = new Set<string>();
    for (const gone of deleted) {
      const arn = gone.trail.trailArn;
      if (this.drained.has(deletedMark(gone))) continue;
      // Running: a trail of the same ARN this reconcile did not stop; the next one will.
      if (waiting.has(arn) || this.running.has(arn) || this.stopped) {
        waiting.add(arn);
        continue;
      }
      try {
        const fencingToken = await this.leaseFor(arn);
        if (fencingToken === null) {
          waiting.add(arn);
          continue;
        }
        try {
          await this.closeDeleted(await this.loadedDeliverer(gone.trail, fencingToken), gone);
        } finally {
          await this.leases?.release(arn).catch(this.report);
        }
      } catch (error) {
        waiting.add(arn);
        this.report(error);
      }
    }
    return waiting;
  }

  /**
   * Delivers a deleted trail's last events and final digest (unless its state says that was done),
   * then leaves an empty state behind, marked drained (so the floor and a crash before the next step
   * see it done), so a new trail of the same name starts with no cursor and no digest chain; only
   * then is the deleted trail forgotten.
   */
  private async closeDeleted(deliverer: TrailDeliverer, gone: DeletedTrail): Promise<void> {
    const arn = gone.trail.trailArn;
    if (!deliverer.drainedUntilExactly(gone.deliverUntilSeq))
      await deliverer.drain(gone.deliverUntilSeq, { stopLogging: gone.stopLogging });
    const { fencingToken } = deliverer.options;
    const fresh = { ...emptyDeliveryState(arn), drainedUntilSeq: gone.deliverUntilSeq };
    await this.deps.deliveryStates.save(fresh, fencingToken === undefined ? {} : { fencingToken });
    await this.deps.trails.forgetDeleted(arn, gone.deliverUntilSeq);
    this.drained.add(deletedMark(gone));
  }

  /**
   * The fencing token to deliver a trail under: undefined without leases, null while another node
   * holds the trail (it is none of this node's business then, not even for retention).
   */
  private async leaseFor(arn: string): Promise<number | undefined | null> {
    if (this.leases === undefined) return undefined;
    const grant = await this.leases.acquire(arn);
    if (grant === undefined) this.failed.delete(arn);
    return grant?.fencingToken ?? null;
  }

  private async noteStartFailure(arn: string, error: unknown, lastCursor: number | undefined): Promise<void> {
    if (this.leases !== undefined) {
      // A stale token: another node took the trail over between our acquire and our load.
      if (error instanceof StaleFencingTokenError || error instanceof FencedOffError) {
        this.leases.forget(arn);
        this.failed.delete(arn);
        return;
      }
      // Another node may be able to start it; this one retries at the next lease tick.
      await this.leases.release(arn).catch(this.report);
    }
    const cursor = lastCursor ?? this.failed.get(arn)?.cursor;
    this.failed.set(arn, { cursor: await this.durableCursor(arn, cursor), error });
    this.report(error);
  }

  /**
   * Stops the consumers of trails that stopped logging, were deleted or changed configuration.
   * Returns the cursors the changed ones had reached, in case their restart fails.
   */
  private async stopChanged(
    wanted: ReadonlyMap<string, TrailConfig>,
    deleted: readonly DeletedTrail[],
  ): Promise<Map<string, number>> {
    const lastCursors = new Map<string, number>();
    for (const [arn, current] of [...this.running]) {
      const trail = wanted.get(arn);
      if (trail !== undefined && JSON.stringify(trail) === current.config) continue;
      this.running.delete(arn);
      await stopRunning(current);
      lastCursors.set(arn, current.deliverer.neededFromSeq() - 1);
      const gone = trail === undefined ? deleted.find((d) => d.trail.trailArn === arn) : undefined;
      if (gone !== undefined) {
        // Drained by this trail's own deliverer (no other may save its state meanwhile).
        await this.closeDeleted(current.deliverer, gone).catch(this.report);
        await this.leases?.release(arn).catch(this.report);
      } else if (trail === undefined) {
        // Stopped (or deleted without a record of it): deliver what was logged until now and close the digest chains.
        const stopped = (await this.deps.trails.list()).find((t) => t.trailArn === arn);
        const untilSeq = stopped?.deliverUntilSeq;
        await current.deliverer.drain(untilSeq).then(() => this.drained.add(`${arn}@${untilSeq}`), this.report);
        await this.leases?.release(arn).catch(this.report);
      }
    }
    return lastCursors;
  }

  private async startOne(trail: TrailConfig, fencingToken: number | undefined): Promise<Running> {
    const { deps } = this;
    const deliverer = this.newDeliverer(trail, fencingToken);
    const runner = new ConsumerRunner(deps.journal, deliverer, {
      retryDelayMsInitial: 1_000,
      retryDelayMsMax: 60_000,
      ...(deps.quarantine !== undefined
        ? {
            quarantine: quarantineFor(deps.quarantine, consumerName(trail.trailArn), deps.clock, (line) =>
              process.stderr.write(line),
            ),
          }
        : {}),
    });
    await runner.start();
    try {
      await deliverer.recover();
      // Fenced off during recovery (recover() records rather than throws delivery errors).
      if (deliverer.revoked) throw new FencedOffError(trail.trailArn);
    } catch (error) {
      // Not kept as running, so nothing else would ever stop this loop.
      await stopRunning({ runner, deliverer });
      throw error;
    }
    return { config: JSON.stringify(trail), deliverer, runner };
  }

  private newDeliverer(trail: TrailConfig, fencingToken: number | undefined): TrailDeliverer {
    const { deps } = this;
    const arn = trail.trailArn;
    const deliverer: TrailDeliverer = new TrailDeliverer({
      trail,
      journal: deps.journal,
      trails: deps.trails,
      objectStore: deps.objectStoreFor?.(trail) ?? deps.objectStore,
      keys: this.keys,
      matcher: deps.matcherFor(trail),
      deliveryStates: deps.deliveryStates,
      clock: deps.clock,
      deliveryIntervalSeconds: deps.deliveryIntervalSeconds,
      digestIntervalSeconds: deps.digestIntervalSeconds,
      ...(deps.recordsPerFileMax !== undefined ? { recordsPerFileMax: deps.recordsPerFileMax } : {}),
      ...(deps.organizationId !== undefined ? { organizationId: deps.organizationId } : {}),
      ...(fencingToken !== undefined
        ? { fencingToken, onFenced: (error) => this.dropLost(arn, error.message, deliverer) }
        : {}),
      ...(this.notifications !== undefined
        ? { onDelivered: (files) => this.notifications?.enqueue(trail, files, () => !deliverer.revoked) }
        : {}),
    });
    return deliverer;
  }

  /**
   * The cursor a trail that cannot start holds retention at: its saved one, else the one its last
   * consumer reached, else 0 (its state is unreadable and nothing it may still need can go).
   */
  private async durableCursor(trailArn: string, lastCursor: number | undefined): Promise<number> {
    try {
      return (await this.deps.deliveryStates.load(trailArn)).cursor;
    } catch {
      return lastCursor ?? 0;
    }
  }
}

/** Calls `work` every `ms`, skipping a beat while the previous call is still running. */
function startTicking(work: () => Promise<unknown>, ms: number, report: (error: unknown) => void): NodeJS.Timeout {
  let ticking = false;
  const timer = setInterval(() => {
    if (ticking) return;
    ticking = true;
    void work()
      .catch(report)
      .finally(() => (ticking = false));
  }, ms);
  timer.unref();
  return timer;
}

/** The runner's error (a batch refused) or else the deliverer's (a put that failed and waits for its retry). */
function lastErrorOf(runner: ConsumerRunner, deliverer: TrailDeliverer): { lastError?: string } {
  const error = runner.lastError !== undefined ? String(runner.lastError) : deliverer.lastError;
  return error !== undefined ? { lastError: error } : {};
}

/** The `drained` entry of a deleted trail this process drained. */
function deletedMark(gone: DeletedTrail): string {
  return `deleted:${gone.trail.trailArn}@${gone.deliverUntilSeq}`;
}

function consumerName(trailArn: string): string {
  return `trail-delivery:${trailArn}`;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
