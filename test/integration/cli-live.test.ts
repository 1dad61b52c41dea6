import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import {
  CLI,
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { recentRecords, SAMPLES_DIR, samplesMissingReason } from "../helpers/sample-records.js";
import { addPrincipal } from "../helpers/principals.js";
import { cloudTrailCall, ingestCall, sendRaw } from "../helpers/signed-request.js";
import { pollUntil } from "../helpers/poll.js";
import { ownChild } from "../helpers/owned-children.js";

const execFileAsync = promisify(execFile);
// The records name this account (the file names carry another one).
const INVICTUS_ACCOUNT = "123837392027";

async function cairn(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], {
      env: { PATH: process.env["PATH"] ?? "", ...env },
      maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? 1, stdout: failure.stdout ?? "", stderr: failure.stderr ?? "" };
  }
}

/** Runs `cairn tail --json` until it prints the line naming `eventId`; returns the lines up to that one. */
async function tailUntil(args: string[], eventId: string): Promise<string[]> {
  const tail = ownChild(
    spawn(process.execPath, [CLI, "tail", "--json", ...args], { stdio: ["ignore", "pipe", "pipe"] }),
  );
  let output = "";
  tail.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  try {
    await pollUntil(() => output.includes(eventId), {
      timeoutMs: 15_000,
      message: () => `tail to print ${eventId}; got:\n${output.slice(0, 2000)}`,
    });
  } finally {
    tail.kill("SIGTERM");
    await new Promise((resolve) => tail.once("exit", resolve));
  }
  const lines = output.split("\n");
  return lines.slice(0, lines.findIndex((line) => line.includes(eventId)) + 1);
}

