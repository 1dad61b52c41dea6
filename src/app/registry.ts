import { performance } from "node:perf_hooks";
import type { FastifyInstance } from "fastify";
import type { Authorizer } from "../auth/authorizer.js";
import type { ServerSettings } from "../config/settings.js";
import type { ConsumerStatus } from "../consumers/consumer.js";
import type { OperationHandler } from "../control-plane/operation.js";
import type { RouteContext } from "../http/audited-route.js";
import type { ApiService } from "../http/routes/cloudtrail-route.js";
import type { Journal } from "../journal/index.js";
import type { Clock } from "../lib/clock.js";
import type { MasterKey } from "../lib/secret-envelope.js";
import type { LeaseGrant, LeaseStore } from "../stores/lease/index.js";
import type { PrincipalStore } from "../stores/principals/index.js";
import type { QuarantineStore } from "../stores/quarantine/index.js";
import type { SigningKeyStore } from "../stores/signing-keys/index.js";
import type { SigmaStore } from "../stores/sigma/index.js";
import type { SavedQueryStore } from "../stores/saved-queries/index.js";
import type { SnsStore } from "../stores/sns/index.js";
import type { Buckets } from "./buckets.js";
import { errorTextForHealth } from "../lib/error-text.js";

/** What every module is started with: the server's settings and the stores every module shares. */
export interface ModuleContext {
  readonly settings: ServerSettings;
  readonly journal: Journal;
  readonly principals: PrincipalStore;
  readonly signingKeys: SigningKeyStore;
  readonly buckets: Buckets;
  /** Decides IAM actions on resources (src/app/authorizer.ts). */
  readonly authorizer: Authorizer;
  /** Where consumers set aside the records their stores refuse (docs/specs/consumer.md, "Quarantine"). */
  readonly quarantine: QuarantineStore;
  /** SNS topics and subscriptions: the SNS API, trail notifications and rule targets share them. */
  readonly sns: SnsStore;
  /** Sigma rules and matches: the live Sigma consumer writes matches, rule delivery routes them. */
  readonly sigma: SigmaStore;
  /** Users' saved Lake queries (the Lake module's PutSavedQuery, ListSavedQueries, DeleteSavedQuery). */
  readonly savedQueries: SavedQueryStore;
  /** Seals the secrets a module keeps at rest (EventBridge connections), as principals' are sealed. */
  readonly masterKey: MasterKey;
  readonly clock: Clock;
  readonly onInternalError: (error: unknown) => void;
}

/** A background task the registry runs every `intervalMs` while this node holds the job's lease. */
export interface Job {
  readonly name: string;
  readonly intervalMs: number;
  /** Run once as soon as the server starts (retention sweeps), not only after the first interval. */
  readonly runAtStart?: boolean;
  run(): Promise<void>;
}

/** What a started module adds to the server; every part is optional. */
export interface StartedModule {
  readonly operations?: ReadonlyArray<readonly [string, OperationHandler]>;
  /**
   * Services on `POST /` besides CloudTrail's (SNS), each taking the requests its `accepts` picks
   * from their headers (the SigV4 scope's service), before the IAM-shaped API and CloudTrail.
   */
  readonly apiServices?: (context: RouteContext) => readonly ApiService[];
  /** Registers HTTP routes; every route answers through the audited-route helper. */
  readonly routes?: (app: FastifyInstance, context: RouteContext) => void | Promise<void>;
  /** The module's journal consumers as they are now (a trail's consumer comes and goes with its logging). */
  readonly consumers?: () => readonly ConsumerStatus[];
  readonly jobs?: readonly Job[];
  /**
   * The singleton leases the module holds now, by lease name (a trail's delivery, the event-history
   * indexer): `/health` shows them as this node's role. Every leased consumer reports here.
   */
  readonly leasesHeld?: () => readonly string[];
  /** Extra facts for `/health` under the module's name. */
  readonly health?: () => Record<string, unknown>;
  /** Addresses the module serves besides the API (the read-only S3 endpoint), by name. */
  readonly endpoints?: Readonly<Record<string, string>>;
  /** Lines for the start-up banner. */
  readonly banner?: () => readonly string[];
  /**
   * Cluster mode: the lowest journal seq any of the module's consumers still needs on any node, from
   * their durable positions as the shared database holds them (Infinity when none needs anything);
   * a consumer with no position yet counts from the seq it starts at. Rejects when the database
   * cannot answer. Journal retention uses only this in cluster mode, so a module that reports
   * `consumers` must have it there (the registry refuses to start it otherwise).
   */
  readonly clusterFloor?: () => Promise<number>;
  close(): Promise<void>;
}

/** A unit of the server: a consumer with its operations, a route set, a background job. */
export interface CairnModule {
  readonly name: string;
  start(context: ModuleContext): Promise<StartedModule>;
}

