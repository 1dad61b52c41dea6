import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openFileSigningKeyStore } from "../../src/stores/signing-keys/index.js";
import { testMasterKey } from "../helpers/master-key.js";
import { signingKeyStoreContractSuite } from "./signing-key-store.suite.js";

signingKeyStoreContractSuite("file signing keys", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "cairn-keys-"));
  let nowMs = Date.UTC(2026, 11, 6);
  const clock = { nowMs: () => nowMs };
  const masterKey = testMasterKey();
  const open = () => openFileSigningKeyStore({ dataDir, clock, masterKey, validityDays: 30, rotateBeforeDays: 7 });
  return {
    store: open(),
    reopen: open,
    advanceMs: (ms) => void (nowMs += ms),
    nowMs: () => nowMs,
    cleanup: () => rm(dataDir, { recursive: true, force: true }),
  };
});
