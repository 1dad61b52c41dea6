import { randomBytes as cryptoRandomBytes } from "node:crypto";
import type { Consumer } from "../consumer.js";
import { entryRecord, type Journal, type JournalEntry } from "../../journal/journal.js";
import type { Clock } from "../../lib/clock.js";
import { TransientError } from "../../lib/transient-error.js";
import { recordAccountId, type CloudTrailRecord } from "../../model/record.js";
import type { EventSelectorMatcher } from "../../selectors/selector-types.js";
import type { ObjectStore } from "../../stores/objects/index.js";
import {
  StaleFencingTokenError,
  type DeliveredFile,
  type DeliveryIntent,
  type DeliveryState,
  type DeliveryStateStore,
  type FencingOptions,
  type PlannedFile,
  type TrailConfig,
  type TrailStore,
} from "../../stores/trails/index.js";
import type { SigningKeyStore } from "../../stores/signing-keys/index.js";
import { DigestDeliveryError, emitDigests, type DigestContext } from "./digest-emitter.js";
import {
  BYTES_PER_FILE_MAX_DEFAULT,
  PendingBatch,
  RECORDS_PER_FILE_MAX_DEFAULT,
  type EventTimeRange,
  type FileLimits,
} from "./file-plan.js";
import { buildLogFile, logEventTime, TRAIL_OBJECT_CONTENT_ENCODING, TRAIL_OBJECT_CONTENT_TYPE } from "./log-file.js";
import type { KeyScope } from "../../model/trail-object-key.js";
import { recordInTrailScope } from "./trail-scope.js";
import { drainFinished } from "./trail-retention.js";
import { inParallel } from "./in-parallel.js";

/** Past this many waiting records, handle() waits for the delivery under way before it returns. */
const PENDING_RECORDS_WAIT = 100_000;
/** Past this many waiting records, handle() refuses new batches so the runner backs off (bounded memory). */
const PENDING_RECORDS_HARD_MAX = 200_000;
/** Log files of one delivery built and put at once: their awaits overlap instead of adding up. */
const FILES_IN_FLIGHT_MAX = 4;
const RETRY_DELAY_MS_INITIAL = 1_000;
const RETRY_DELAY_MS_MAX = 60_000;
/** How long a stopping trail waits for the StopLogging call's record to be journaled (attempts × poll). */
const STOP_RECORD_ATTEMPTS = 40;
const STOP_RECORD_POLL_MS = 50;

export interface TrailDelivererOptions {
  readonly trail: TrailConfig;
  readonly journal: Journal;
  readonly trails: TrailStore;
  readonly objectStore: ObjectStore;
  readonly keys: SigningKeyStore;
  readonly matcher: EventSelectorMatcher;
  /** Where cursor, intent and digest chains survive restarts. */
  readonly deliveryStates: DeliveryStateStore;
  /**
   * The fencing token of this node's lease on the trail (cluster mode): the state's load and every
   * save are fenced by it, so once another holder loaded the state, this deliverer's saves reject
   * with StaleFencingTokenError before anything new is put. Without it (embedded) they are unfenced.
   */
  readonly fencingToken?: number;
  /**
   * Called once when a save or load under `fencingToken` was refused as stale: the deliverer has
   * already stopped itself (see revoke()); the caller stops its consumer and gives the trail up.
   */
  readonly onFenced?: (error: StaleFencingTokenError) => void;
  readonly clock: Clock;
  readonly deliveryIntervalSeconds: number;
  readonly digestIntervalSeconds: number;
  readonly recordsPerFileMax?: number;
  readonly bytesPerFileMax?: number;
  /** `o-…` for organization trails' key layout; without it org trails use the single-account layout. */
  readonly organizationId?: string;
  /**
   * Told of the log files of each delivery once it is committed (the trail's SNS notification,
   * TrailNotifications): must return at once and never throw, as delivery does not wait for it.
   */
  readonly onDelivered?: (files: readonly DeliveredFile[]) => void;
  /** Injected so tests can fix the unique16 suffixes. */
  readonly randomBytes?: (n: number) => Uint8Array;
}

