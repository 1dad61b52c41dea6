import { offerPreparedRecord, prepareCloudTrailRecord } from "../../event-patterns/index.js";
import type { JournalEntry } from "../../journal/journal.js";
import { recordAccountId, type CloudTrailRecord } from "../../model/record.js";
import type { PendingDelivery, RuleDeliveryStore } from "../../stores/rule-deliveries/index.js";
import type { Consumer } from "../consumer.js";
import type { CompiledRules } from "./compiled-rules.js";

export interface RuleMatcherDeps {
  readonly rules: CompiledRules;
  readonly deliveries: RuleDeliveryStore;
  readonly nowMs: () => number;
  /** Told after a batch queued deliveries, with the entries they are for, so the dispatcher tries them at once. */
  readonly onQueued: (entries: readonly JournalEntry[]) => void;
}

/**
 * The EventBridge rules' journal consumer (docs/reference/events.md, "How targets are invoked"):
 * offers each record to its account's rules in its region and queues one delivery per target of
 * each rule that matches, in the same atomic step as the cursor (RuleDeliveryStore.enqueue). A
 * rule sees the records journaled after it became active, as in EventBridge.
 */
export class RuleMatcher implements Consumer {
  readonly name = "event-rules";

  constructor(private readonly deps: RuleMatcherDeps) {}

  loadCursor(): Promise<number> {
    return this.deps.deliveries.cursor("journal");
  }

  async handle(batch: readonly JournalEntry[]): Promise<void> {
    await this.deps.rules.refresh();
    const queued: PendingDelivery[] = [];
    const matched: JournalEntry[] = [];
    if (this.deps.rules.size > 0) {
      const nowMs = this.deps.nowMs();
      for (const entry of batch) {
        const deliveries = this.matches(entry, nowMs);
        if (deliveries.length > 0) matched.push(entry);
        queued.push(...deliveries);
      }
    }
    await this.deps.deliveries.enqueue(queued, batch[batch.length - 1]!.seq, "journal");
    if (queued.length > 0) this.deps.onQueued(matched);
  }

  async probe(): Promise<void> {
    await this.deps.deliveries.cursor("journal");
  }

  private matches(entry: JournalEntry, nowMs: number): PendingDelivery[] {
    const record = JSON.parse(entry.json) as CloudTrailRecord;
    const accountId = recordAccountId(record);
    const scope = this.deps.rules.inScope(accountId, record.awsRegion);
    if (scope === undefined) return [];
    const prepared = prepareCloudTrailRecord(record, { sourceJsonLength: entry.json.length });
    // A record EventBridge is not sent (network activity) is offered to no rule.
    if (prepared.envelope === undefined) return [];
    const queued: PendingDelivery[] = [];
    for (const { rule, targets, offer } of scope.forSource(prepared.envelope.source)) {
      const decision = offerPreparedRecord(prepared, offer);
      if (!decision.offered || !decision.matched) continue;
      for (const target of targets)
        queued.push({
          ruleArn: rule.arn,
          targetId: target.id,
          origin: "journal",
          seq: entry.seq,
          accountId: rule.accountId,
          firstAttemptAtMs: nowMs,
          attemptsMade: 0,
          nextAttemptAtMs: nowMs,
        });
    }
    return queued;
  }
}
