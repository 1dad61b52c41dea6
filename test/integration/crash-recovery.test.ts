import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { CloudTrailClient, paginateLookupEvents } from "@aws-sdk/client-cloudtrail";
import {
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
} from "../helpers/server-process.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords } from "../helpers/sample-records.js";

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const ROUNDS = 20;
const BATCH_RECORDS = 50;

/** Ingests batches until the connection breaks; returns the eventIDs the server acknowledged. */
async function ingestUntilKilled(
  url: string,
  batches: Array<Array<Record<string, unknown>>>,
): Promise<{ acknowledged: string[]; attempted: string[] }> {
  const acknowledged: string[] = [];
  const attempted: string[] = [];
  for (const batch of batches) {
    attempted.push(...batch.map((r) => r["eventID"] as string));
    try {
      const response = await sendRaw(url, ingestCall(batch, admin, { gzip: true }));
      if (response.status !== 200) break;
      const body = response.json() as { accepted: number };
      assert.equal(body.accepted, batch.length);
      acknowledged.push(...batch.map((r) => r["eventID"] as string));
    } catch {
      break; // The server died mid-request: this batch is not acknowledged.
    }
  }
  return { acknowledged, attempted };
}

describe("kill -9 during ingest, 20 rounds", () => {
  it("keeps every acknowledged event exactly once and the journal readable", async () => {
    const dataDir = makeDataDir("cairn-crash-");
    const acknowledged = new Set<string>();
    const attempted = new Set<string>();
    let stopLast: () => Promise<void> = async () => undefined;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        // Build the load before starting the server, so nothing can fail while a server is unowned.
        const batches = Array.from({ length: 40 }, () => recentRecords(BATCH_RECORDS, { accountId: TEST_ACCOUNT_ID }));
        const server = await startServerProcess({ dataDir });
        const killAfterMs = 100 + ((round * 137) % 500);
        const killer = new Promise<void>((resolve) => setTimeout(() => void server.kill9().then(resolve), killAfterMs));
        const result = await ingestUntilKilled(server.url, batches);
        await killer;
        result.acknowledged.forEach((id) => acknowledged.add(id));
        result.attempted.forEach((id) => attempted.add(id));
      }
      assert.ok(acknowledged.size > 0, "some batches were acknowledged before the kills");

      const server = await startServerProcess({ dataDir });
      stopLast = () => server.stop();
      const client = new CloudTrailClient({
        endpoint: server.url,
        region: "us-east-1",
        credentials: admin,
        maxAttempts: 1,
      });
      const counts = new Map<string, number>();
      const ingestedFound: string[] = [];
      for await (const page of paginateLookupEvents({ client, pageSize: 50 }, {})) {
        for (const event of page.Events ?? []) {
          counts.set(event.EventId!, (counts.get(event.EventId!) ?? 0) + 1);
          if (event.EventSource !== "cloudtrail.amazonaws.com") ingestedFound.push(event.EventId!);
        }
      }
      client.destroy();
      const health = (await (await fetch(`${server.url}/health`)).json()) as { journal: { headSeq: number } };
      await server.stop();

      for (const id of acknowledged) assert.equal(counts.get(id), 1, `acknowledged event ${id} present exactly once`);
      for (const [id, count] of counts) assert.equal(count, 1, `event ${id} stored once`);
      for (const id of ingestedFound)
        assert.ok(attempted.has(id), `event ${id} was sent by this test (no phantom records)`);
      assert.ok(health.journal.headSeq >= acknowledged.size);
    } finally {
      await stopLast();
      removeDataDir(dataDir);
    }
  });
});
