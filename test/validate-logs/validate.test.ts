import assert from "node:assert/strict";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterEach, describe, it } from "node:test";
import { createListPublicKeysOperation } from "../../src/control-plane/list-public-keys.js";
import { collectOutput } from "../../src/cli/output.js";
import { fingerprintOf } from "../../src/stores/signing-keys/signing-keys.js";
import { digestKeyStamp, stampMs } from "../../src/cli/validate-logs/digest-chain.js";
import { secondStamp } from "../../src/model/trail-object-key.js";
import { dataDirPublicKeys } from "../../src/cli/validate-logs/sources.js";
import { validateLogs } from "../../src/cli/validate-logs/validate-run.js";
import type { Principal } from "../../src/stores/principals/principal.js";
import { BUCKET } from "../consumers/trails/harness.js";
import { history, HOUR_MS, type History } from "./fixture.js";

const T0 = Date.UTC(2025, 4, 1, 8, 0, 0);

async function validate(h: History, endMs = h.clock.nowMs()) {
  const stdout = collectOutput();
  const stderr = collectOutput();
  const result = await validateLogs({
    trailArn: h.trail.trailArn,
    target: {
      accountId: h.trail.accountId,
      trailName: h.trail.name,
      homeRegion: h.trail.homeRegion,
      sourceRegion: h.trail.homeRegion,
    },
    bucket: BUCKET,
    startMs: h.startMs,
    endMs,
    verbose: true,
    reader: h.ws.store,
    publicKeys: dataDirPublicKeys(h.ws.dataDir, h.trail.homeRegion),
    stdout,
    stderr,
  });
  return { ...result, stdout: stdout.text(), stderr: stderr.text() };
}

async function digestKeys(h: History): Promise<string[]> {
  const page = await h.ws.store.listObjects(BUCKET, { prefix: "AWSLogs/111122223333/CloudTrail-Digest/" });
  return page.objects.map((o) => o.key);
}

