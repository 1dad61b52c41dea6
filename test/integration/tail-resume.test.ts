import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { runTail } from "../../src/cli/commands/tail.js";
import {
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { startTcpGate, type TcpGate } from "../helpers/tcp-gate.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords } from "../helpers/sample-records.js";
import { pollUntil } from "../helpers/poll.js";

const CREDENTIALS = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };

/** `cairn tail` through a connection that is cut and restored: what was journaled meanwhile still arrives. */
describe("cairn tail resumes after a lost connection", () => {
  let server: ServerProcess;
  let gate: TcpGate;
  before(async () => {
    server = await startServerProcess();
    const url = new URL(server.url);
    gate = await startTcpGate({ host: url.hostname, port: Number(url.port) });
  });
  after(async () => {
    await gate?.stop();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("prints every record exactly once, including those journaled during the outage", async () => {
    let output = "";
    const controller = new AbortController();
    const tail = runTail({
      client: { endpointUrl: gate.url, region: "us-east-1", credentials: { ...CREDENTIALS, origin: "test" } },
      json: true,
      stdout: { write: (text: string) => (output += text) },
      stderr: { write: () => true },
      signal: controller.signal,
      reconnect: { delayMsInitial: 50, delayMsMax: 200 },
    });
    const ingest = async (eventName: string): Promise<string> => {
      const record: Record<string, unknown> = { ...recentRecords(1, { accountId: TEST_ACCOUNT_ID })[0]!, eventName };
      const answer = await sendRaw(server.url, ingestCall([record], CREDENTIALS));
      assert.equal(answer.status, 200, answer.text);
      return String(record["eventID"]);
    };
    const count = (eventId: string): number => output.split("\n").filter((line) => line.includes(eventId)).length;
    try {
      // The stream's own audit record (eventName Tail) is its first line: the tail is connected.
      await pollUntil(() => output.includes('"eventName":"Tail"'), { message: "the tail to connect" });
      await gate.close();
      // Cut before any ingested record was printed: the resume point is the stream's start.
      const during1 = await ingest("TailResumeDuringFirstOutage");
      await gate.open();
      await pollUntil(() => count(during1) === 1, { message: "the record journaled during the first outage" });

      const before = await ingest("TailResumeBefore");
      await pollUntil(() => count(before) === 1, { message: "the record journaled while connected" });
      await gate.close();
      const during2 = await ingest("TailResumeDuringSecondOutage");
      const during3 = await ingest("TailResumeDuringSecondOutage");
      await gate.open();
      await pollUntil(() => count(during2) === 1 && count(during3) === 1, {
        message: "the records journaled during the second outage",
      });
      const after = await ingest("TailResumeAfter");
      await pollUntil(() => count(after) === 1, { message: "the record journaled after the outage" });
      for (const eventId of [during1, before, during2, during3, after]) assert.equal(count(eventId), 1, eventId);
      // --json prints the record itself, not the envelope.
      const line = output.split("\n").find((candidate) => candidate.includes(after))!;
      assert.equal((JSON.parse(line) as { eventID: string }).eventID, after);
    } finally {
      controller.abort();
      await tail;
    }
  });
});
