import { TrailDeliverer } from "../../src/consumers/trail-delivery/trail-deliverer.js";
import { openFileSigningKeyStore, type SigningKeyStore } from "../../src/stores/signing-keys/signing-keys.js";
import { testMasterKey } from "../helpers/master-key.js";
import type { TrailConfig } from "../../src/stores/trails/trail.js";
import { openFileDeliveryStateStore } from "../../src/stores/trails/file-delivery-state-store.js";
import { MemoryJournal } from "../helpers/memory-journal.js";
import {
  BUCKET,
  ManualClock,
  MemoryTrailStore,
  appendRecords,
  everything,
  record,
  trailConfig,
  workspace,
  type Workspace,
} from "../consumers/trails/harness.js";

export interface History {
  readonly ws: Workspace;
  readonly clock: ManualClock;
  readonly journal: MemoryJournal;
  readonly trails: MemoryTrailStore;
  readonly keys: SigningKeyStore;
  readonly trail: TrailConfig;
  readonly startMs: number;
  /** A deliverer as after a restart (state reloaded from the data dir), caught up with the journal. */
  restart(changed?: Partial<TrailConfig>): Promise<TrailDeliverer>;
  /** One hour: records, a log file after a minute, a digest at the end of the hour. */
  hour(deliverer: TrailDeliverer, records?: number): Promise<void>;
}

export const HOUR_MS = 3_600_000;

/** A trail with log file validation, a clock under the test's control, files in a filesystem store. */
export async function history(startMs: number, overrides: Partial<TrailConfig> = {}): Promise<History> {
  const ws = workspace();
  await ws.store.ensureBucket(BUCKET);
  const clock = new ManualClock(startMs);
  const journal = new MemoryJournal(() => clock.nowMs());
  const trails = new MemoryTrailStore();
  const keys = openFileSigningKeyStore({ dataDir: ws.dataDir, clock, masterKey: testMasterKey() });
  let trail = trailConfig({ startLoggingTimeMs: startMs, ...overrides });
  const restart = async (changed: Partial<TrailConfig> = {}): Promise<TrailDeliverer> => {
    trail = { ...trail, ...changed };
    await trails.put(trail);
    const d = new TrailDeliverer({
      trail,
      journal,
      trails,
      objectStore: ws.store,
      keys,
      matcher: everything,
      deliveryStates: openFileDeliveryStateStore(ws.dataDir),
      clock,
      deliveryIntervalSeconds: 60,
      digestIntervalSeconds: 3600,
    });
    const cursor = await d.loadCursor();
    await d.recover();
    await d.handle(await journal.read(cursor + 1, 100_000));
    await d.tick();
    return d;
  };
  const hour = async (d: TrailDeliverer, records = 3): Promise<void> => {
    const region = trail.homeRegion;
    const eventTime = new Date(clock.nowMs()).toISOString().replace(/\.\d{3}Z$/, "Z");
    await appendRecords(
      journal,
      Array.from({ length: records }, () => record({ awsRegion: region, eventTime })),
    );
    await d.handle(await journal.read(d.examinedSeq() + 1, 100_000));
    clock.advance(60_000);
    await d.tick();
    clock.advance(HOUR_MS - 60_000);
    await d.tick();
  };
  return {
    ws,
    clock,
    journal,
    trails,
    keys,
    get trail() {
      return trail;
    },
    startMs,
    restart,
    hour,
  };
}
