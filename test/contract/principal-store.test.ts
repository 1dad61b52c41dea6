import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqlitePrincipalStore } from "../../src/stores/principals/sqlite-principal-store.js";
import { testMasterKey } from "../helpers/master-key.js";
import { principalStoreContractSuite } from "./principal-store.suite.js";

principalStoreContractSuite("SQLite", async () => {
  const directory = await mkdtemp(join(tmpdir(), "cairn-principals-"));
  const path = join(directory, "principals.db");
  const masterKey = testMasterKey();
  const store = openSqlitePrincipalStore(path, { masterKey });
  return {
    store,
    reopen: async () => openSqlitePrincipalStore(path, { masterKey }),
    async cleanup() {
      await store.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});
