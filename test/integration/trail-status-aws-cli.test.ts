import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { removeDataDir, startServerProcess, type ServerProcess } from "../helpers/server-process.js";
import { ensureTrailBucket } from "../helpers/test-backend.js";
import { awsCliMissingReason, runAws } from "../helpers/aws-cli.js";

const skip = awsCliMissingReason();
const LEGACY_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;

describe("aws cloudtrail get-trail-status against a real server", { skip }, () => {
  let server: ServerProcess;
  let endpoint: string[];
  const cli = async (...args: string[]): Promise<Record<string, unknown>> => {
    const result = await runAws(server.dataDir, ["cloudtrail", ...args, ...endpoint]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.trim() === "" ? {} : (JSON.parse(result.stdout) as Record<string, unknown>);
  };
  before(async () => {
    server = await startServerProcess();
    await ensureTrailBucket(server.dataDir, "cairn-audit");
    endpoint = ["--endpoint-url", server.url, "--region", "us-east-1", "--output", "json"];
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("shows the legacy members empty for a trail that never logged, then the times once it did", async () => {
    await cli("create-trail", "--name", "cli-status", "--s3-bucket-name", "cairn-audit");
    const fresh = await cli("get-trail-status", "--name", "cli-status");
    assert.deepEqual(fresh, {
      IsLogging: false,
      LatestDeliveryAttemptTime: "",
      LatestNotificationAttemptTime: "",
      LatestNotificationAttemptSucceeded: "",
      LatestDeliveryAttemptSucceeded: "",
      TimeLoggingStarted: "",
      TimeLoggingStopped: "",
    });
    await cli("start-logging", "--name", "cli-status");
    await cli("stop-logging", "--name", "cli-status");
    const stopped = await cli("get-trail-status", "--name", "cli-status");
    assert.equal(stopped["IsLogging"], false);
    assert.match(String(stopped["TimeLoggingStarted"]), LEGACY_TIME);
    assert.match(String(stopped["TimeLoggingStopped"]), LEGACY_TIME);
    assert.equal(stopped["LatestNotificationAttemptTime"], "");
    assert.equal(typeof stopped["StartLoggingTime"], "number", "the CLI prints epoch timestamps as numbers");
  });
});
