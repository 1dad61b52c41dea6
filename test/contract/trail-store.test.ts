import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openFileDeliveryStateStore } from "../../src/stores/trails/file-delivery-state-store.js";
import { openSqliteTrailStore } from "../../src/stores/trails/sqlite-trail-store.js";
import { MemoryTrailStore } from "../consumers/trails/harness.js";
import { deliveryStateStoreContractSuite, trailStoreContractSuite } from "./trail-store.suite.js";

async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "cairn-trail-store-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

trailStoreContractSuite("SQLite", async () => {
  const { dir, cleanup } = await tempDir();
  return {
    async open(options) {
      const store = openSqliteTrailStore(join(dir, "control-plane.db"), options);
      return { store, close: async () => store.close() };
    },
    cleanup,
  };
});

// The in-memory double the delivery tests use: it keeps its data across "reopens" by being the same object.
trailStoreContractSuite("MemoryTrailStore (test double)", async () => {
  let store: MemoryTrailStore | undefined;
  return {
    async open(options) {
      store ??= new MemoryTrailStore(options.onListenerError);
      return { store, close: async () => undefined };
    },
    cleanup: async () => undefined,
  };
});

deliveryStateStoreContractSuite("files under <data-dir>/trails", async () => {
  const { dir, cleanup } = await tempDir();
  return { open: async () => ({ store: openFileDeliveryStateStore(dir), close: async () => undefined }), cleanup };
});
