import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { openFilesystemObjectStore } from "../../../src/stores/objects/filesystem-object-store.js";
import type { DeleteObjectOptions, ObjectStore, PutObjectOptions } from "../../../src/stores/objects/object-store.js";
import { ObjectStoreError } from "../../../src/stores/objects/object-store.js";
import {
  TrailAlreadyExistsError,
  deletedTrailOf,
  type AccountTrailsCheck,
  type DeleteTrailOptions,
  type DeletedTrail,
  type TrailConfig,
  type TrailDeliveryStatus,
  type TrailStore,
} from "../../../src/stores/trails/trail.js";
import type { CloudTrailRecord } from "../../../src/model/record.js";
import type { EventSelectorMatcher } from "../../../src/selectors/selector-types.js";
import { MemoryJournal } from "../../helpers/memory-journal.js";

export const ACCOUNT = "111122223333";
export const BUCKET = "trail-bucket";

export class ManualClock {
  constructor(public ms: number) {}
  nowMs(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

export function trailConfig(overrides: Partial<TrailConfig> = {}): TrailConfig {
  const name = overrides.name ?? "main-trail";
  const homeRegion = overrides.homeRegion ?? "us-east-1";
  const accountId = overrides.accountId ?? ACCOUNT;
  return {
    accountId,
    name,
    homeRegion,
    trailArn: `arn:aws:cloudtrail:${homeRegion}:${accountId}:trail/${name}`,
    s3BucketName: BUCKET,
    includeGlobalServiceEvents: true,
    isMultiRegionTrail: false,
    isOrganizationTrail: false,
    logFileValidationEnabled: true,
    hasCustomEventSelectors: false,
    tags: [],
    isLogging: true,
    startLoggingTimeMs: 1_700_000_000_000,
    createdAtMs: 1_700_000_000_000,
    deliverFromSeq: 1,
    ...overrides,
  };
}

/**
 * A TrailStore in memory, held to the same contract suite as the SQLite store (test/contract/): status
 * merges (undefined clears) and exists only for stored trails, listeners survive a failing one.
 */
export class MemoryTrailStore implements TrailStore {
  readonly trails = new Map<string, TrailConfig>();
  readonly statuses = new Map<string, Record<string, unknown>>();
  private deleted: DeletedTrail[] = [];
  private readonly listeners: Array<() => void> = [];
  constructor(private readonly onListenerError: (error: unknown) => void = (error) => console.error(error)) {}
  async list(accountId?: string): Promise<TrailConfig[]> {
    return this.listNow(accountId);
  }
  private listNow(accountId?: string): TrailConfig[] {
    return [...this.trails.values()]
      .filter((t) => accountId === undefined || t.accountId === accountId)
      .sort((a, b) => compare(a.accountId, b.accountId) || compare(a.name, b.name));
  }
  async get(accountId: string, name: string): Promise<TrailConfig | undefined> {
    return this.find(accountId, name);
  }
  // No await between a check and its write: one event-loop turn, so nothing interleaves.
  async create(trail: TrailConfig, check?: AccountTrailsCheck): Promise<void> {
    if (this.find(trail.accountId, trail.name) !== undefined)
      throw new TrailAlreadyExistsError(trail.accountId, trail.name);
    this.write(trail, check);
  }
  async put(trail: TrailConfig, check?: AccountTrailsCheck): Promise<void> {
    this.write(trail, check);
  }
  private write(trail: TrailConfig, check?: AccountTrailsCheck): void {
    check?.(this.listNow(trail.accountId));
    const replaced = this.find(trail.accountId, trail.name);
    if (replaced !== undefined) this.trails.delete(replaced.trailArn);
    this.trails.set(trail.trailArn, trail);
    this.notify();
  }
  async delete(accountId: string, name: string, options: DeleteTrailOptions = {}): Promise<void> {
    const trail = this.find(accountId, name);
    if (trail === undefined) return;
    const deleted = options.journalHeadSeq === undefined ? undefined : deletedTrailOf(trail, options.journalHeadSeq);
    const kept = (d: DeletedTrail) =>
      d.trail.trailArn !== trail.trailArn || d.deliverUntilSeq !== deleted?.deliverUntilSeq;
    if (deleted !== undefined) this.deleted = [...this.deleted.filter(kept), deleted];
    this.trails.delete(trail.trailArn);
    this.statuses.delete(trail.trailArn);
    this.notify();
  }
  async deletedTrails(): Promise<DeletedTrail[]> {
    return [...this.deleted].sort(
      (a, b) => compare(a.trail.trailArn, b.trail.trailArn) || a.deliverUntilSeq - b.deliverUntilSeq,
    );
  }
  async forgetDeleted(trailArn: string, deliverUntilSeq: number): Promise<void> {
    this.deleted = this.deleted.filter((d) => d.trail.trailArn !== trailArn || d.deliverUntilSeq !== deliverUntilSeq);
  }
  async status(trailArn: string): Promise<TrailDeliveryStatus> {
    return { ...this.statuses.get(trailArn) } as TrailDeliveryStatus;
  }
  async updateStatus(trailArn: string, update: Partial<TrailDeliveryStatus>): Promise<void> {
    if (!this.trails.has(trailArn)) return;
    const current = this.statuses.get(trailArn) ?? {};
    for (const [key, value] of Object.entries(update)) {
      if (value === undefined) delete current[key];
      else current[key] = value;
    }
    this.statuses.set(trailArn, current);
  }
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
  private find(accountId: string, name: string): TrailConfig | undefined {
    return [...this.trails.values()].find((t) => t.accountId === accountId && t.name === name);
  }
  private notify(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Wraps a store; `mode` decides what a put does: pass, fail before writing, or write then "crash". */
export class FaultyObjectStore implements ObjectStore {
  mode: "ok" | "fail" | "crash-after-put" = "ok";
  puts = 0;
  constructor(private readonly inner: ObjectStore) {}
  bucketExists(bucket: string) {
    return this.inner.bucketExists(bucket);
  }
  ensureBucket(bucket: string) {
    return this.inner.ensureBucket(bucket);
  }
  /** In "crash-after-put" mode, puts made once one crashed: the process is dead, they never land. */
  private crashed = false;
  async putObject(bucket: string, key: string, body: Buffer, options?: PutObjectOptions) {
    if (this.mode === "fail") throw new ObjectStoreError("S3 is unreachable (simulated outage)", "ServiceUnavailable");
    if (this.mode !== "crash-after-put") this.crashed = false;
    // A delivery puts its files at once: the first put lands, then the process dies and no other does.
    else if (this.crashed) throw new Error("simulated crash: the process is gone");
    else this.crashed = true;
    await this.inner.putObject(bucket, key, body, options);
    this.puts++;
    if (this.mode === "crash-after-put") throw new Error("simulated crash after put");
  }
  getObject(bucket: string, key: string) {
    return this.inner.getObject(bucket, key);
  }
  listObjects(bucket: string, options: { prefix?: string; startAfter?: string; maxKeys?: number }) {
    return this.inner.listObjects(bucket, options);
  }
  deleteObject(bucket: string, key: string, options?: DeleteObjectOptions) {
    return this.inner.deleteObject(bucket, key, options);
  }
}

export const everything: EventSelectorMatcher = { matches: () => true };

export function record(overrides: Partial<CloudTrailRecord> = {}): CloudTrailRecord {
  return {
    eventVersion: "1.11",
    userIdentity: { type: "IAMUser", accountId: ACCOUNT, userName: "alice" },
    eventTime: "2023-11-14T22:13:20Z",
    eventSource: "ec2.amazonaws.com",
    eventName: "DescribeInstances",
    awsRegion: "us-east-1",
    requestParameters: null,
    responseElements: null,
    eventID: randomUUID(),
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: "Management",
    ...overrides,
  };
}

export async function appendRecords(journal: MemoryJournal, records: CloudTrailRecord[]): Promise<void> {
  await journal.append(records.map((r) => ({ json: JSON.stringify(r) })));
}

export interface Workspace {
  readonly dir: string;
  readonly dataDir: string;
  readonly store: ReturnType<typeof openFilesystemObjectStore>;
  cleanup(): void;
}

export function workspace(): Workspace {
  const dir = mkdtempSync(join(tmpdir(), "cairn-trails-"));
  const store = openFilesystemObjectStore(join(dir, "buckets"));
  return { dir, dataDir: join(dir, "data"), store, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every object under a prefix, with its decoded records. */
export async function readLogFiles(
  store: ObjectStore,
  prefix = "AWSLogs/",
): Promise<Array<{ key: string; eventIds: string[]; gzip: Buffer }>> {
  const out: Array<{ key: string; eventIds: string[]; gzip: Buffer }> = [];
  let startAfter: string | undefined;
  do {
    const page = await store.listObjects(BUCKET, { prefix, ...(startAfter ? { startAfter } : {}) });
    for (const summary of page.objects) {
      if (summary.key.includes("/CloudTrail-Digest/")) continue;
      const object = (await store.getObject(BUCKET, summary.key))!;
      const body = JSON.parse(gunzipSync(object.body).toString("utf8")) as { Records: CloudTrailRecord[] };
      out.push({ key: summary.key, eventIds: body.Records.map((r) => r.eventID), gzip: object.body });
    }
    startAfter = page.nextStartAfter;
  } while (startAfter !== undefined);
  return out;
}
