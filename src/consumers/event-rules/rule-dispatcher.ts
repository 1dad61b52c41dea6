import { cloudTrailEnvelopeOf, transformTargetInput, type CloudTrailEnvelope } from "../../event-patterns/index.js";
import type { Journal, JournalEntry } from "../../journal/journal.js";
import type { CloudTrailRecord } from "../../model/record.js";
import type { EventRule, EventTarget } from "../../stores/event-rules/index.js";
import type {
  DeliveryFailureReason,
  DeliveryKey,
  PendingDelivery,
  RuleDeliveryStore,
} from "../../stores/rule-deliveries/index.js";
import type { InvocationOutcome } from "./api-destination-types.js";
import type { CompiledRules } from "./compiled-rules.js";
import { DEFAULT_RETRY_POLICY, nextAttempt, type RetryPolicy } from "./retry-schedule.js";
import type { TargetSender } from "./target-sender.js";

export interface RuleDispatcherDeps {
  readonly deliveries: RuleDeliveryStore;
  readonly rules: CompiledRules;
  readonly journal: Pick<Journal, "readMany">;
  readonly sender: TargetSender;
  readonly nowMs: () => number;
  readonly report: (error: unknown) => void;
  /** Deliveries in flight at once (a slow endpoint holds one slot for at most its timeout). */
  readonly concurrency?: number;
}

/** Looked at again this often even when nothing woke the dispatcher (a retry falls due, another node queued). */
const IDLE_POLL_MS = 1_000;
const CONCURRENCY = 16;
/**
 * Delivered deliveries are removed from the queue in one durable write at most this often (or once
 * this many wait): a write per delivery blocked the server on an fsync each (bench/detection.ts,
 * 200 deliveries a second). One lost by a crash meanwhile is sent again, as delivery is at least once.
 */
const SETTLED_FLUSH_MS = 100;
const SETTLED_FLUSH_MAX = 256;
/**
 * Due deliveries read from the queue beyond the free slots: a finished delivery starts the next one
 * from memory instead of querying the queue again (a query per delivery, bench/detection.ts).
 */
const READ_AHEAD = 64;
/**
 * Records of just-queued deliveries kept from the matcher, so that their first attempt needs no
 * journal read (a random read inflates a whole block per delivery); beyond this, the oldest go and
 * their deliveries read the journal.
 */
const FRESH_ENTRIES_MAX = 4096;

/**
 * Works off the queued deliveries (RuleDeliveryStore): each due one is built from its journal
 * record (the envelope, the target's input), sent, and then removed when delivered, rescheduled on
 * the target's retry policy when the failure is retryable, or kept as a failure when it is not or
 * the policy ran out. Deliveries run concurrently, so one endpoint that times out delays no other.
 * A delivery whose rule was disabled or deleted, or whose target was removed, is dropped, as
 * EventBridge drops it.
 */
export class RuleDispatcher {
  private readonly inFlight = new Set<string>();
  /** Delivered or dropped, waiting to be removed in the next round's one write. */
  private readonly settled = new Map<string, DeliveryKey>();
  /** Due deliveries read ahead, oldest first, not yet started. */
  private ready: PendingDelivery[] = [];
  /** The queue may hold due deliveries that `ready` lacks (new ones queued, `ready` ran out, a full read). */
  private stale = true;
  /** Journal entries of deliveries the matcher just queued, by seq (FRESH_ENTRIES_MAX). */
  private readonly fresh = new Map<number, JournalEntry>();
  private wakeUp: (() => void) | undefined;
  /** A wake that came while no sleep was waiting (a round under way): the next sleep returns at once. */
  private woken = false;
  private loop: Promise<void> | undefined;
  private stopped = false;
  /** performance.now() of the last removal write (a batching interval, not a schedule: no injected clock). */
  private flushedAt = 0;

  constructor(private readonly deps: RuleDispatcherDeps) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** New deliveries were queued: look again now. */
  wake(): void {
    this.stale = true;
    this.nudge();
  }

  /** The matcher queued deliveries for these entries: their first attempt takes the record from here. */
  queued(entries: readonly JournalEntry[]): void {
    for (const entry of entries) this.fresh.set(entry.seq, entry);
    while (this.fresh.size > FRESH_ENTRIES_MAX) this.fresh.delete(this.fresh.keys().next().value!);
    this.wake();
  }

