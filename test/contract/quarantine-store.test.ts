import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqliteQuarantineStore } from "../../src/stores/quarantine/sqlite-quarantine-store.js";
import { quarantineStoreContractSuite } from "./quarantine-store.suite.js";

quarantineStoreContractSuite("SQLite", async () => {
  const directory = await mkdtemp(join(tmpdir(), "cairn-quarantine-"));
  const path = join(directory, "quarantine.db");
  const store = openSqliteQuarantineStore(path);
  return {
    store,
    reopen: async () => openSqliteQuarantineStore(path),
    async cleanup() {
      await store.close().catch(() => undefined);
      await rm(directory, { recursive: true, force: true });
    },
  };
});
