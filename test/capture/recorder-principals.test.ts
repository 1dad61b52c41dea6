import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ServiceModels } from "../../src/capture/protocols/service-models.js";
import type { CapturedCall } from "../../src/capture/proxy/captured-call.js";
import { Recorder, type RecorderOptions } from "../../src/capture/proxy/recorder.js";
import { generatePrincipal } from "../../src/stores/principals/keys.js";
import { openSqlitePrincipalStore } from "../../src/stores/principals/sqlite-principal-store.js";
import { testMasterKey } from "../helpers/master-key.js";

/**
 * Who a recorded call is attributed to, on each of the recorder's paths: the worker reading the
 * principals file itself, the worker given principals looked up (in one batch) by the proxy's thread,
 * and recording in the proxy's thread.
 */
const directory = mkdtempSync(join(tmpdir(), "cairn-recorder-principals-"));
after(() => rmSync(directory, { recursive: true, force: true }));
const models = new ServiceModels();
const UNKNOWN_KEY = "AKIANOSUCHKEY0000000";

function listBuckets(accessKeyId: string): CapturedCall {
  const authorization = `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`;
  const body = Buffer.from("<ListAllMyBucketsResult><Buckets></Buckets></ListAllMyBucketsResult>");
  return {
    method: "GET",
    url: "/",
    rawHeaders: ["Host", "localhost", "X-Amz-Date", "20260101T000000Z", "Authorization", authorization],
    body: undefined,
    bodyBytes: 0,
    status: 200,
    responseRawHeaders: ["Content-Type", "application/xml"],
    responseBody: body,
    responseBodyBytes: body.length,
    sourceIPAddress: "127.0.0.1",
    completedAtMs: Date.UTC(2026, 0, 1),
  };
}

async function identitiesRecorded(
  mode: (path: string) => RecorderOptions,
  withStore = true,
): Promise<Record<string, unknown>[]> {
  const path = join(directory, `principals-${Math.random().toString(36).slice(2)}.db`);
  const store = openSqlitePrincipalStore(path, { masterKey: testMasterKey() });
  const alice = generatePrincipal({ name: "alice", type: "IAMUser", accountId: "111122223333", createdAtMs: 1 });
  await store.add(alice);
  const records: string[] = [];
  const logged: string[] = [];
  const context = { models, principals: withStore ? store : undefined, defaultAccountId: "123456789012" };
  const recorder = new Recorder(
    context,
    (json) => records.push(json),
    (line) => logged.push(line),
    mode(path),
  );
  try {
    for (const key of [alice.accessKeyId, UNKNOWN_KEY, alice.accessKeyId]) recorder.record(listBuckets(key));
    await recorder.close();
  } finally {
    await store.close();
  }
  assert.deepEqual(logged, []);
  return records.map((json) => (JSON.parse(json) as { userIdentity: Record<string, unknown> }).userIdentity);
}

function assertAttributed(identities: Record<string, unknown>[]): void {
  assert.equal(identities.length, 3);
  for (const index of [0, 2]) {
    assert.equal(identities[index]!["type"], "IAMUser");
    assert.equal(identities[index]!["arn"], "arn:aws:iam::111122223333:user/alice");
  }
  assert.deepEqual(identities[1], { type: "Unknown", accessKeyId: UNKNOWN_KEY });
}

describe("Recorder: callers' identities", () => {
  it("on the worker, which reads the principals file itself", async () => {
    assertAttributed(await identitiesRecorded((path) => ({ principalsPath: path })));
  });

  it("on the worker, given the principals the proxy's thread looked up", async () => {
    assertAttributed(await identitiesRecorded(() => ({})));
  });

  it("in the proxy's thread", async () => {
    assertAttributed(await identitiesRecorded(() => ({ onWorker: false })));
  });

  it("as Unknown when there is no principals store", async () => {
    const identities = await identitiesRecorded(() => ({}), false);
    assert.deepEqual(
      identities.map((identity) => identity["type"]),
      ["Unknown", "Unknown", "Unknown"],
    );
  });
});
