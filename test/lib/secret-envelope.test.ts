import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { isSealed, masterKeyOf, SecretEnvelopeError } from "../../src/lib/secret-envelope.js";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const BOUND_TO = "cairn principal secret AKIAIOSFODNN7EXAMPLE";

/** Flips one bit of the decoded envelope at `index` (negative: from the end) and re-encodes it. */
function flipBit(sealed: string, index: number): string {
  const bytes = Buffer.from(sealed.slice("v1:".length), "base64");
  const at = index < 0 ? bytes.length + index : index;
  bytes[at] = bytes[at]! ^ 0x01;
  return "v1:" + bytes.toString("base64");
}

describe("secret envelope (AES-256-GCM under the master key)", () => {
  const key = masterKeyOf(randomBytes(32));

  it("round-trips, with a fresh IV per value and no plaintext in the sealed text", () => {
    const first = key.seal(SECRET, BOUND_TO);
    const second = key.seal(SECRET, BOUND_TO);
    assert.ok(isSealed(first));
    assert.notEqual(first, second, "a random IV per value: equal secrets do not look equal");
    assert.ok(!first.includes(SECRET));
    assert.equal(key.open(first, BOUND_TO), SECRET);
    assert.equal(key.open(second, BOUND_TO), SECRET);
    // IV (12) + ciphertext (as long as the plaintext) + tag (16).
    assert.equal(Buffer.from(first.slice(3), "base64").length, 12 + SECRET.length + 16);
  });

  it("refuses a tampered IV, ciphertext or tag", () => {
    const sealed = key.seal(SECRET, BOUND_TO);
    for (const index of [0, 12, 20, -1]) {
      assert.throws(() => key.open(flipBit(sealed, index), BOUND_TO), SecretEnvelopeError);
    }
    assert.throws(() => key.open(sealed.slice(0, 20), BOUND_TO), SecretEnvelopeError);
  });

  it("refuses another master key, naming this key's id but not the key", () => {
    const other = masterKeyOf(randomBytes(32));
    assert.notEqual(other.id, key.id);
    assert.throws(
      () => other.open(key.seal(SECRET, BOUND_TO), BOUND_TO),
      (error: unknown) => error instanceof SecretEnvelopeError && error.message.includes(other.id),
    );
  });

  it("refuses other associated data: a value moved onto another row does not open", () => {
    const sealed = key.seal(SECRET, BOUND_TO);
    assert.throws(() => key.open(sealed, "cairn principal secret AKIAOTHERKEY00000000"), SecretEnvelopeError);
  });

  it("refuses text without the version prefix (a legacy plaintext value)", () => {
    assert.equal(isSealed(SECRET), false);
    assert.throws(() => key.open(SECRET, BOUND_TO), /no v1: prefix/);
  });

  it("takes exactly 32 key bytes; the id is stable and reveals nothing of the key", () => {
    assert.throws(() => masterKeyOf(randomBytes(16)), RangeError);
    const bytes = randomBytes(32);
    assert.equal(masterKeyOf(bytes).id, masterKeyOf(bytes).id);
    assert.match(masterKeyOf(bytes).id, /^[0-9a-f]{16}$/);
    assert.ok(!bytes.toString("hex").includes(masterKeyOf(bytes).id));
  });
});
