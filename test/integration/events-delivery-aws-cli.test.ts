import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { awsCliMissingReason, runAws } from "../helpers/aws-cli.js";
import { answer, startHttpReceiver, type HttpReceiver, type ReceivedRequest } from "../helpers/http-receiver.js";
import { pollUntil } from "../helpers/poll.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";
import {
  CLI,
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";

const skip = awsCliMissingReason();
const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const API_KEY = "cairn-delivery-key-9c1f";
const TEMPLATE = '{"rule": <aws.events.rule-name>, "event": <name>, "id": <id>, "who": <who>}';
const PATHS = { name: "$.detail.eventName", id: "$.detail.eventID", who: "$.detail.userIdentity.arn" };

const SIGMA_RULE_ID = "5f0b7c1e-9f3a-4d2b-8c61-2f1d0e7a9b34";
const SIGMA_RULE = `title: Trail updated
id: ${SIGMA_RULE_ID}
status: test
level: high
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventSource: cloudtrail.amazonaws.com
    eventName: UpdateTrail
  condition: selection
`;

/** A CloudTrail management record of `eventName` in the test account, as a new call. */
function callRecord(eventName: string, readOnly = false): RawRecord {
  const [base] = recentRecords(1, { accountId: TEST_ACCOUNT_ID, spreadMs: 0 });
  return {
    ...base,
    eventSource: "cloudtrail.amazonaws.com",
    eventName,
    readOnly,
    eventType: "AwsApiCall",
    managementEvent: true,
    eventCategory: "Management",
    eventID: randomUUID(),
  };
}

interface Delivered {
  readonly rule: string;
  readonly event: string;
  readonly id: string;
  readonly who: string;
}

function bodies(requests: readonly ReceivedRequest[], path = "/hook"): Delivered[] {
  return requests.filter((request) => request.url === path).map((request) => JSON.parse(request.body) as Delivered);
}

describe("EventBridge rules deliver matching records to API destinations (AWS CLI, real receiver)", { skip }, () => {
  let server: ServerProcess;
  let receiver: HttpReceiver;
  const dataDir = () => server.dataDir;

  async function events(args: string[]): Promise<Record<string, unknown>> {
    const result = await runAws(dataDir(), ["events", ...args, "--region", "us-east-1", "--output", "json"]);
    assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
    return result.stdout.trim() === "" ? {} : (JSON.parse(result.stdout) as Record<string, unknown>);
  }

  async function ingest(records: RawRecord[]): Promise<void> {
    const response = await sendRaw(server.url, ingestCall(records, admin));
    assert.equal(response.status, 200, response.text);
  }

  async function destination(name: string, path: string): Promise<string> {
    // --cli-input-json: AWS CLI v1 would fetch an http:// parameter value as a URL parameter file.
    const input = {
      Name: name,
      ConnectionArn: connectionArn,
      InvocationEndpoint: `${receiver.url}${path}`,
      HttpMethod: "POST",
    };
    const created = await events(["create-api-destination", "--cli-input-json", JSON.stringify(input)]);
    return String(created["ApiDestinationArn"]);
  }

  async function rule(name: string, pattern: unknown, target: string, state = "ENABLED"): Promise<void> {
    await events(["put-rule", "--name", name, "--event-pattern", JSON.stringify(pattern), "--state", state]);
    const targets = [{ Id: "1", Arn: target, InputTransformer: { InputPathsMap: PATHS, InputTemplate: TEMPLATE } }];
    const put = await events(["put-targets", "--rule", name, "--targets", JSON.stringify(targets)]);
    assert.equal(put["FailedEntryCount"], 0, JSON.stringify(put));
  }

  /** `cairn <args> --endpoint-url … --region us-east-1` as the test account's admin; its stdout. */
  async function cairn(args: string[]): Promise<string> {
    const env = { ...process.env, AWS_ACCESS_KEY_ID: admin.accessKeyId, AWS_SECRET_ACCESS_KEY: admin.secretAccessKey };
    const all = [CLI, ...args, "--endpoint-url", server.url, "--region", "us-east-1"];
    return (await promisify(execFile)(process.execPath, all, { env })).stdout;
  }

  /** `cairn events failures --rule <rule> --json`, as the rule's owner runs it. */
  async function cairnEventsFailures(rule: string): Promise<Array<Record<string, unknown>>> {
    return JSON.parse(await cairn(["events", "failures", "--rule", rule, "--json"])) as Array<Record<string, unknown>>;
  }

  let connectionArn: string;
  before(async () => {
    receiver = await startHttpReceiver();
    server = await startServerProcess();
    const connection = await events([
      "create-connection",
      "--name",
      "hooks",
      "--authorization-type",
      "API_KEY",
      "--auth-parameters",
      JSON.stringify({
        ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: API_KEY },
        InvocationHttpParameters: { HeaderParameters: [{ Key: "x-team", Value: "secops", IsValueSecret: false }] },
      }),
    ]);
    connectionArn = String(connection["ConnectionArn"]);
    const hook = await destination("pager", "/hook");
    const tampering = { source: ["aws.cloudtrail"], detail: { eventName: ["StopLogging", "DeleteTrail"] } };
    await rule("trail-tampering", tampering, hook);
    const reads = { source: ["aws.cloudtrail"], detail: { eventName: ["DescribeTrails"] } };
    await rule("reads-enabled", reads, hook);
    await rule("reads-all", reads, hook, "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS");
    await rule(
      "forbidden",
      { detail: { eventName: ["DeleteEventDataStore"] } },
      await destination("refuses", "/forbidden"),
    );
  });
  after(async () => {
    await server?.stop();
    await receiver?.close();
    if (server) removeDataDir(server.dataDir);
  });

  it("sends exactly the matching records, with the connection's key and the transformed input", async () => {
    const stop = callRecord("StopLogging");
    const remove = callRecord("DeleteTrail");
    const read = callRecord("DescribeTrails", true);
    await ingest([stop, callRecord("CreateTrail"), remove, read, callRecord("GetTrailStatus", true)]);
    const delivered = await pollUntil(
      () => (bodies(receiver.requests).length >= 3 ? bodies(receiver.requests) : undefined),
      {
        message: () => `three deliveries; got ${JSON.stringify(bodies(receiver.requests))}`,
      },
    );
    // Anything else would have been sent with these: give it a moment to show up before counting.
    await sleep(1_500);
    const who = (stop["userIdentity"] as { arn?: string }).arn ?? "";
    assert.deepEqual(
      bodies(receiver.requests).sort((a, b) => `${a.rule}${a.event}`.localeCompare(`${b.rule}${b.event}`)),
      [
        { rule: "reads-all", event: "DescribeTrails", id: read["eventID"], who },
        { rule: "trail-tampering", event: "DeleteTrail", id: remove["eventID"], who },
        { rule: "trail-tampering", event: "StopLogging", id: stop["eventID"], who },
      ],
      "the read-only call reaches only the rule in ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
    );
    assert.equal(delivered.length, 3);
    for (const request of receiver.requests) {
      assert.equal(request.method, "POST");
      assert.equal(request.headers["x-api-key"], API_KEY);
      assert.equal(request.headers["x-team"], "secops");
      assert.match(String(request.headers["content-type"]), /^application\/json/);
      assert.equal(request.headers["user-agent"], "Amazon/EventBridge/ApiDestinations");
    }
  });

  it("retries while the receiver fails, then delivers every event", async () => {
    receiver.requests.length = 0;
    receiver.answerWith(answer(503), answer(503), answer(503), answer(503), answer(200));
    const records = Array.from({ length: 4 }, () => callRecord("StopLogging"));
    await ingest(records);
    const wanted = new Set(records.map((record) => record["eventID"]));
    await pollUntil(
      () => {
        const ok = receiver.requests.filter((request, i) => i >= 4 && request.url === "/hook");
        return [...wanted].every((id) => ok.some((request) => (JSON.parse(request.body) as Delivered).id === id));
      },
      { timeoutMs: 60_000, message: "every event delivered after the receiver recovered" },
    );
  });

  it("keeps queued deliveries across a restart", async () => {
    receiver.requests.length = 0;
    receiver.answerWith(answer(503));
    const records = Array.from({ length: 3 }, () => callRecord("DeleteTrail"));
    await ingest(records);
    await pollUntil(() => bodies(receiver.requests).length >= 3, { message: "a first attempt of each" });
    await server.stop();
    receiver.answerWith(answer(200));
    receiver.requests.length = 0;
    server = await startServerProcess({ dataDir: server.dataDir });
    const wanted = records.map((record) => record["eventID"]);
    await pollUntil(() => wanted.every((id) => bodies(receiver.requests).some((body) => body.id === id)), {
      timeoutMs: 60_000,
      message: "the queued events delivered by the restarted server",
    });
  });

  it("routes a live Sigma match as a Sigma Rule Match event to a rule on source cairn.sigma", async () => {
    receiver.answerWith(answer(200));
    const ruleFile = join(dataDir(), "trail-updated.sigma.yml");
    await writeFile(ruleFile, SIGMA_RULE);
    await cairn(["sigma", "add", ruleFile]);
    const pattern = { source: ["cairn.sigma"], "detail-type": ["Sigma Rule Match"], detail: { level: ["high"] } };
    await events(["put-rule", "--name", "sigma-high", "--event-pattern", JSON.stringify(pattern)]);
    const target = { Id: "1", Arn: await destination("sigma-hook", "/sigma") };
    await events(["put-targets", "--rule", "sigma-high", "--targets", JSON.stringify([target])]);
    const record = callRecord("UpdateTrail");
    await ingest([callRecord("CreateTrail"), record]);
    const [request] = await pollUntil(
      () => {
        const sent = receiver.requests.filter((request) => request.url === "/sigma");
        return sent.length > 0 ? sent : undefined;
      },
      { timeoutMs: 30_000, message: "the Sigma match's event" },
    );
    const event = JSON.parse(request!.body) as Record<string, unknown> & { detail: Record<string, unknown> };
    assert.deepEqual(
      [event["source"], event["detail-type"], event["account"], event["region"]],
      ["cairn.sigma", "Sigma Rule Match", TEST_ACCOUNT_ID, record["awsRegion"]],
    );
    assert.deepEqual(
      [event.detail["ruleId"], event.detail["title"], event.detail["level"], event.detail["eventID"]],
      [SIGMA_RULE_ID, "Trail updated", "high", record["eventID"]],
    );
    assert.equal((event.detail["record"] as Record<string, unknown>)["eventName"], "UpdateTrail", "the record in full");
    await sleep(1_500);
    assert.equal(receiver.requests.filter((request) => request.url === "/sigma").length, 1, "one match, one event");
  });

  it("keeps a failure the rule's owner can list when the endpoint refuses for good", async () => {
    receiver.answerWith((request, response) => {
      response.writeHead(request.url === "/forbidden" ? 403 : 200);
      response.end();
    });
    const record = callRecord("DeleteEventDataStore");
    await ingest([record]);
    const failures = await pollUntil(
      async () => {
        const found = await cairnEventsFailures("forbidden");
        return found.length > 0 ? found : undefined;
      },
      { message: "the failure listed" },
    );
    assert.equal(failures[0]!["CloudTrailEventId"], record["eventID"]);
    assert.equal(failures[0]!["Reason"], "not-retryable");
    assert.equal(failures[0]!["LastHttpStatus"], 403);
    assert.equal(failures[0]!["Attempts"], 1);
    assert.doesNotMatch(JSON.stringify(failures), new RegExp(API_KEY), "no secret of the connection in a failure");
  });
});
