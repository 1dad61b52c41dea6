import type { Clock } from "../../lib/clock.js";
import { errorTextForHealth } from "../../lib/error-text.js";
import { KeyedQueue } from "../../lib/keyed-queue.js";
import type { DeliveredFile, TrailConfig, TrailStore } from "../../stores/trails/index.js";

/**
 * Publishes one notification message to the trail's SNS topic (the trails module wires it to SNS):
 * resolves to undefined once the topic took it and every confirmed subscriber answered (after its
 * retries), else to why not, as GetTrailStatus shows it. Never rejects for a subscriber's failure.
 */
export type TrailNotify = (trail: TrailConfig, message: string) => Promise<string | undefined>;

/** Keys per message: 500 keys of at most ~330 characters stay under SNS's 256 KiB message limit. */
const KEYS_PER_MESSAGE = 500;
/** Notifications one trail may have waiting (its topic's endpoints are slow or down); later ones are dropped and said so. */
const WAITING_PER_TRAIL_MAX = 100;

/**
 * A trail's SNS notifications (spec §2.4): after each delivery of log files, once the delivery is
 * committed, one message `{"s3Bucket":…,"s3ObjectKey":[…]}` naming every file of that delivery.
 * They run beside delivery, one trail's in order, and never hold it up or fail it: the outcome goes
 * to the trail's status (LatestNotificationTime / LatestNotificationError). A notification is sent at
 * most once: one lost to a crash or to a lease moving on is not sent again (docs/reference/trails.md).
 * Digest files do not notify.
 */
export class TrailNotifications {
  private readonly queue = new KeyedQueue();
  private readonly waiting = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      readonly notify: TrailNotify;
      readonly trails: Pick<TrailStore, "updateStatus">;
      readonly clock: Clock;
      readonly report: (error: unknown) => void;
    },
  ) {}

  /**
   * Queues the notification of `files`, just committed by the trail's deliverer; returns at once.
   * `stillOwned` is asked before each step: a deliverer whose lease moved on has no more effects.
   */
  enqueue(trail: TrailConfig, files: readonly DeliveredFile[], stillOwned: () => boolean): void {
    if (trail.snsTopicName === undefined || files.length === 0) return;
    for (const message of messagesOf(files)) {
      const arn = trail.trailArn;
      const count = this.waiting.get(arn) ?? 0;
      if (count >= WAITING_PER_TRAIL_MAX) {
        const error = `Cairn dropped a notification: ${count} were already waiting for the topic.`;
        void this.record(trail, this.deps.clock.nowMs(), error).catch(this.deps.report);
        continue;
      }
      this.waiting.set(arn, count + 1);
      const run = this.queue
        .run(arn, () => this.send(trail, message, stillOwned))
        .catch(this.deps.report)
        .finally(() => {
          const left = (this.waiting.get(arn) ?? 1) - 1;
          if (left === 0) this.waiting.delete(arn);
          else this.waiting.set(arn, left);
          this.running.delete(run);
        });
      this.running.add(run);
    }
  }

  /** Resolves once every notification queued so far has finished (its status recorded). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }

  private async send(trail: TrailConfig, message: string, stillOwned: () => boolean): Promise<void> {
    if (!stillOwned()) return;
    const attemptMs = this.deps.clock.nowMs();
    let problem: string | undefined;
    try {
      problem = await this.deps.notify(trail, message);
    } catch (error) {
      // A store that cannot answer names its engine's address: the operator's business, not the trail owner's.
      problem = errorTextForHealth(error);
    }
    if (stillOwned()) await this.record(trail, attemptMs, problem);
  }

  private record(trail: TrailConfig, attemptMs: number, problem: string | undefined): Promise<void> {
    return this.deps.trails.updateStatus(
      trail.trailArn,
      problem === undefined
        ? {
            latestNotificationTimeMs: this.deps.clock.nowMs(),
            latestNotificationAttemptTimeMs: attemptMs,
            latestNotificationError: undefined,
          }
        : { latestNotificationAttemptTimeMs: attemptMs, latestNotificationError: problem },
    );
  }
}

/** One message per bucket (a trail writes to one) and per KEYS_PER_MESSAGE keys, keys in delivery order. */
function messagesOf(files: readonly DeliveredFile[]): string[] {
  const byBucket = new Map<string, string[]>();
  for (const file of files) byBucket.set(file.bucket, [...(byBucket.get(file.bucket) ?? []), file.key]);
  const messages: string[] = [];
  for (const [bucket, keys] of byBucket) {
    for (let start = 0; start < keys.length; start += KEYS_PER_MESSAGE)
      messages.push(JSON.stringify({ s3Bucket: bucket, s3ObjectKey: keys.slice(start, start + KEYS_PER_MESSAGE) }));
  }
  return messages;
}
