import type { Clock } from "../../lib/clock.js";
import type { EventRuleStore } from "../../stores/event-rules/index.js";
import type { RuleDeliveryStore } from "../../stores/rule-deliveries/index.js";
import type { SigmaMatchStore } from "../../stores/sigma/index.js";
import type { ConsumerStatus } from "../consumer.js";
import type { RecordQuarantine } from "../quarantine.js";
import { ConsumerRunner, type ConsumerJournal } from "../runner.js";
import type { Journal } from "../../journal/journal.js";
import { CompiledRules } from "./compiled-rules.js";
import { RuleDispatcher } from "./rule-dispatcher.js";
import { RuleMatcher } from "./rule-matcher.js";
import { SigmaMatchRouter } from "./sigma-match-router.js";
import type { TargetSender } from "./target-sender.js";

export interface RuleDeliveryDeps {
  readonly journal: ConsumerJournal & Pick<Journal, "readMany">;
  readonly rules: Pick<EventRuleStore, "revision" | "activeRules">;
  readonly deliveries: RuleDeliveryStore;
  readonly sender: TargetSender;
  readonly quarantine: RecordQuarantine;
  /** The live Sigma matches, routed as "Sigma Rule Match" events. */
  readonly sigmaMatches: Pick<SigmaMatchStore, "matchesAfter">;
  /** The server's region: a Sigma match's when the journal no longer holds its record. */
  readonly region: string;
  readonly clock: Clock;
  readonly report: (error: unknown) => void;
}

/**
 * EventBridge rule delivery on one node: the matcher follows the journal and the router the live
 * Sigma matches, each queueing deliveries under its own cursor; the dispatcher sends them. `status()` answers for `/health` and journal retention: the oldest
 * record a queued delivery still needs is kept.
 */
export class RuleDelivery {
  private running:
    | { readonly runner: ConsumerRunner; readonly router: SigmaMatchRouter; readonly dispatcher: RuleDispatcher }
    | undefined;
  private oldestQueued: number | undefined;

  constructor(private readonly deps: RuleDeliveryDeps) {}

  /** Starts matching and dispatching; again after stop() (a cluster node that regained the lease) too. */
  async start(): Promise<void> {
    if (this.running !== undefined) return;
    const { deps } = this;
    const nowMs = (): number => deps.clock.nowMs();
    const rules = new CompiledRules(deps.rules, deps.report);
    const dispatcher = new RuleDispatcher({ ...deps, rules, nowMs });
    const matcher = new RuleMatcher({
      rules,
      deliveries: deps.deliveries,
      nowMs,
      onQueued: (entries) => dispatcher.queued(entries),
    });
    const runner = new ConsumerRunner(deps.journal, matcher, {
      quarantine: deps.quarantine,
      onFailure: (error) => deps.report(new Error(`EventBridge rule matching failed (retried): ${String(error)}`)),
    });
    const router = new SigmaMatchRouter({
      ...{ matches: deps.sigmaMatches, journal: deps.journal, rules, deliveries: deps.deliveries, nowMs },
      ...{ defaultRegion: deps.region, onQueued: () => dispatcher.wake(), report: deps.report },
    });
    await runner.start();
    router.start();
    dispatcher.start();
    this.running = { runner, router, dispatcher };
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    await running?.runner.stop();
    await running?.router.stop();
    await running?.dispatcher.stop();
  }

  /** Refreshes what status() reports of the queue (a job calls it; status() must answer at once). */
  async refreshQueueFloor(): Promise<void> {
    this.oldestQueued = await this.deps.deliveries.oldestQueuedSeq();
  }

  /** For `/health` and journal retention, while running. */
  status(): ConsumerStatus {
    const cursor = this.running?.runner.cursorSeq() ?? 0;
    const error = this.running?.runner.lastError;
    return {
      name: "event-rules",
      cursor,
      neededFromSeq: Math.min(cursor + 1, this.oldestQueued ?? Infinity),
      ...(error !== undefined ? { lastError: String(error) } : {}),
    };
  }
}

/** The lowest seq rule delivery needs as the store has it: for the cluster-wide retention floor. */
export async function ruleDeliveryFloor(deliveries: RuleDeliveryStore): Promise<number> {
  const [cursor, oldest] = await Promise.all([deliveries.cursor("journal"), deliveries.oldestQueuedSeq()]);
  return Math.min(cursor + 1, oldest ?? Infinity);
}