/**
 * Delivers one logging trail's events as log files (spec §2) and its digests (§3): a journal
 * consumer named `trail:<arn>`. Entries the trail selects wait in memory per account/region; when
 * the oldest has waited `deliveryIntervalSeconds` (or a file is full), everything waiting is planned
 * into files, the plan is saved, the objects are put, and only then does the cursor move — see
 * src/stores/trails/delivery-state.ts for why this is exactly-once across crashes.
 */
export class TrailDeliverer implements Consumer {
  readonly name: string;
  private readonly limits: FileLimits;
  private readonly pending = new PendingBatch();
  private state: DeliveryState | undefined;
  /** Highest seq looked at (selected or not); ≥ the durable cursor. */
  private examinedTo = 0;
  private failures = 0;
  private lastFailure: string | undefined;
  private nextAttemptMs = 0;
  private lock: Promise<unknown> = Promise.resolve();
  /** The eventTime range of each file of the intent this process planned, by key (PlannedLogFile). */
  private plannedTimes = new Map<string, EventTimeRange>();
  /** The delivery handle() started, until it ends. */
  private delivering: Promise<void> | undefined;
  /** Why this deliverer may no longer touch the trail (its lease was lost or its token fenced off). */
  private revokedBecause: string | undefined;
  /** Every put of log files and digests goes through here, so none starts once revoked. */
  private readonly objects: Pick<ObjectStore, "putObject"> = {
    putObject: (...args) => {
      this.assertNotRevoked();
      return this.options.objectStore.putObject(...args);
    },
  };

  constructor(readonly options: TrailDelivererOptions) {
    this.name = `trail:${options.trail.trailArn}`;
    this.limits = {
      intervalMs: Math.max(1, options.deliveryIntervalSeconds) * 1000,
      recordsPerFileMax: options.recordsPerFileMax ?? RECORDS_PER_FILE_MAX_DEFAULT,
      bytesPerFileMax: options.bytesPerFileMax ?? BYTES_PER_FILE_MAX_DEFAULT,
    };
  }

  get trail(): TrailConfig {
    return this.options.trail;
  }

  /**
   * Why the last delivery attempt failed, until one succeeds. Delivery retries on its own back-off
   * instead of throwing to the runner, so this, not the runner's error, is what `/health` shows.
   */
  get lastError(): string | undefined {
    return this.lastFailure;
  }

  /**
   * Stops every effect at once (the caller lost this trail's lease): no further put or save, not
   * even of a plan under way, and no retry under the old token. A put already sent may still land;
   * that is harmless, as the successor re-puts the saved plan's same keys and bytes.
   */
  revoke(reason: string): void {
    this.revokedBecause ??= reason;
  }

  get revoked(): boolean {
    return this.revokedBecause !== undefined;
  }

  /** Highest journal seq examined (selected or not). */
  examinedSeq(): number {
    return this.examinedTo;
  }

  /**
   * Highest seq up to which nothing waits for this trail: planned files wait from the durable
   * cursor, selected records from the oldest of them; otherwise everything examined (and `readSeq`,
   * the runner's position past records it quarantined) is done, delivered or not selected.
   */
  progressSeq(readSeq: number): number {
    const state = this.loaded();
    if (state.intent) return state.cursor;
    const oldest = this.pending.oldestSeq();
    if (oldest !== undefined) return oldest - 1;
    return Math.max(this.examinedTo, readSeq, state.cursor);
  }

  /** Lowest journal seq this trail still needs (for journal retention): everything above the durable cursor. */
  neededFromSeq(): number {
    return (this.state?.cursor ?? 0) + 1;
  }

