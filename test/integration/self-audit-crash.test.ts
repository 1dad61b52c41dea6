import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { openFileJournal } from "../../src/journal/file-journal.js";
import {
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_SECRET_ACCESS_KEY,
} from "../helpers/server-process.js";
import { embeddedOnly } from "../helpers/test-backend.js";

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const ROUNDS = 3;
const CLIENTS = 12;
/** Answers to wait for before the kill, so the kill lands while calls share group commits. */
const ANSWERS_BEFORE_KILL = 120;

/** The request id an answer carried, success or AWS error; undefined when no answer arrived (the kill). */
async function answeredRequestId(client: CloudTrailClient): Promise<string | undefined> {
  try {
    return (await client.send(new LookupEventsCommand({ MaxResults: 5 }))).$metadata.requestId;
  } catch (error) {
    const metadata = (error as { $metadata?: { httpStatusCode?: number; requestId?: string } }).$metadata;
    // A 503 is the fail-closed answer: nothing was made durable, so nothing is promised.
    if (metadata?.httpStatusCode === undefined || metadata.httpStatusCode === 503) return undefined;
    return metadata.requestId;
  }
}

/** CLIENTS callers polling LookupEvents until the server is killed; returns the request ids answered. */
async function pollUntilKilled(url: string, kill: () => Promise<void>): Promise<string[]> {
  const answered: string[] = [];
  let alive = true;
  let killing: Promise<void> | undefined;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const client = new CloudTrailClient({ endpoint: url, region: "us-east-1", credentials: admin, maxAttempts: 1 });
      try {
        while (alive) {
          const requestId = await answeredRequestId(client);
          if (requestId === undefined) {
            alive = false;
            break;
          }
          answered.push(requestId);
          if (answered.length >= ANSWERS_BEFORE_KILL && killing === undefined) {
            killing = kill();
            void killing.then(() => (alive = false));
          }
        }
      } finally {
        client.destroy();
      }
    }),
  );
  await killing;
  return answered;
}

describe("self-audit under concurrent polling, kill -9", { skip: embeddedOnly("reads the data dir's journal") }, () => {
  it("finds every answered call's record in the journal after the crash, each exactly once", async () => {
    const dataDir = makeDataDir("cairn-self-audit-crash-");
    const answered = new Set<string>();
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const server = await startServerProcess({ dataDir });
        for (const id of await pollUntilKilled(server.url, () => server.kill9())) answered.add(id);
      }
      assert.ok(answered.size >= ROUNDS * ANSWERS_BEFORE_KILL, `answered ${answered.size} calls`);

      // The journal as a restart finds it (torn tail cut), read with no server running.
      const journal = await openFileJournal({ directory: join(dataDir, "journal") });
      const recorded = new Map<string, number>();
      try {
        for (let seq = journal.firstSeq(); seq <= journal.headSeq();) {
          const entries = await journal.read(seq, 1000);
          for (const entry of entries) {
            const record = JSON.parse(entry.json) as { eventName?: string; requestID?: string };
            if (record.eventName === "LookupEvents" && record.requestID !== undefined)
              recorded.set(record.requestID, (recorded.get(record.requestID) ?? 0) + 1);
          }
          seq = entries.at(-1)!.seq + 1;
        }
      } finally {
        await journal.close();
      }
      const missing = [...answered].filter((id) => !recorded.has(id));
      assert.deepEqual(missing, [], "every answered call's own record survived the kill");
      const twice = [...recorded].filter(([, count]) => count > 1);
      assert.deepEqual(twice, [], "no call is recorded twice");
    } finally {
      removeDataDir(dataDir);
    }
  });
});
