import type { ConsumerStatus } from "../consumers/consumer.js";
import type { Journal } from "../journal/index.js";
import type { Clock } from "../lib/clock.js";
import type { QuarantineStore } from "../stores/quarantine/index.js";

/** Why `/health` says `degraded` (docs/reference/security.md, "Health"). */
export type HealthReasonCode =
  | "journal_unwritable"
  | "database_unreachable"
  | "consumer_stalled"
  | "consumer_lagging"
  | "records_quarantined"
  | "quarantine_unreadable";

export interface HealthReason {
  readonly code: HealthReasonCode;
  readonly message: string;
  /** The consumer the reason is about, for the consumer reasons. */
  readonly consumer?: string;
}

export interface ConsumerLag {
  /** Records after the consumer's progress. */
  readonly lagRecords: number;
  /** Age of the oldest record waiting in the consumer (since it was journaled); 0 when none waits. */
  readonly lagSeconds: number;
}

export interface HealthFacts {
  readonly status: "ok" | "degraded";
  readonly reasons: readonly HealthReason[];
  /** Undefined when the journal can take an append now; why not otherwise. */
  readonly journalProblem: string | undefined;
  /** Cluster mode: undefined when the database answered; why not otherwise. Always undefined without a database. */
  readonly databaseProblem: string | undefined;
  readonly consumers: Readonly<Record<string, ConsumerLag>>;
  /** Undefined when the quarantine could not be read. */
  readonly quarantinedRecords: number | undefined;
  /** Cluster mode: the journal retention floor of every node's consumers; null when it could not be read. */
  readonly retentionFloorSeq: number | null;
}

export interface HealthMonitorDeps {
  readonly journal: Journal;
  /** The registered consumers as they are now (ModuleRegistry.consumers). */
  readonly consumers: () => readonly ConsumerStatus[];
  readonly quarantine: QuarantineStore;
  readonly clock: Clock;
  /** CAIRN_HEALTH_MAX_LAG_SECONDS. */
  readonly maxLagSeconds: number;
  /** Cluster mode: a cheap statement on the shared database (`SELECT 1`); rejects when it cannot be reached. */
  readonly database?: () => Promise<void>;
  /** Cluster mode: the journal retention floor read from the database (ModuleRegistry.journalFloor). */
  readonly retentionFloor?: () => Promise<number>;
}

/** `/health` is unauthenticated: its checks (a small fsync among them) run at most this often. */
const REFRESH_MS = 1_000;
/** A journal whose write check has not answered after this long is reported as not writable. */
const WRITE_CHECK_TIMEOUT_MS = 5_000;
/** A database that has not answered `SELECT 1` after this long (stopped, paused, unroutable) is reported unreachable. */
const DATABASE_CHECK_TIMEOUT_MS = 3_000;

/**
 * What `/health` and `/health/ready` say, computed at most once a second whatever the request rate
 * (callers meanwhile share the last computation or the one under way). The journal can write or not
 * (`Journal.checkWritable`); each consumer's oldest waiting record is dated from the journal; a
 * consumer whose progress has not moved for `maxLagSeconds` while records wait is stalled (observed
 * across calls: the first call after a start only starts the clock); quarantined records are counted.
 */
export class HealthMonitor {
  private readonly positions = new Map<string, { seq: number; sinceMs: number }>();
  private latest: { atMs: number; facts: Promise<HealthFacts> } | undefined;
  /** The database check under way: a hung one is awaited again rather than doubled, so a paused server holds one connection. */
  private databaseCheck: Promise<void> | undefined;
  /** The floor read under way, shared the same way. */
  private floorRead: Promise<number | null> | undefined;

  constructor(private readonly deps: HealthMonitorDeps) {}

  facts(): Promise<HealthFacts> {
    const nowMs = this.deps.clock.nowMs();
    if (this.latest !== undefined && nowMs - this.latest.atMs < REFRESH_MS) return this.latest.facts;
    const facts = this.compute(nowMs);
    this.latest = { atMs: nowMs, facts };
    return facts;
  }

  private async compute(nowMs: number): Promise<HealthFacts> {
    const [journalProblem, databaseProblem, quarantinedRecords, consumers, retentionFloorSeq] = await Promise.all([
      this.journalProblem(),
      this.databaseProblem(),
      this.deps.quarantine.count().catch(() => undefined),
      this.consumerLags(nowMs),
      this.retentionFloor(),
    ]);
    for (const name of this.positions.keys()) if (!(name in consumers)) this.positions.delete(name);
    const reasons: HealthReason[] = [];
    if (journalProblem !== undefined)
      reasons.push({ code: "journal_unwritable", message: `The journal cannot take writes: ${journalProblem}` });
    if (databaseProblem !== undefined)
      reasons.push({ code: "database_unreachable", message: `The database cannot be reached: ${databaseProblem}` });
    for (const [name, lag] of Object.entries(consumers)) {
      const reason = this.consumerReason(name, lag, nowMs);
      if (reason !== undefined) reasons.push(reason);
    }
    if (quarantinedRecords === undefined)
      reasons.push({ code: "quarantine_unreadable", message: "The quarantine of refused records cannot be read." });
    else if (quarantinedRecords > 0)
      reasons.push({
        code: "records_quarantined",
        message: `${quarantinedRecords} record(s) are quarantined: a store refused them (cairn quarantine list).`,
      });
    return {
      status: reasons.length === 0 ? "ok" : "degraded",
      reasons,
      journalProblem,
      databaseProblem,
      consumers,
      quarantinedRecords,
      retentionFloorSeq,
    };
  }