const LEASE_TTL_FACTOR = 3;
const JOURNAL_RETENTION_INTERVAL_MS = 60 * 60 * 1000;

export interface ConsumerHealth {
  readonly cursor: number;
  /** Records after the consumer's progress (ConsumerStatus.progressSeq, else its cursor). */
  readonly lagRecords: number;
  readonly lastError?: string;
}

export interface RegistryOptions {
  readonly leases: LeaseStore;
  /** This node's name as a lease holder. */
  readonly nodeId: string;
  /** Journal entries younger than this are kept even when every consumer has them. */
  readonly journalRetentionMs: number;
  /**
   * Cluster mode: journal retention's floor is the minimum of every module's `clusterFloor()`, which
   * sees the consumers of every node, never this node's consumers alone (another node may run a
   * trail's delivery or the Lake writer). Without it (the embedded server) the floor is this node's.
   */
  readonly clusterWide?: boolean;
}

/**
 * Starts modules in order and is the one place that knows them all: it collects their operations,
 * computes journal retention from every registered consumer, reports every consumer in `/health`,
 * and runs every job under a lease (docs/ARCHITECTURE.md, "The module registry").
 */
export class ModuleRegistry {
  private readonly started: Array<{ name: string; module: StartedModule }> = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<Promise<void>>();
  /** Each job's last grant, and until when (this node's monotonic clock) it surely holds. */
  private readonly grants = new Map<string, { grant: LeaseGrant; heldUntilMs: number }>();
  private closed = false;

  private constructor(
    private readonly context: ModuleContext,
    private readonly options: RegistryOptions,
  ) {}

  /** Starts every module; when one fails, the ones already started are closed again. */
  static async start(
    modules: readonly CairnModule[],
    context: ModuleContext,
    options: RegistryOptions,
  ): Promise<ModuleRegistry> {
    const registry = new ModuleRegistry(context, options);
    try {
      for (const module of modules) {
        registry.started.push({ name: module.name, module: await module.start(context) });
        registry.checkClusterFloor(registry.started.at(-1)!);
      }
    } catch (error) {
      await registry.close();
      throw error;
    }
    return registry;
  }

  /** Every module's operations; two modules claiming one operation is a wiring mistake, refused. */
  operations(): Map<string, OperationHandler> {
    const out = new Map<string, OperationHandler>();
    for (const { name, module } of this.started)
      for (const [operation, handler] of module.operations ?? []) {
        if (out.has(operation))
          throw new Error(`Two modules register the operation ${operation} (the second: ${name}).`);
        out.set(operation, handler);
      }
    return out;
  }

  /** Every module's services on `POST /` (StartedModule.apiServices). */
  apiServices(routeContext: RouteContext): ApiService[] {
    return this.started.flatMap(({ module }) => module.apiServices?.(routeContext) ?? []);
  }

  async registerRoutes(app: FastifyInstance, routeContext: RouteContext): Promise<void> {
    for (const { module } of this.started) await module.routes?.(app, routeContext);
  }

  consumers(): ConsumerStatus[] {
    return this.started.flatMap(({ module }) => module.consumers?.() ?? []);
  }

  /** The lowest seq any consumer of this node still needs; Infinity when none is registered. */
  retentionFloor(): number {
    return Math.min(Infinity, ...this.consumers().map((consumer) => consumer.neededFromSeq));
  }

  /**
   * The floor journal retention keeps: this node's consumers' (embedded), or in cluster mode the
   * lowest every module's `clusterFloor()` reports from the database. Rejects when one cannot
   * answer: never a node-local guess, which would miss the other nodes' consumers.
   */
  async journalFloor(): Promise<number> {
    if (this.options.clusterWide !== true) return this.retentionFloor();
    const floors = await Promise.all(
      this.started.flatMap(({ module }) => (module.clusterFloor !== undefined ? [module.clusterFloor()] : [])),
    );
    return Math.min(Infinity, ...floors);
  }

  /** A consumer journal retention could not see in cluster mode is a wiring mistake: refused at start. */
  private checkClusterFloor({ name, module }: { name: string; module: StartedModule }): void {
    if (this.options.clusterWide === true && module.consumers !== undefined && module.clusterFloor === undefined)
      throw new Error(
        `The module ${name} reports journal consumers but no clusterFloor: cluster retention would miss them.`,
      );
  }

  /** Every registered consumer's cursor and lag, and each module's own facts, by name. */
  health(): { consumers: Record<string, ConsumerHealth>; modules: Record<string, Record<string, unknown>> } {
    const head = this.context.journal.headSeq();
    const consumers = Object.fromEntries(
      this.consumers().map(({ name, cursor, lastError, progressSeq }) => [
        name,
        {
          cursor,
          lagRecords: Math.max(0, head - Math.max(cursor, progressSeq ?? cursor)),
          ...(lastError !== undefined ? { lastError: errorTextForHealth(lastError) } : {}),
        },
      ]),
    );
    const modules = Object.fromEntries(
      this.started
        .filter(({ module }) => module.health !== undefined)
        .map(({ name, module }) => [name, module.health!()]),
    );
    return { consumers, modules };
  }