  async loadCursor(): Promise<number> {
    this.assertNotRevoked();
    const state = await this.fenced(() => this.options.deliveryStates.load(this.trail.trailArn, this.fencing()));
    this.state = state;
    // Entries up to an unfinished intent's end are already in planned files: never select them twice.
    const planned = state.intent?.toSeq ?? state.cursor;
    this.examinedTo = Math.max(planned, (this.trail.deliverFromSeq ?? 1) - 1);
    return this.examinedTo;
  }

  /** After a restart: put unfinished files and digests again, same keys and bytes, before anything new. */
  recover(): Promise<void> {
    return this.exclusive(async () => {
      await this.retryable(async () => {
        if (this.loaded().intent) await this.executeIntent(false);
        await emitDigests(this.digestContext(), { force: false, redoOnly: true });
      });
    });
  }

  /**
   * Examines the batch into memory and returns: delivery runs beside it (deliverInBackground), so the
   * consumer keeps reading while files are written, and what it reads meanwhile goes into the next
   * delivery. Under a busy event loop every await of a delivery costs a loop turn (docs/decisions/0023),
   * so a delivery's time is nearly fixed whatever its size: waiting for each one made delivery fall
   * behind ingest; letting the next one grow keeps up.
   */
  async handle(batch: readonly JournalEntry[]): Promise<void> {
    // Transient, so the runner backs off (until it is stopped) instead of quarantining the batch.
    if (this.revokedBecause !== undefined) throw new TransientError(this.revokedBecause);
    this.examine(batch);
    this.deliverInBackground();
    // Bounded memory: past this the runner waits for the delivery under way before reading on.
    if (this.pending.size > PENDING_RECORDS_WAIT) await this.delivering;
    // While the store is down, entries wait in memory up to a bound, then in the journal: a throw
    // makes the runner retry this batch later (the consumer contract's back-off).
    if (this.pending.size > PENDING_RECORDS_HARD_MAX) {
      throw new TransientError(
        `Trail ${this.trail.trailArn}: delivery is failing and ${this.pending.size} records wait.`,
      );
    }
  }

  /** Adds the batch's selected entries to the pending files; synchronous, so no delivery step interleaves. */
  private examine(batch: readonly JournalEntry[]): void {
    for (const entry of batch) {
      if (entry.seq <= this.examinedTo) continue;
      const record = entryRecord(entry);
      // Examined only once looked at: a record this throws on is retried (and then quarantined), not skipped.
      if (recordInTrailScope(this.trail, record) && this.options.matcher.matches(record))
        this.pending.add(
          recordAccountId(record),
          record.awsRegion,
          entry.seq,
          entry.json.length,
          entry.appendedAtMs,
          record.eventType === "AwsCloudTrailInsight" ? "CloudTrail-Insight" : "CloudTrail",
          logEventTime(record.eventTime),
        );
      this.examinedTo = entry.seq;
    }
  }

  /**
   * Starts a delivery unless one is under way (it takes the lock tick() and flush() take, so they
   * wait for it). Behind the journal, keep filling files (up to their cap) instead of writing one
   * small file per batch; the timer tick still delivers what is due when the journal is quiet.
   */
  private deliverInBackground(): void {
    if (this.delivering !== undefined || !(this.state?.intent || this.deliveryWanted())) return;
    this.delivering = this.exclusive(() => this.retryable(() => this.deliver(false, true)))
      // retryable() records delivery failures; what escapes it is the failure to record one.
      .catch((error: unknown) => {
        this.lastFailure = error instanceof Error ? error.message : String(error);
      })
      .finally(() => {
        this.delivering = undefined;
        // A delivery that planned the next one puts it in a new turn of the lock, after a waiting
        // tick() (digests) or flush(); after a failure the back-off's tick retries instead.
        if (this.failures === 0 && !this.revoked && this.state?.intent) this.deliverInBackground();
      });
  }

  private deliveryWanted(): boolean {
    return this.pending.size >= this.limits.recordsPerFileMax || this.examinedTo >= this.options.journal.headSeq();
  }