  /** A slot came free: start what is ready. */
  private nudge(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const waitMs = await this.round().catch((error: unknown) => {
        this.deps.report(error);
        return IDLE_POLL_MS;
      });
      if (!this.stopped) await this.sleep(waitMs);
    }
    while (this.inFlight.size > 0) await this.sleep(IDLE_POLL_MS);
    await this.flushSettled().catch(this.deps.report);
  }

  /** Starts what is due and fits; resolves to how long to wait before looking again. */
  private async round(): Promise<number> {
    const sinceFlushMs = performance.now() - this.flushedAt;
    if (sinceFlushMs >= SETTLED_FLUSH_MS || this.settled.size >= SETTLED_FLUSH_MAX) await this.flushSettled();
    const waitMs = await this.launchDue();
    return this.settled.size > 0 ? Math.min(waitMs, SETTLED_FLUSH_MS) : waitMs;
  }

  private async launchDue(): Promise<number> {
    await this.deps.rules.refresh();
    const slots = (this.deps.concurrency ?? CONCURRENCY) - this.inFlight.size;
    if (slots <= 0) return IDLE_POLL_MS;
    const nowMs = this.deps.nowMs();
    if (this.ready.length < slots && this.stale) await this.readDue(nowMs, slots);
    const starting = this.ready.splice(0, slots);
    if (starting.length > 0) {
      const records = await this.entriesOf(starting.filter((delivery) => delivery.origin === "journal"));
      for (const delivery of starting)
        this.launch(delivery, delivery.origin === "journal" ? records.get(delivery.seq) : undefined);
    }
    // What is ready starts as slots come free (each end wakes the dispatcher).
    if (this.ready.length > 0) return IDLE_POLL_MS;
    this.stale = true;
    const next = await this.deps.deliveries.nextDueAtMs();
    if (next === undefined) return IDLE_POLL_MS;
    // What is due but could not start is in flight: its end wakes the dispatcher.
    if (next <= nowMs && starting.length === 0) return IDLE_POLL_MS;
    return Math.min(IDLE_POLL_MS, Math.max(0, next - nowMs));
  }

  /** Reads due deliveries into `ready`: as many as the free slots and READ_AHEAD, none already known. */
  private async readDue(nowMs: number, slots: number): Promise<void> {
    this.stale = false;
    const readyKeys = new Set(this.ready.map(keyOf));
    // Those in flight, settled but not yet removed, or ready still come back from the store: ask for that many more.
    const limit = slots + READ_AHEAD + this.inFlight.size + this.settled.size + this.ready.length;
    const due = await this.deps.deliveries.due(nowMs, limit);
    // A full read may have left due deliveries behind: read again once `ready` runs short.
    if (due.length === limit) this.stale = true;
    for (const delivery of due) {
      const key = keyOf(delivery);
      if (!this.inFlight.has(key) && !this.settled.has(key) && !readyKeys.has(key)) this.ready.push(delivery);
    }
  }

  /** The deliveries' records: those the matcher handed over, the others in one journal read. */
  private async entriesOf(deliveries: readonly PendingDelivery[]): Promise<Map<number, JournalEntry>> {
    const entries = new Map<number, JournalEntry>();
    const missing: number[] = [];
    for (const { seq } of deliveries) {
      const entry = this.fresh.get(seq);
      if (entry !== undefined) entries.set(seq, entry);
      else missing.push(seq);
    }
    for (const seq of entries.keys()) this.fresh.delete(seq);
    if (missing.length > 0)
      for (const [seq, entry] of await this.deps.journal.readMany(missing)) entries.set(seq, entry);
    return entries;
  }

  private launch(delivery: PendingDelivery, entry: JournalEntry | undefined): void {
    const key = keyOf(delivery);
    this.inFlight.add(key);
    void this.attempt(delivery, entry)
      .catch(this.deps.report)
      .finally(() => {
        this.inFlight.delete(key);
        this.nudge();
      });
  }

  private async attempt(delivery: PendingDelivery, entry: JournalEntry | undefined): Promise<void> {
    const found = this.deps.rules.target(delivery.ruleArn, delivery.targetId);
    const toSend = eventToSend(delivery, entry);
    if (found === undefined || toSend === undefined) {
      // Rule disabled or deleted, target removed, or the record past journal retention: nothing to send.
      this.settle(delivery);
      return;
    }
    const { event } = toSend;
    const input = transformTargetInput(
      inputSpecOf(found.target),
      { ...event },
      { ruleArn: found.rule.arn, ruleName: found.rule.name, ingestionTime: toSend.ingestionTime },
    );
    const attemptedAtMs = this.deps.nowMs();
    if (!input.ok) {
      await this.giveUp(delivery, found, toSend, "input-transform-failed", attemptedAtMs, { error: input.reason });
      return;
    }
    const outcome = await this.deps.sender.send(found.target, input.body, event);
    await this.conclude(delivery, found, toSend, outcome, attemptedAtMs);
  }

  /** Delivered or dropped: removed from the queue with the next round's one write. */
  private settle(delivery: DeliveryKey): void {
    this.settled.set(keyOf(delivery), delivery);
  }

  private async conclude(
    delivery: PendingDelivery,
    found: { rule: EventRule; target: EventTarget },
    sent: EventToSend,
    outcome: InvocationOutcome,
    attemptedAtMs: number,
  ): Promise<void> {
    if (outcome.kind === "delivered") return this.settle(delivery);
    if (outcome.kind === "not-retryable") {
      await this.giveUp(delivery, found, sent, "not-retryable", attemptedAtMs, outcome);
      return;
    }
    const attemptsMade = delivery.attemptsMade + 1;
    const next = nextAttempt(
      {
        firstAttemptAtMs: delivery.firstAttemptAtMs,
        attemptsMade,
        jitterKey: keyOf(delivery),
        ...(outcome.notBeforeMs !== undefined ? { notBeforeMs: outcome.notBeforeMs } : {}),
      },
      retryPolicyOf(found.target),
    );
    if (!next.retry) {
      await this.giveUp(delivery, found, sent, next.reason, attemptedAtMs, outcome);
      return;
    }
    const attempt = {
      attemptsMade,
      attemptedAtMs,
      error: outcome.error,
      ...(outcome.httpStatus !== undefined ? { httpStatus: outcome.httpStatus } : {}),
    };
    await this.deps.deliveries.retryLater(delivery, attempt, next.atMs);
  }

  private async giveUp(
    delivery: PendingDelivery,
    found: { rule: EventRule; target: EventTarget },
    sent: EventToSend,
    reason: DeliveryFailureReason,
    attemptedAtMs: number,
    last: { error: string; httpStatus?: number },
  ): Promise<void> {
    await this.deps.deliveries.giveUp(delivery, {
      accountId: delivery.accountId,
      ruleArn: delivery.ruleArn,
      targetId: delivery.targetId,
      targetArn: found.target.arn,
      eventId: sent.event.id,
      recordEventId: sent.recordEventId,
      ...(delivery.origin === "journal" ? { journalSeq: delivery.seq } : { sigmaMatchId: delivery.seq }),
      reason,
      attempts: delivery.attemptsMade + 1,
      ...(last.httpStatus !== undefined ? { lastHttpStatus: last.httpStatus } : {}),
      lastError: last.error,
      firstAttemptTime: new Date(delivery.firstAttemptAtMs).toISOString(),
      lastAttemptTime: new Date(attemptedAtMs).toISOString(),
      failedTime: new Date(this.deps.nowMs()).toISOString(),
    });
  }

  private async flushSettled(): Promise<void> {
    this.flushedAt = performance.now();
    if (this.settled.size === 0) return;
    const settled = [...this.settled];
    await this.deps.deliveries.remove(settled.map(([, key]) => key));
    for (const [key] of settled) this.settled.delete(key);
  }

  private sleep(ms: number): Promise<void> {
    if (this.woken || ms <= 0) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        this.woken = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeUp = done;
    });
  }
}

