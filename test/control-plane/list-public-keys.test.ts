import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { createListPublicKeysOperation } from "../../src/control-plane/list-public-keys.js";
import type { OperationContext } from "../../src/control-plane/operation.js";
import { openFileSigningKeyStore } from "../../src/stores/signing-keys/index.js";
import { testMasterKey } from "../helpers/master-key.js";

it("lists the key its first call makes, although the key starts a moment after the call's own time", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "cairn-public-keys-"));
  try {
    const callMs = Date.UTC(2026, 11, 7, 4, 0, 0);
    // The store's clock has moved on by the time the key is made, as a real one has.
    const keys = openFileSigningKeyStore({ dataDir, clock: { nowMs: () => callMs + 3 }, masterKey: testMasterKey() });
    const listPublicKeys = createListPublicKeysOperation({ keys });
    const context = {
      accountId: "111122223333",
      region: "us-east-1",
      requestId: "r",
      nowMs: callMs,
    } as OperationContext;
    const first = (await listPublicKeys({}, context)).output["PublicKeyList"] as Array<Record<string, unknown>>;
    assert.equal(first.length, 1);
    assert.equal(first[0]!["ValidityStartTime"], (callMs + 3) / 1000);
    const later = { ...context, nowMs: callMs + 10 };
    const second = (await listPublicKeys({}, later)).output["PublicKeyList"] as Array<Record<string, unknown>>;
    assert.deepEqual(second, first, "the same key, once");
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
