import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqlitePrincipalStore } from "../../src/stores/principals/sqlite-principal-store.js";
import { principalStoreContractSuite } from "./principal-store.suite.js";

principalStoreContractSuite("SQLite", async () => {
  const directory = await mkdtemp(join(tmpdir(), "cairn-principals-"));
  const path = join(directory, "principals.db");
  const store = openSqlitePrincipalStore(path);
  return {
    store,
    reopen: async () => openSqlitePrincipalStore(path),
    async cleanup() {
      await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});