  /** Resolves once the delivery handle() started, if any, has ended (tests, and callers about to read the bucket). */
  async idle(): Promise<void> {
    // A delivery that planned the next one starts that one as it ends.
    while (this.delivering !== undefined) await this.delivering;
  }

  /**
   * handle() writes only to memory, and delivery failures are retried on their own back-off (they
   * are the bucket's, never a record's): the store handle() uses always answers.
   */
  async probe(): Promise<void> {}

  /** Timer work: deliver due files and due digests, honouring the retry back-off. */
  tick(): Promise<void> {
    return this.exclusive(async () => {
      await this.retryable(async () => {
        await this.deliver(false);
        await emitDigests(this.digestContext(), { force: false, redoOnly: false });
      });
    });
  }

  /**
   * Delivers everything examined so far now, ignoring the interval (and the back-off); with
   * `finalDigest` also closes every digest chain (StopLogging, spec §3.2 "final digest").
   * Rejects when the object store refuses.
   */
  flush(options: { finalDigest?: boolean } = {}): Promise<void> {
    return this.exclusive(async () => {
      try {
        await this.deliver(true);
        await emitDigests(this.digestContext(), { force: options.finalDigest === true, redoOnly: false });
        this.noteSuccess();
      } catch (error) {
        await this.noteFailure(error, this.options.clock.nowMs());
        throw error;
      }
    });
  }

  /**
   * The last step before a trail stops: delivers what was journaled up to `untilSeq` (StopLogging's
   * boundary, or DeleteTrail's; the journal head when not given), then StopLogging's own record
   * (unless `stopLogging` is false: a trail deleted while logging has none), then the final digest.
   */
  async drain(untilSeq?: number, { stopLogging = true }: { stopLogging?: boolean } = {}): Promise<void> {
    const until = untilSeq ?? this.options.journal.headSeq();
    while (this.examinedTo < until) {
      const batch = await this.options.journal.read(this.examinedTo + 1, Math.min(1000, until - this.examinedTo));
      if (batch.length === 0) break;
      await this.handle(batch.filter((entry) => entry.seq <= until));
    }
    if (untilSeq !== undefined && stopLogging) await this.deliverStopLoggingRecord(untilSeq);
    await this.flush({ finalDigest: true });
    if (untilSeq !== undefined) {
      this.loaded().drainedUntilSeq = untilSeq;
      await this.exclusive(() => this.save());
    }
  }

  /** Whether the drain of the stop at `untilSeq` finished (journal retention asks the same, trail-retention.ts). */
  drainedUntil(untilSeq: number): boolean {
    return drainFinished(this.loaded(), untilSeq);
  }

  /**
   * Whether a drain to `untilSeq` was recorded as finished. A deleted trail asks this rather than
   * drainedUntil: its drains were always recorded, and a state that merely looks drained (every file
   * digested, the cursor past the deletion) still lacks the final digest.
   */
  drainedUntilExactly(untilSeq: number): boolean {
    return this.loaded().drainedUntilSeq === untilSeq;
  }

  /**
   * CloudTrail delivers the StopLogging call as the trail's last event. Its record is journaled just
   * after the trail's state changed, so it is found after the boundary (waiting briefly for the API
   * to append it).
   */
  private async deliverStopLoggingRecord(afterSeq: number): Promise<void> {
    let next = afterSeq + 1;
    for (let attempt = 0; attempt < STOP_RECORD_ATTEMPTS; attempt++) {
      const entries = await this.options.journal.read(next, 100);
      for (const entry of entries) {
        const record = entryRecord(entry);
        if (this.isOwnStopLogging(record)) {
          await this.handle([entry]);
          return;
        }
        next = entry.seq + 1;
      }
      if (entries.length === 0) await new Promise((resolve) => setTimeout(resolve, STOP_RECORD_POLL_MS));
    }
  }

