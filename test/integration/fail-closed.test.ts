import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import {
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
} from "../helpers/server-process.js";
import { cloudTrailCall, ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords } from "../helpers/sample-records.js";
import { pollUntil } from "../helpers/poll.js";
import { fillUp, mountTinyJournal } from "../helpers/tiny-journal.js";

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };

async function lookupById(url: string, eventId: string): Promise<number> {
  const response = await sendRaw(
    url,
    cloudTrailCall("LookupEvents", { LookupAttributes: [{ AttributeKey: "EventId", AttributeValue: eventId }] }, admin),
  );
  assert.equal(response.status, 200, response.text);
  return (response.json()["Events"] as unknown[]).length;
}

describe("fail closed when the journal's disk is full", () => {
  it("answers 503 instead of acknowledging, keeps serving, and recovers when space returns", async (t) => {
    const dataDir = makeDataDir("cairn-full-");
    const journalDir = join(dataDir, "journal");
    const skip = mountTinyJournal(journalDir, "192k");
    if (skip) {
      t.skip(skip);
      removeDataDir(dataDir);
      return;
    }
    const server = await startServerProcess({ dataDir });
    try {
      const acknowledged: string[] = [];
      let refused: Array<Record<string, unknown>> | undefined;
      for (let i = 0; i < 200 && refused === undefined; i++) {
        const batch = recentRecords(100, { accountId: TEST_ACCOUNT_ID });
        const response = await sendRaw(server.url, ingestCall(batch, admin, { gzip: true }));
        if (response.status === 200) acknowledged.push(...batch.map((r) => r["eventID"] as string));
        else {
          assert.equal(response.status, 503, response.text);
          assert.equal(response.json()["__type"], "ServiceUnavailableException");
          assert.equal(response.headers.get("retry-after"), "1");
          refused = batch;
        }
      }
      assert.ok(refused, "the tiny disk filled up");
      assert.ok(acknowledged.length > 0);

      const lookup = await sendRaw(server.url, cloudTrailCall("LookupEvents", { MaxResults: 1 }, admin));
      assert.equal(lookup.status, 503, "an API call whose audit event cannot be stored is refused");
      // What a small group may still squeeze into is taken too, so the write check fails whenever it runs.
      fillUp(join(journalDir, "filler.tmp"));
      const health = await pollUntil(
        async () => {
          const response = await fetch(`${server.url}/health`);
          assert.equal(response.status, 200, "the server keeps serving");
          const body = (await response.json()) as { status: string; reasons: Array<{ code: string }> };
          return body.status === "degraded" ? body : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 250, message: "/health to say degraded" },
      );
      assert.deepEqual(
        health.reasons.map((reason) => reason.code),
        ["journal_unwritable"],
      );
      const notReady = await fetch(`${server.url}/health/ready`);
      assert.equal(notReady.status, 503, "a node that cannot make writes durable is not ready");
      assert.equal(notReady.headers.get("retry-after"), "1");
      assert.equal(((await notReady.json()) as { __type: string }).__type, "ServiceUnavailableException");

      rmSync(join(journalDir, "filler.tmp"));
      const remount = spawnSync("mount", ["-o", "remount,size=64m", journalDir]);
      assert.equal(remount.status, 0);
      await pollUntil(async () => (await fetch(`${server.url}/health/ready`)).status === 200, {
        timeoutMs: 10_000,
        intervalMs: 250,
        message: "/health/ready to answer 200 once space returns (no write needed to notice)",
      });
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      await pollUntil(
        async () =>
          (await sendRaw(server.url, cloudTrailCall("LookupEvents", { MaxResults: 1 }, admin))).status === 200,
        { timeoutMs: 5_000, intervalMs: 250, message: "calls to succeed again once space returns, without a restart" },
      );

      assert.equal(await lookupById(server.url, acknowledged[0]!), 1);
      assert.equal(await lookupById(server.url, acknowledged.at(-1)!), 1);
      for (const record of refused.slice(0, 5))
        assert.equal(await lookupById(server.url, record["eventID"] as string), 0, "nothing of the refused batch");
      const retry = await sendRaw(server.url, ingestCall(refused, admin, { gzip: true }));
      assert.equal(retry.status, 200);
      assert.equal(
        (retry.json() as { accepted: number; duplicates: number }).duplicates,
        0,
        "the refused batch was not half-stored",
      );
      await pollUntil(
        async () => ((await (await fetch(`${server.url}/health`)).json()) as { status: string }).status === "ok",
        { timeoutMs: 20_000, intervalMs: 250, message: "/health to say ok again" },
      );
    } finally {
      await server.stop();
      spawnSync("umount", [journalDir]);
      removeDataDir(dataDir);
    }
  });
});