describe("digest files and validate-logs", () => {
  let h: History;
  afterEach(() => h.ws.cleanup());

  it("writes a signed, chained digest per hour that validates, across a restart", async () => {
    h = await history(T0);
    let d = await h.restart();
    await h.hour(d);
    await h.hour(d, 0); // an hour without events: an empty digest
    d = await h.restart(); // chain state comes back from the data dir
    await h.hour(d);
    const keys = await digestKeys(h);
    assert.equal(keys.length, 3);

    const digests = await Promise.all(
      keys.map(async (key) => {
        const object = (await h.ws.store.getObject(BUCKET, key))!;
        return { key, object, json: JSON.parse(gunzipSync(object.body).toString("utf8")) as Record<string, unknown> };
      }),
    );
    const [first, empty, third] = digests;
    assert.equal(first!.json["previousDigestSignature"], null);
    assert.equal(first!.json["previousDigestS3Object"], null);
    assert.equal(first!.json["digestStartTime"], "2025-05-01T08:00:00Z");
    assert.equal(first!.json["digestEndTime"], "2025-05-01T09:00:00Z");
    assert.equal((first!.json["logFiles"] as unknown[]).length, 1);
    assert.deepEqual(empty!.json["logFiles"], []);
    assert.equal(empty!.json["newestEventTime"], null);
    assert.equal(empty!.json["previousDigestS3Object"], first!.key);
    assert.equal(empty!.json["previousDigestSignature"], first!.object.metadata["signature"]);
    assert.equal(third!.json["previousDigestSignature"], empty!.object.metadata["signature"]);
    assert.equal(first!.object.metadata["signature-algorithm"], "SHA256withRSA");
    assert.match(first!.object.metadata["signature"]!, /^[0-9a-f]{512}$/);
    assert.deepEqual(Object.keys(first!.json), [
      "awsAccountId",
      "digestStartTime",
      "digestEndTime",
      "digestS3Bucket",
      "digestS3Object",
      "digestPublicKeyFingerprint",
      "digestSignatureAlgorithm",
      "newestEventTime",
      "oldestEventTime",
      "previousDigestS3Bucket",
      "previousDigestS3Object",
      "previousDigestHashValue",
      "previousDigestHashAlgorithm",
      "previousDigestSignature",
      "logFiles",
    ]);

    const result = await validate(h);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.match(
      result.stdout,
      /^Validating log files for trail arn:aws:cloudtrail:us-east-1:111122223333:trail\/main-trail between 2025-05-01T08:00:00Z and 2025-05-01T11:00:00Z\n\n/,
    );
    assert.match(
      result.stdout,
      /Results requested for 2025-05-01T08:00:00Z to 2025-05-01T11:00:00Z\nResults found for 2025-05-01T08:00:00Z to 2025-05-01T11:00:00Z:\n\n3\/3 digest files valid\n2\/2 log files valid\n$/,
    );
  });

  it("flags a modified log file, a deleted log file, a deleted digest and a moved digest", async () => {
    h = await history(T0);
    const d = await h.restart();
    for (let i = 0; i < 5; i++) await h.hour(d);
    const keys = await digestKeys(h);
    const logs = (await h.ws.store.listObjects(BUCKET, { prefix: "AWSLogs/111122223333/CloudTrail/" })).objects.map(
      (o) => o.key,
    );
    assert.equal(keys.length, 5);
    assert.equal(logs.length, 5);

    const modified = (await h.ws.store.getObject(BUCKET, logs[4]!))!;
    const text = gunzipSync(modified.body).toString("utf8").replace("DescribeInstances", "DescribeInstancez");
    await h.ws.store.putObject(BUCKET, logs[4]!, gzipSync(text));
    await h.ws.store.deleteObject(BUCKET, logs[2]!);
    // The newest digest is the one nothing points to: deleting it is undetectable (as on AWS), so delete an older one.
    await h.ws.store.deleteObject(BUCKET, keys[1]!);
    // Moved one second earlier: its old key is "not found" via the chain, the copy "has been moved" via the listing.
    const moved = (await h.ws.store.getObject(BUCKET, keys[3]!))!;
    const stamp = digestKeyStamp(keys[3]!);
    const movedKey = keys[3]!.replace(stamp, secondStamp(stampMs(stamp) - 1000));
    await h.ws.store.putObject(BUCKET, movedKey, moved.body, { metadata: moved.metadata });
    await h.ws.store.deleteObject(BUCKET, keys[3]!);

    const result = await validate(h);
    assert.equal(result.exitCode, 1);
    const line = (what: string, key: string, problem: string) => `${what}\ts3://${BUCKET}/${key}\tINVALID: ${problem}`;
    assert.ok(result.stderr.includes(line("Digest file", keys[1]!, "not found")), result.stderr);
    assert.ok(result.stderr.includes(line("Digest file", keys[3]!, "not found")), result.stderr);
    assert.ok(result.stderr.includes(line("Digest file", movedKey, "has been moved from its original location")));
    assert.ok(result.stderr.includes(line("Log file", logs[4]!, "hash value doesn't match")));
    assert.ok(result.stderr.includes(line("Log file", logs[2]!, "not found")));
    // Valid: keys[4], keys[2], keys[0]; invalid: keys[3] (gone), the moved copy, keys[1] (deleted).
    assert.match(
      result.stdout,
      /\n3\/6 digest files valid, 3\/6 digest files INVALID\n1\/3 log files valid, 2\/3 log files INVALID\n$/,
    );
  });

  it("rotates signing keys with overlapping validity; ListPublicKeys returns PKCS#1 DER and its MD5", async () => {
    h = await history(T0);
    const d = await h.restart();
    await h.hour(d);
    h.clock.advance(24 * 24 * HOUR_MS); // 24 days: inside the 7-day rotation window of a 30-day key
    await h.hour(d);
    const listPublicKeys = createListPublicKeysOperation({ keys: h.keys });
    const context = {
      principal: {} as Principal,
      accountId: "111122223333",
      region: "us-east-1",
      requestId: "r",
      nowMs: h.clock.nowMs(),
      authorize: async () => undefined,
    };
    const all = await listPublicKeys({ StartTime: T0 / 1000, EndTime: h.clock.nowMs() / 1000 }, context);
    const list = all.output["PublicKeyList"] as Array<{
      Value: string;
      ValidityStartTime: number;
      ValidityEndTime: number;
      Fingerprint: string;
    }>;
    assert.equal(list.length, 2);
    assert.ok(list[1]!.ValidityStartTime < list[0]!.ValidityEndTime, "validity windows overlap");
    for (const key of list) {
      assert.match(key.Value, /^MIIBCgKCAQEA/);
      assert.equal(key.Fingerprint, fingerprintOf(Buffer.from(key.Value, "base64")));
    }
    const current = await listPublicKeys({}, context);
    assert.equal((current.output["PublicKeyList"] as unknown[]).length, 2, "now falls in both windows");
    await assert.rejects(listPublicKeys({ NextToken: "x" }, context), /InvalidToken|NextToken/);
    await assert.rejects(listPublicKeys({ StartTime: 2, EndTime: 1 }, context), /Start time/);

    const result = await validate(h);
    assert.equal(result.exitCode, 0, result.stderr);
    // The second digest follows a gap in key stamps but is still chained to the first.
    assert.match(result.stdout, /2\/2 digest files valid\n2\/2 log files valid\n$/);
  });

  it("a new logging session starts a new chain; the validator reports the gap, not an error", async () => {
    h = await history(T0);
    let d = await h.restart();
    await h.hour(d);
    await d.flush({ finalDigest: true });
    h.clock.advance(5 * HOUR_MS);
    const restartedAt = h.clock.nowMs();
    d = await h.restart({ startLoggingTimeMs: restartedAt });
    await h.hour(d);
    const result = await validate(h);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.match(result.stderr, /No log files were delivered by CloudTrail between/);
  });
});