describe("cairn ingest, lookup and tail against a running server", () => {
  let server: ServerProcess;
  let common: string[];
  before(async () => {
    // The archive is from 2023: keep ten years of Event history so it stays searchable.
    server = await startServerProcess({ args: ["--history-retention-days", "3653"] });
    common = ["--endpoint-url", server.url, "--data-dir", server.dataDir, "--region", "us-east-1"];
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it(
    "ingests a real archive folder, then a principal of that account finds its events",
    { skip: samplesMissingReason() },
    async () => {
      const ingest = await cairn(["ingest", join(SAMPLES_DIR, "invictus-sigma-aws"), ...common]);
      assert.equal(ingest.code, 0, ingest.stderr);
      assert.match(ingest.stdout + ingest.stderr, /2900/);

      const again = await cairn(["ingest", join(SAMPLES_DIR, "invictus-sigma-aws"), ...common]);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout + again.stderr, /2900 already stored|already stored/);

      const analyst = await addPrincipal(server.dataDir, { name: "analyst", accountId: INVICTUS_ACCOUNT });
      const asAnalyst = { AWS_ACCESS_KEY_ID: analyst.accessKeyId, AWS_SECRET_ACCESS_KEY: analyst.secretAccessKey };
      const lookup = await cairn(
        [
          "lookup",
          "--attribute",
          "EventName=StopLogging",
          "--start-time",
          "2023-07-01T00:00:00Z",
          "--json",
          "--endpoint-url",
          server.url,
          "--region",
          "us-east-1",
        ],
        asAnalyst,
      );
      assert.equal(lookup.code, 0, lookup.stderr);
      const events = JSON.parse(lookup.stdout) as Array<{ EventName: string; CloudTrailEvent: string }>;
      assert.ok(events.length >= 1);
      assert.ok(events.every((e) => e.EventName === "StopLogging"));
      assert.ok(events.every((e) => JSON.parse(e.CloudTrailEvent).recipientAccountId === INVICTUS_ACCOUNT));

      const table = await cairn(
        [
          "lookup",
          "--attribute",
          "EventSource=cloudtrail.amazonaws.com",
          "--start-time",
          "2023-07-01T00:00:00Z",
          "--max-items",
          "5",
          "--endpoint-url",
          server.url,
          "--region",
          "us-east-1",
        ],
        asAnalyst,
      );
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /Event name/);
      assert.match(table.stdout, /cloudtrail\.amazonaws\.com/);
    },
  );

  it("reports a malformed file and goes on with the others (exit 1)", { skip: samplesMissingReason() }, async () => {
    const result = await cairn([
      "ingest",
      join(SAMPLES_DIR, "zmallen-cloudtrail2sightings/aws.execution.ec2-user-data.json"),
      join(SAMPLES_DIR, "zmallen-cloudtrail2sightings/aws.defense-evasion.cloudtrail-delete.json"),
      ...common,
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stdout + result.stderr, /malformed/i);
    assert.match(result.stdout + result.stderr, /cloudtrail-delete\.json/);
  });

  it("tails live events as they are journaled", async () => {
    const tail = ownChild(
      spawn(process.execPath, [CLI, "tail", "--json", ...common], { stdio: ["ignore", "pipe", "pipe"] }),
    );
    let output = "";
    tail.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    try {
      const marker = `tail-probe-${Date.now()}`;
      await pollUntil(
        async () => {
          if (output.includes(marker)) return true;
          const credentials = await import("node:fs").then((fs) =>
            fs.readFileSync(join(server.dataDir, "credentials"), "utf8"),
          );
          const accessKeyId = /aws_access_key_id\s*=\s*(\S+)/.exec(credentials)![1]!;
          const secretAccessKey = /aws_secret_access_key\s*=\s*(\S+)/.exec(credentials)![1]!;
          await sendRaw(
            server.url,
            cloudTrailCall(
              "LookupEvents",
              { LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: marker }] },
              { accessKeyId, secretAccessKey },
            ),
          );
          return false;
        },
        {
          timeoutMs: 15_000,
          intervalMs: 300,
          message: () => `tail to print the probe call; got:\n${output.slice(0, 2000)}`,
        },
      );
      const line = output.split("\n").find((l) => l.includes(marker));
      assert.ok(line, `tail printed the probe call; got:\n${output.slice(0, 2000)}`);
      const record = JSON.parse(line) as Record<string, unknown>;
      assert.equal(record["eventName"], "LookupEvents");
      assert.equal(record["eventSource"], "cloudtrail.amazonaws.com");
    } finally {
      tail.kill("SIGTERM");
      await new Promise((resolve) => tail.once("exit", resolve));
    }
  });
  it("tail --from-seq 0 replays from the first record still in the journal", async () => {
    const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
    const marker: Record<string, unknown> = {
      ...recentRecords(1, { accountId: TEST_ACCOUNT_ID })[0]!,
      eventName: "FromSeqZeroMarker",
    };
    const ingested = await sendRaw(server.url, ingestCall([marker], admin));
    assert.equal(ingested.status, 200, ingested.text);
    // The journal keeps everything here, so its first record is seq 1: both tails must print the same.
    const fromZero = await tailUntil([...common, "--from-seq", "0"], String(marker["eventID"]));
    const fromOne = await tailUntil([...common, "--from-seq", "1"], String(marker["eventID"]));
    assert.ok(fromZero.length > 1, "records from before the marker were replayed");
    assert.deepEqual(fromZero, fromOne);

    const stream = await sendRaw(server.url, {
      ...admin,
      method: "GET",
      path: "/tail",
      query: { fromSeq: "0" },
      headersOnly: true,
    });
    assert.equal(stream.status, 200);
    assert.equal(stream.headers.get("x-cairn-from-seq"), "1", "the stream names the seq it really starts at");
  });

  it("tail refuses negative and non-integer --from-seq, on the CLI and on the server", async () => {
    for (const value of ["-1", "1.5", "x"]) {
      const refused = await cairn(["tail", ...common, "--from-seq", value]);
      assert.equal(refused.code, 2, `--from-seq ${value} is a usage error: ${refused.stdout}`);
      assert.match(refused.stderr, /non-negative integer/);
    }
    const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
    for (const fromSeq of ["-1", "1.5", "", " ", "1e3", "0x10", "99999999999999999999"]) {
      const answer = await sendRaw(server.url, { ...admin, method: "GET", path: "/tail", query: { fromSeq } });
      assert.equal(answer.status, 400, `fromSeq=${JSON.stringify(fromSeq)}`);
      assert.equal(answer.json()["__type"], "SerializationException");
      assert.equal(answer.json()["message"], "fromSeq must be a non-negative integer.");
    }
  });
});
