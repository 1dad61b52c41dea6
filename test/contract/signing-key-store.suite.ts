import assert from "node:assert/strict";
import { createPublicKey, verify } from "node:crypto";
import { after, before, describe, it } from "node:test";
import type { SigningKeyStore } from "../../src/stores/signing-keys/index.js";

const DAY_MS = 86_400_000;

/** A signing-key store with a 30-day validity that rotates 7 days before expiry, over storage that `reopen` opens again. */
export interface SigningKeyStoreUnderTest {
  readonly store: SigningKeyStore;
  reopen(): SigningKeyStore | Promise<SigningKeyStore>;
  advanceMs(ms: number): void;
  nowMs(): number;
  cleanup(): Promise<void>;
}

function verifies(key: { publicKeyDer: Buffer }, data: string, signatureHex: string): boolean {
  const publicKey = createPublicKey({ key: key.publicKeyDer, format: "der", type: "pkcs1" });
  return verify("sha256", Buffer.from(data, "utf8"), publicKey, Buffer.from(signatureHex, "hex"));
}

/** The SigningKeyStore contract (src/stores/signing-keys/signing-keys.ts), run against every backend. */
export function signingKeyStoreContractSuite(name: string, open: () => Promise<SigningKeyStoreUnderTest>): void {
  describe(`SigningKeyStore contract: ${name}`, () => {
    let subject: SigningKeyStoreUnderTest;
    before(async () => {
      subject = await open();
    });
    after(() => subject.cleanup());

    it("creates a key valid now that signs SHA256withRSA, verifiable with its public key", async () => {
      const key = await subject.store.signingKey("us-east-1");
      assert.ok(key.validityStartMs <= subject.nowMs() && subject.nowMs() < key.validityEndMs);
      assert.match(key.fingerprint, /^[0-9a-f]{32}$/);
      assert.ok(verifies(key, "digest string", key.signHex("digest string")));
      assert.ok(!verifies(key, "another string", key.signHex("digest string")));
    });

    it("signs with the same key until it nears expiry, then with a new one; both stay listed", async () => {
      const first = await subject.store.signingKey("eu-west-1");
      assert.equal((await subject.store.signingKey("eu-west-1")).fingerprint, first.fingerprint);
      subject.advanceMs(24 * DAY_MS);
      const second = await subject.store.signingKey("eu-west-1");
      assert.notEqual(second.fingerprint, first.fingerprint);
      const listed = await subject.store.publicKeys("eu-west-1", first.validityStartMs, subject.nowMs());
      assert.deepEqual(
        listed.map((key) => key.fingerprint),
        [first.fingerprint, second.fingerprint],
      );
    });

    it("lists only keys whose validity overlaps the range, and keeps regions apart", async () => {
      const key = await subject.store.signingKey("ap-south-1");
      assert.deepEqual(await subject.store.publicKeys("ap-south-1", 0, key.validityStartMs - 1), []);
      assert.deepEqual(await subject.store.publicKeys("sa-east-1", 0, subject.nowMs()), []);
    });

    it("creates one key when many sign at once", async () => {
      const keys = await Promise.all(Array.from({ length: 8 }, () => subject.store.signingKey("ca-central-1")));
      assert.equal(new Set(keys.map((key) => key.fingerprint)).size, 1);
    });

    it("keeps its keys: another instance over the same storage lists and signs with them", async () => {
      const key = await subject.store.signingKey("us-west-2");
      const other = await subject.reopen();
      const listed = await other.publicKeys("us-west-2", key.validityStartMs, key.validityStartMs);
      assert.deepEqual(
        listed.map((info) => [info.fingerprint, info.publicKeyDer.toString("base64")]),
        [[key.fingerprint, key.publicKeyDer.toString("base64")]],
      );
      const again = await other.signingKey("us-west-2");
      assert.equal(again.fingerprint, key.fingerprint);
      assert.ok(verifies(key, "x", again.signHex("x")));
    });

    it("takes any range: fractional milliseconds and bounds far beyond any key", async () => {
      const key = await subject.store.signingKey("me-south-1");
      const fingerprints = async (startMs: number, endMs: number) =>
        (await subject.store.publicKeys("me-south-1", startMs, endMs)).map((info) => info.fingerprint);
      assert.deepEqual(await fingerprints(key.validityStartMs - 0.5, key.validityStartMs - 0.25), []);
      assert.deepEqual(await fingerprints(key.validityStartMs - 0.5, key.validityStartMs + 0.5), [key.fingerprint]);
      assert.deepEqual(await fingerprints(key.validityEndMs + 0.5, 1e300), []);
      assert.deepEqual(await fingerprints(-Infinity, Infinity), [key.fingerprint]);
      assert.deepEqual(await fingerprints(key.validityEndMs, 8e15), [key.fingerprint]);
    });

    it("refuses a region name that is not one", async () => {
      await assert.rejects(subject.store.signingKey("../etc"));
    });
  });
}
