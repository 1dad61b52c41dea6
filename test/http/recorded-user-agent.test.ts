import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { CloudTrailClient, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import {
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { cloudTrailCall, sendRaw } from "../helpers/signed-request.js";

const CREDENTIALS = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
const BROWSER_SDK =
  "aws-sdk-js/3.700.0 ua/2.1 os/Linux lang/js md/browser#Chrome_120.0 api/cloudtrail#3.700.0 cairn-console/1";

/**
 * A browser does not let a page set User-Agent, so an SDK in one names itself in X-Amz-User-Agent:
 * Cairn records that for a browser's call (the console's reads are recognised by it), and keeps
 * every other client's User-Agent.
 */
describe("the user agent a call is recorded with", () => {
  let server: ServerProcess;
  let client: CloudTrailClient;

  before(async () => {
    server = await startServerProcess();
    client = new CloudTrailClient({ endpoint: server.url, region: "us-east-1", credentials: CREDENTIALS });
  });

  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  async function call(target: string, headers: Record<string, string>): Promise<void> {
    const request = cloudTrailCall(target, {}, CREDENTIALS);
    const answer = await sendRaw(server.url, { ...request, headers: { ...request.headers, ...headers } });
    assert.equal(answer.status, 200, answer.text);
  }

  async function recordedAgent(eventName: string): Promise<unknown> {
    const answer = await client.send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: eventName }] }),
    );
    assert.equal(answer.Events?.length, 1, eventName);
    return (JSON.parse(answer.Events![0]!.CloudTrailEvent!) as Record<string, unknown>)["userAgent"];
  }

  it("records a browser's X-Amz-User-Agent, and any other client's User-Agent", async () => {
    await call("ListTrails", { "user-agent": BROWSER, "x-amz-user-agent": BROWSER_SDK });
    await call("DescribeTrails", { "user-agent": "aws-cli/2.13.0 Python/3.11.4", "x-amz-user-agent": "other/1" });
    await call("ListEventDataStores", { "user-agent": BROWSER });
    assert.equal(await recordedAgent("ListTrails"), BROWSER_SDK);
    assert.equal(await recordedAgent("DescribeTrails"), "aws-cli/2.13.0 Python/3.11.4");
    assert.equal(await recordedAgent("ListEventDataStores"), BROWSER);
  });
});
