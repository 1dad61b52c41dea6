import { randomBytes } from "node:crypto";
import { masterKeyOf, type MasterKey } from "../../src/lib/secret-envelope.js";

/** A fresh random master key for stores opened directly in a test (the server resolves its own). */
export function testMasterKey(): MasterKey {
  return masterKeyOf(randomBytes(32));
}