  /** The leases this node holds now: its modules' and its jobs' (`job:<name>`), sorted. */
  leasesHeld(): string[] {
    const now = performance.now();
    const jobs = [...this.grants.values()]
      .filter(({ heldUntilMs }) => now < heldUntilMs)
      .map(({ grant }) => grant.name);
    return [...this.started.flatMap(({ module }) => module.leasesHeld?.() ?? []), ...jobs].sort();
  }

  endpoint(name: string): string | undefined {
    return this.started.map(({ module }) => module.endpoints?.[name]).find((url) => url !== undefined);
  }

  banner(): string[] {
    return this.started.flatMap(({ module }) => module.banner?.() ?? []);
  }

  /**
   * Journal retention: deletes what every consumer has made durable and what is older than the
   * retention period. A consumer missing here would let the journal drop entries it has not
   * processed, so the floor comes from the same list `/health` reports (embedded), or from every
   * node's consumers as the database holds them (cluster mode, `journalFloor()`). When the database
   * cannot answer, the run deletes nothing and rejects.
   */
  async applyJournalRetention(): Promise<number> {
    const olderThanMs = this.context.clock.nowMs() - this.options.journalRetentionMs;
    let floor: number;
    try {
      floor = await this.journalFloor();
    } catch (error) {
      throw new Error("Journal retention deleted nothing: the cluster's consumer positions could not be read.", {
        cause: error,
      });
    }
    return this.context.journal.deleteBefore(floor, olderThanMs);
  }

  private jobs(): Job[] {
    const retention: Job = {
      name: "journal-retention",
      intervalMs: JOURNAL_RETENTION_INTERVAL_MS,
      runAtStart: true,
      run: async () => void (await this.applyJournalRetention()),
    };
    return [...this.started.flatMap(({ module }) => module.jobs ?? []), retention];
  }

  /** Starts every module's jobs: each runs every intervalMs (and at once if it asks to), never twice at a time. */
  startJobs(): void {
    for (const job of this.jobs()) {
      let busy = false;
      const tick = (): void => {
        if (busy || this.closed) return;
        busy = true;
        const run = this.runLeased(job).finally(() => {
          busy = false;
          this.running.delete(run);
        });
        this.running.add(run);
      };
      if (job.runAtStart === true) tick();
      const timer = setInterval(tick, job.intervalMs);
      timer.unref();
      this.timers.push(timer);
    }
  }

  /**
   * Runs a job while this node holds its lease (acquiring renews it), so that of several nodes only
   * one runs each job; the lease is kept between runs and lapses if this node stops renewing it.
   */
  private async runLeased(job: Job): Promise<void> {
    try {
      const ttlMs = job.intervalMs * LEASE_TTL_FACTOR;
      const askedAtMs = performance.now();
      const grant = await this.options.leases.acquire(`job:${job.name}`, this.options.nodeId, ttlMs);
      if (grant === undefined) {
        this.grants.delete(job.name);
        return;
      }
      this.grants.set(job.name, { grant, heldUntilMs: askedAtMs + ttlMs });
      await job.run();
    } catch (error) {
      this.context.onInternalError(error);
    }
  }

  /** Stops starting jobs and waits for the runs in flight; gives up the leases. */
  async stopJobs(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    this.timers.length = 0;
    await Promise.all(this.running);
    for (const { grant } of this.grants.values())
      await this.options.leases.release(grant).catch(this.context.onInternalError);
    this.grants.clear();
  }

  /** Stops the jobs, then closes the modules in reverse start order. */
  async close(): Promise<void> {
    await this.stopJobs();
    for (const { name, module } of [...this.started].reverse())
      await closeWithin(name, module, MODULE_CLOSE_MS, this.context.onInternalError);
    this.started.length = 0;
  }
}

/**
 * A module that has not stopped this long after it was asked is reported and left behind, so a
 * stopping server always stops (an orchestrator's grace period is typically 30 s); what it had not
 * finished is what a crash would leave, which every consumer recovers from.
 */
const MODULE_CLOSE_MS = 15_000;

async function closeWithin(
  name: string,
  module: StartedModule,
  ms: number,
  report: (error: unknown) => void,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), ms)));
  try {
    const outcome = await Promise.race([module.close().then(() => "closed" as const), late]);
    if (outcome === "late")
      report(new Error(`Module ${name} did not stop within ${ms / 1000} s; stopping without it.`));
  } catch (error) {
    report(error);
  } finally {
    clearTimeout(timer);
  }
}