  /** The retention floor, bounded as the database check is; null when it failed or did not answer in time. */
  private async retentionFloor(): Promise<number | null> {
    const { retentionFloor } = this.deps;
    if (retentionFloor === undefined) return null;
    const read = (this.floorRead ??= retentionFloor()
      .catch(() => null)
      .finally(() => (this.floorRead = undefined)));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), DATABASE_CHECK_TIMEOUT_MS)));
    try {
      return await Promise.race([read, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private journalProblem(): Promise<string | undefined> {
    const check = this.deps.journal.checkWritable().then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    return withinMs(check, WRITE_CHECK_TIMEOUT_MS, "the write check");
  }

  /**
   * The database's answer to a cheap statement, bounded. The driver's message names the server
   * (user, host, database): `/health` is unauthenticated, so it says only what failed.
   */
  private databaseProblem(): Promise<string | undefined> {
    const { database } = this.deps;
    if (database === undefined) return Promise.resolve(undefined);
    const check = (this.databaseCheck ??= database().finally(() => (this.databaseCheck = undefined)));
    return withinMs(
      check.then(
        () => undefined,
        () => "it refused or dropped the connection.",
      ),
      DATABASE_CHECK_TIMEOUT_MS,
      "a query",
    );
  }

  /** Each consumer's lag in records and in seconds (the journal time of its oldest waiting record). */
  private async consumerLags(nowMs: number): Promise<Record<string, ConsumerLag & { progressSeq: number }>> {
    const head = this.deps.journal.headSeq();
    const appendedAt = new Map<number, Promise<number | undefined>>();
    const lags = await Promise.all(
      this.deps.consumers().map(async ({ name, cursor, progressSeq }) => {
        const progress = Math.max(cursor, progressSeq ?? cursor);
        if (progress >= head) return [name, { lagRecords: 0, lagSeconds: 0, progressSeq: progress }] as const;
        let when = appendedAt.get(progress + 1);
        if (when === undefined) appendedAt.set(progress + 1, (when = this.appendedAtMs(progress + 1)));
        const oldestMs = (await when) ?? nowMs;
        const lagSeconds = Math.max(0, Math.floor((nowMs - oldestMs) / 1000));
        return [name, { lagRecords: head - progress, lagSeconds, progressSeq: progress }] as const;
      }),
    );
    return Object.fromEntries(lags);
  }

  private async appendedAtMs(seq: number): Promise<number | undefined> {
    try {
      return (await this.deps.journal.read(seq, 1))[0]?.appendedAtMs;
    } catch {
      return undefined;
    }
  }

  /** Stalled (no progress for maxLagSeconds while records wait), else lagging (oldest waiting too old). */
  private consumerReason(
    name: string,
    lag: ConsumerLag & { progressSeq: number },
    nowMs: number,
  ): HealthReason | undefined {
    const maxLagMs = this.deps.maxLagSeconds * 1000;
    const seen = this.positions.get(name);
    const moved = seen === undefined || seen.seq !== lag.progressSeq || lag.lagRecords === 0;
    const sinceMs = moved ? nowMs : seen.sinceMs;
    this.positions.set(name, { seq: lag.progressSeq, sinceMs });
    if (lag.lagRecords > 0 && nowMs - sinceMs >= maxLagMs)
      return {
        code: "consumer_stalled",
        consumer: name,
        message: `${name} has not moved for ${Math.floor((nowMs - sinceMs) / 1000)} s while ${lag.lagRecords} record(s) wait.`,
      };
    if (lag.lagSeconds > this.deps.maxLagSeconds)
      return {
        code: "consumer_lagging",
        consumer: name,
        message: `${name} is ${lag.lagSeconds} s behind the journal (CAIRN_HEALTH_MAX_LAG_SECONDS is ${this.deps.maxLagSeconds}).`,
      };
    return undefined;
  }
}

/** What `check` found, or that `what` did not answer within `ms`. */
async function withinMs(check: Promise<string | undefined>, ms: number, what: string): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`${what} did not answer within ${ms / 1000} s.`), ms);
  });
  try {
    return await Promise.race([check, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