  /**
   * The successful StopLogging call on this trail: its `name` parameter is the trail's name or ARN
   * (CloudTrail's record of it names no resources), in the trail's account and home region.
   */
  private isOwnStopLogging(record: CloudTrailRecord): boolean {
    const { trail } = this;
    const named = record.requestParameters?.["name"];
    return (
      record.eventName === "StopLogging" &&
      record.eventSource === "cloudtrail.amazonaws.com" &&
      record.errorCode === undefined &&
      recordAccountId(record) === trail.accountId &&
      record.awsRegion === trail.homeRegion &&
      (named === trail.name || named === trail.trailArn)
    );
  }

  /** Puts the saved intent, if any, then plans and puts what is due (everything, with `force`). `chain`: executeIntent. */
  private async deliver(force: boolean, chain = false): Promise<void> {
    const state = this.loaded();
    if (state.intent) {
      await this.executeIntent(chain);
      // Chained: the next files are planned and saved; the next turn of the lock puts them.
      if (state.intent) return;
    }
    const now = this.options.clock.nowMs();
    if (this.pending.size === 0) {
      // Nothing selected: move the cursor past unselected entries now and then, so restarts rescan little.
      if (this.examinedTo > state.cursor && (force || this.examinedTo - state.cursor >= 10_000)) {
        state.cursor = this.examinedTo;
        await this.save();
      }
      return;
    }
    if (!force && !this.pending.isDue(now, this.limits)) return;
    this.planIntent(now);
    await this.save();
    await this.executeIntent(chain);
  }

  /** Moves everything pending into a new intent (saved by the caller before any of its files is put). */
  private planIntent(nowMs: number): void {
    const planned = this.pending.plan(
      (accountId) => this.keyScope(accountId),
      this.trail.s3BucketName,
      nowMs,
      this.options.randomBytes ?? cryptoRandomBytes,
      this.limits,
    );
    this.plannedTimes = new Map(planned.map(({ file, eventTimes }) => [file.key, eventTimes]));
    this.loaded().intent = { toSeq: this.examinedTo, plannedAtMs: nowMs, files: planned.map(({ file }) => file) };
  }

  /**
   * Puts the intent's files, then saves the cursor past them. With `chain` (the delivery handle()
   * started), when what was examined meanwhile is due already, its files are planned into that same
   * save: one fenced write where there were two, the state going straight from "these files are put"
   * and "those are planned" (a crash before it re-puts the first plan, after it the second).
   */
  private async executeIntent(chain: boolean): Promise<void> {
    const state = this.loaded();
    const intent: DeliveryIntent = state.intent!;
    const files = await inParallel(intent.files, FILES_IN_FLIGHT_MAX, (file) => this.putLogFile(file));
    const delivered = files.filter((file): file is DeliveredFile => file !== undefined);
    state.cursor = Math.max(state.cursor, intent.toSeq);
    state.intent = null;
    if (this.trail.logFileValidationEnabled) state.undigested.push(...delivered);
    const now = this.options.clock.nowMs();
    if (chain && this.pending.size > 0 && this.deliveryWanted() && this.pending.isDue(now, this.limits))
      this.planIntent(now);
    await this.save();
    if (delivered.length > 0) {
      await this.options.trails.updateStatus(this.trail.trailArn, {
        latestDeliveryTimeMs: now,
        latestDeliveryAttemptTimeMs: now,
        latestDeliveryError: undefined,
      });
      this.options.onDelivered?.(delivered);
    }
  }