function keyOf(delivery: DeliveryKey): string {
  return `${delivery.ruleArn}|${delivery.targetId}|${delivery.origin}|${delivery.seq}`;
}

/** A delivery's event as it is sent, with what its failure would name. */
interface EventToSend {
  readonly event: CloudTrailEnvelope;
  /** The `eventID` of the record the event is (or, for a Sigma match, was made from). */
  readonly recordEventId: string;
  /** The `<aws.events.event.ingestion-time>` of an input transformer. */
  readonly ingestionTime: string;
}

/**
 * A journal delivery's event is built from its record (undefined when retention removed it or
 * EventBridge is not sent its type); a Sigma match's event was kept with the delivery.
 */
function eventToSend(delivery: PendingDelivery, entry: JournalEntry | undefined): EventToSend | undefined {
  if (delivery.origin === "sigma") {
    if (delivery.event === undefined) return undefined;
    const event = JSON.parse(delivery.event) as CloudTrailEnvelope & { detail: { eventID?: unknown } };
    const recordEventId = typeof event.detail.eventID === "string" ? event.detail.eventID : "";
    return { event, recordEventId, ingestionTime: event.time };
  }
  if (entry === undefined) return undefined;
  const record = JSON.parse(entry.json) as CloudTrailRecord;
  const event = cloudTrailEnvelopeOf(record);
  if (event === undefined) return undefined;
  return { event, recordEventId: record.eventID, ingestionTime: new Date(entry.appendedAtMs).toISOString() };
}

function retryPolicyOf(target: EventTarget): RetryPolicy {
  return {
    maximumRetryAttempts: target.retryPolicy?.maximumRetryAttempts ?? DEFAULT_RETRY_POLICY.maximumRetryAttempts,
    maximumEventAgeSeconds: target.retryPolicy?.maximumEventAgeInSeconds ?? DEFAULT_RETRY_POLICY.maximumEventAgeSeconds,
  };
}

function inputSpecOf(target: EventTarget): Parameters<typeof transformTargetInput>[0] {
  const transformer = target.inputTransformer;
  return {
    ...(target.input !== undefined ? { Input: target.input } : {}),
    ...(target.inputPath !== undefined ? { InputPath: target.inputPath } : {}),
    ...(transformer !== undefined
      ? {
          InputTransformer: {
            InputTemplate: transformer.inputTemplate,
            ...(transformer.inputPathsMap !== undefined ? { InputPathsMap: transformer.inputPathsMap } : {}),
          },
        }
      : {}),
  };
}
