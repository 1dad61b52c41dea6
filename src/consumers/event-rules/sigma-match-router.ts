import { patternMatches } from "../../event-patterns/index.js";
import type { Journal } from "../../journal/journal.js";
import type { CloudTrailRecord } from "../../model/record.js";
import type { PendingDelivery, RuleDeliveryStore } from "../../stores/rule-deliveries/index.js";
import type { SigmaMatch, SigmaMatchStore } from "../../stores/sigma/index.js";
import type { CompiledRules } from "./compiled-rules.js";
import { SIGMA_MATCH_SOURCE, sigmaMatchEventOf } from "./sigma-match-event.js";

export interface SigmaMatchRouterDeps {
  readonly matches: Pick<SigmaMatchStore, "matchesAfter">;
  readonly journal: Pick<Journal, "readMany">;
  readonly rules: CompiledRules;
  readonly deliveries: RuleDeliveryStore;
  readonly nowMs: () => number;
  /** The region of a match whose record the journal no longer holds. */
  readonly defaultRegion: string;
  /** Told after a page queued deliveries, so the dispatcher tries them at once. */
  readonly onQueued: () => void;
  readonly report: (error: unknown) => void;
}

/** Looked for new matches this often (the Sigma consumer may run on another node). */
const POLL_MS = 1_000;
const PAGE = 100;
/**
 * A match older than this when it is routed (rule delivery was stopped, or this Cairn was just
 * upgraded) goes to no rule: EventBridge sends no event older than a target's maximum age (24 h).
 */
const MATCH_AGE_MAX_MS = 86_400_000;

/**
 * Offers each live Sigma match (SigmaMatchStore, in id order) as a "Sigma Rule Match" event to the
 * EventBridge rules of the match's account in its record's region, and queues one delivery per
 * target of each rule that matches, with the event, in the same atomic step as the `sigma` cursor
 * (RuleDeliveryStore.enqueue): a crash routes the page again and queues nothing twice. A rule sees
 * the matches made after it was created.
 */
export class SigmaMatchRouter {
  private loop: Promise<void> | undefined;
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  /** The `sigma` cursor as this router last wrote it; read from the store at start and after a failure. */
  private cursor: number | undefined;

  constructor(private readonly deps: SigmaMatchRouterDeps) {}

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.loop;
  }

  /** Routes the next page of matches; resolves true when the page was full (more may be waiting). */
  async routePage(): Promise<boolean> {
    this.cursor ??= await this.deps.deliveries.cursor("sigma");
    const page = await this.deps.matches.matchesAfter(this.cursor, PAGE);
    if (page.length === 0) return false;
    await this.deps.rules.refresh();
    const nowMs = this.deps.nowMs();
    const fresh = page.filter((match) => nowMs - match.matchedAtMs <= MATCH_AGE_MAX_MS);
    const records = this.deps.rules.size > 0 ? await this.deps.journal.readMany(fresh.map((m) => m.seq)) : new Map();
    const queued = fresh.flatMap((match) => this.deliveriesOf(match, records.get(match.seq)?.json, nowMs));
    const throughId = page[page.length - 1]!.id;
    await this.deps.deliveries.enqueue(queued, throughId, "sigma");
    this.cursor = throughId;
    if (queued.length > 0) this.deps.onQueued();
    return page.length === PAGE;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const more = await this.routePage().catch((error: unknown) => {
        this.cursor = undefined;
        this.deps.report(new Error(`Routing Sigma matches to EventBridge rules failed (retried): ${String(error)}`));
        return false;
      });
      if (!more) await this.sleep(POLL_MS);
    }
  }

  private deliveriesOf(match: SigmaMatch, recordJson: string | undefined, nowMs: number): PendingDelivery[] {
    const record = recordJson === undefined ? undefined : parsedRecord(recordJson);
    const { event, json: eventJson } = sigmaMatchEventOf(match, record, this.deps.defaultRegion);
    const scope = this.deps.rules.inScope(match.accountId, event.region);
    if (scope === undefined) return [];
    const queued: PendingDelivery[] = [];
    for (const { rule, targets, offer } of scope.forSource(SIGMA_MATCH_SOURCE)) {
      if (rule.createdAtMs > match.matchedAtMs || !patternMatches(offer.pattern, event)) continue;
      for (const target of targets)
        queued.push({
          ruleArn: rule.arn,
          targetId: target.id,
          origin: "sigma",
          seq: match.id,
          accountId: rule.accountId,
          firstAttemptAtMs: nowMs,
          attemptsMade: 0,
          nextAttemptAtMs: nowMs,
          event: eventJson,
        });
    }
    return queued;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}

/** A journal entry's record; undefined for one that is not a JSON object (the quarantine's business, not routing's). */
function parsedRecord(json: string): CloudTrailRecord | undefined {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as CloudTrailRecord)
      : undefined;
  } catch {
    return undefined;
  }
}