  /** Builds and puts one planned file from the journal; undefined when none of its entries is left. */
  private async putLogFile(file: PlannedFile): Promise<DeliveredFile | undefined> {
    this.assertNotRevoked();
    const entries = await this.options.journal.readMany(file.seqs);
    const jsons = file.seqs.map((seq) => entries.get(seq)?.json).filter((j): j is string => j !== undefined);
    // Only journal retention can remove planned entries; an empty file would say nothing.
    if (jsons.length === 0) return undefined;
    // The planned range covers the planned entries; with some gone (retention) it is read from the rest.
    const known = jsons.length === file.seqs.length ? this.plannedTimes.get(file.key) : undefined;
    const content = await buildLogFile(jsons, known);
    await this.objects.putObject(file.bucket, file.key, content.gzip, {
      contentType: TRAIL_OBJECT_CONTENT_TYPE,
      contentEncoding: TRAIL_OBJECT_CONTENT_ENCODING,
    });
    return {
      accountId: file.accountId,
      region: file.region,
      bucket: file.bucket,
      key: file.key,
      hashValue: content.sha256,
      oldestEventTime: content.oldestEventTime ?? null,
      newestEventTime: content.newestEventTime ?? null,
      deliveredAtMs: this.options.clock.nowMs(),
    };
  }

  /** Runs delivery work unless a retry is not due yet; a failure is recorded, not thrown. */
  private async retryable(work: () => Promise<void>): Promise<void> {
    const now = this.options.clock.nowMs();
    if (now < this.nextAttemptMs || this.revokedBecause !== undefined) return;
    try {
      await work();
      this.noteSuccess();
    } catch (error) {
      // Not a delivery failure: another node delivers this trail now, and a retry would be refused again.
      if (this.revokedBecause !== undefined) return;
      await this.noteFailure(error, now);
    }
  }

  private noteSuccess(): void {
    this.failures = 0;
    this.nextAttemptMs = 0;
    this.lastFailure = undefined;
  }

  /** Schedules the next attempt with capped exponential back-off and tells GetTrailStatus and `/health`. */
  private async noteFailure(error: unknown, nowMs: number): Promise<void> {
    this.failures++;
    this.lastFailure = error instanceof Error ? error.message : String(error);
    this.nextAttemptMs =
      nowMs + Math.min(RETRY_DELAY_MS_MAX, RETRY_DELAY_MS_INITIAL * 2 ** Math.min(this.failures - 1, 16));
    // Digest failures are already in latestDigestDeliveryError; log-file failures go to latestDeliveryError.
    if (error instanceof DigestDeliveryError) return;
    await this.options.trails.updateStatus(this.trail.trailArn, {
      latestDeliveryError: error instanceof Error ? error.message : String(error),
      latestDeliveryAttemptTimeMs: nowMs,
    });
  }

  private digestContext(): DigestContext {
    return {
      trail: this.trail,
      state: this.loaded(),
      objectStore: this.objects,
      trails: this.options.trails,
      keys: this.options.keys,
      clock: this.options.clock,
      digestIntervalMs: Math.max(1, this.options.digestIntervalSeconds) * 1000,
      keyScope: (accountId: string) => this.keyScope(accountId),
      save: () => this.save(),
    };
  }

  private keyScope(accountId: string): KeyScope {
    return {
      accountId,
      prefix: this.trail.s3KeyPrefix,
      organizationId: this.trail.isOrganizationTrail ? this.options.organizationId : undefined,
    };
  }

  private loaded(): DeliveryState {
    if (this.state === undefined) throw new Error(`${this.name}: loadCursor() was not called.`);
    return this.state;
  }

  private save(): Promise<void> {
    this.assertNotRevoked();
    return this.fenced(() => this.options.deliveryStates.save(this.loaded(), this.fencing()));
  }

  /** Runs a load or save; a stale token revokes this deliverer for good and tells the caller. */
  private async fenced<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (error instanceof StaleFencingTokenError && this.revokedBecause === undefined) {
        this.revoke(error.message);
        this.options.onFenced?.(error);
      }
      throw error;
    }
  }

  private assertNotRevoked(): void {
    if (this.revokedBecause !== undefined) throw new TransientError(this.revokedBecause);
  }

  private fencing(): FencingOptions {
    const { fencingToken } = this.options;
    return fencingToken === undefined ? {} : { fencingToken };
  }

  /** handle(), tick() and flush() share state: one at a time. */
  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = this.lock.then(work, work);
    this.lock = next.catch(() => undefined);
    return next;
  }
}
