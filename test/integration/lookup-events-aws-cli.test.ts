import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { awsCliMissingReason, runAws } from "../helpers/aws-cli.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords } from "../helpers/sample-records.js";

const skip = awsCliMissingReason();
const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };

interface CliEvent {
  EventId: string;
  EventName: string;
  EventTime: string;
  CloudTrailEvent: string;
  ReadOnly?: string;
  Username?: string;
}

describe("the real AWS CLI against a real server", { skip }, () => {
  let server: ServerProcess;
  let endpoint: string[];
  before(async () => {
    server = await startServerProcess();
    endpoint = ["--endpoint-url", server.url, "--region", "us-east-1", "--output", "json"];
    const response = await sendRaw(server.url, ingestCall(recentRecords(520, { accountId: TEST_ACCOUNT_ID }), admin));
    assert.equal(response.status, 200);
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("lookup-events works with only the credentials file the server wrote, and shows the CLI's own call", async () => {
    const first = await runAws(server.dataDir, [
      "cloudtrail",
      "lookup-events",
      "--no-paginate",
      "--max-results",
      "5",
      ...endpoint,
    ]);
    assert.equal(first.code, 0, first.stderr);
    const result = await runAws(server.dataDir, [
      "cloudtrail",
      "lookup-events",
      "--lookup-attributes",
      "AttributeKey=EventName,AttributeValue=LookupEvents",
      ...endpoint,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const events = (JSON.parse(result.stdout) as { Events: CliEvent[] }).Events;
    assert.ok(events.length >= 1);
    const record = JSON.parse(events[0]!.CloudTrailEvent) as Record<string, unknown>;
    assert.match(String(record["userAgent"]), /aws-cli\//);
    assert.equal(record["eventName"], "LookupEvents");
    assert.deepEqual(record["requestParameters"], { maxResults: 5 });
    assert.equal(events[0]!.ReadOnly, "true");
    assert.equal(events[0]!.Username, "root");
  });

  it("auto-paginates through more than 500 events", async () => {
    const result = await runAws(server.dataDir, ["cloudtrail", "lookup-events", "--page-size", "50", ...endpoint]);
    assert.equal(result.code, 0, result.stderr);
    const events = (JSON.parse(result.stdout) as { Events: CliEvent[] }).Events;
    assert.ok(events.length >= 520, `got ${events.length}`);
    assert.equal(new Set(events.map((e) => e.EventId)).size, events.length, "no event twice");
  });

  it("filters by time range and attribute", async () => {
    const result = await runAws(server.dataDir, [
      "cloudtrail",
      "lookup-events",
      "--start-time",
      new Date(Date.now() - 3_600_000).toISOString(),
      "--end-time",
      new Date().toISOString(),
      "--lookup-attributes",
      "AttributeKey=ReadOnly,AttributeValue=false",
      ...endpoint,
    ]);
    assert.equal(result.code, 0, result.stderr);
    const events = (JSON.parse(result.stdout) as { Events: CliEvent[] }).Events;
    assert.ok(events.length > 0);
    assert.ok(events.every((e) => e.ReadOnly === "false"));
  });

  it("reports modelled errors the way the CLI prints them", async () => {
    const result = await runAws(server.dataDir, ["cloudtrail", "lookup-events", "--max-results", "51", ...endpoint]);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /InvalidMaxResultsException/);
    const badKey = await runAws(server.dataDir, ["cloudtrail", "lookup-events", ...endpoint], {
      AWS_ACCESS_KEY_ID: "AKIAUNKNOWNKEY000000",
      AWS_SECRET_ACCESS_KEY: "x",
    });
    assert.notEqual(badKey.code, 0);
    assert.match(badKey.stderr, /UnrecognizedClientException/);
  });
});
