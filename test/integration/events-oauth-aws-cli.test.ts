import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { awsCliMissingReason, runAws } from "../helpers/aws-cli.js";
import { startHttpReceiver, type HttpReceiver, type ReceivedRequest } from "../helpers/http-receiver.js";
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
const CLIENT_ID = "cairn-oauth-client";
const CLIENT_SECRET = "oauth-client-secret-7e41c9";
const AUDIENCE_SECRET = "oauth-secret-body-parameter-3b8d";

/** A CloudTrail management record of `eventName` in the test account, as a new call. */
function callRecord(eventName: string): RawRecord {
  const [base] = recentRecords(1, { accountId: TEST_ACCOUNT_ID, spreadMs: 0 });
  return {
    ...base,
    eventSource: "cloudtrail.amazonaws.com",
    eventName,
    readOnly: false,
    eventType: "AwsApiCall",
    managementEvent: true,
    eventCategory: "Management",
    eventID: randomUUID(),
  };
}

/**
 * An OAuth authorization server and a webhook in one real HTTP server: `/token` grants a token for
 * the client credentials (HTTP Basic, the client credentials grant, the connection's secret body
 * parameter) while `refuseTokens` is false; `/hook` takes only that token.
 */
class OAuthReceiver {
  refuseTokens = false;
  private issued = 0;
  readonly tokens = new Set<string>();

  handle = (request: ReceivedRequest, response: ServerResponse): void => {
    if (request.url.startsWith("/token")) return this.token(request, response);
    const bearer = /^Bearer (.+)$/.exec(String(request.headers["authorization"] ?? ""));
    const ok = request.url === "/hook" && bearer !== null && this.tokens.has(bearer[1]!);
    response.writeHead(ok ? 200 : 401, { "content-type": "application/json" });
    response.end("{}");
  };

  private token(request: ReceivedRequest, response: ServerResponse): void {
    const basic = `Basic ${Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString("base64")}`;
    const form = new URLSearchParams(request.body);
    const good =
      request.method === "POST" &&
      request.headers["authorization"] === basic &&
      form.get("grant_type") === "client_credentials" &&
      form.get("audience") === AUDIENCE_SECRET;
    if (!good || this.refuseTokens) {
      response.writeHead(401, { "content-type": "application/json" });
      response.end('{"error":"invalid_client"}');
      return;
    }
    const token = `token-${++this.issued}-${randomUUID()}`;
    this.tokens.add(token);
    response.writeHead(200, { "content-type": "application/json" });
    response.end(JSON.stringify({ access_token: token, token_type: "Bearer", expires_in: 3600 }));
  }
}

describe(
  "EventBridge OAuth connections deliver with a client-credentials token (AWS CLI, real receiver)",
  { skip },
  () => {
    let server: ServerProcess;
    let receiver: HttpReceiver;
    const oauth = new OAuthReceiver();

    async function events(args: string[]): Promise<Record<string, unknown>> {
      const result = await runAws(server.dataDir, ["events", ...args, "--region", "us-east-1", "--output", "json"]);
      assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
      return result.stdout.trim() === "" ? {} : (JSON.parse(result.stdout) as Record<string, unknown>);
    }

    async function ingest(records: RawRecord[]): Promise<void> {
      const response = await sendRaw(server.url, ingestCall(records, admin));
      assert.equal(response.status, 200, response.text);
    }

    function authParameters(endpoint: string): Record<string, unknown> {
      return {
        OAuthParameters: {
          ClientParameters: { ClientID: CLIENT_ID, ClientSecret: CLIENT_SECRET },
          AuthorizationEndpoint: endpoint,
          HttpMethod: "POST",
          OAuthHttpParameters: { BodyParameters: [{ Key: "audience", Value: AUDIENCE_SECRET, IsValueSecret: true }] },
        },
      };
    }

    async function describeState(name: string, wanted: string): Promise<Record<string, unknown>> {
      return pollUntil(
        async () => {
          const described = await events(["describe-connection", "--name", name]);
          return described["ConnectionState"] === wanted ? described : undefined;
        },
        { message: `connection ${name} ${wanted}` },
      );
    }

    async function cairnEventsFailures(rule: string): Promise<Array<Record<string, unknown>>> {
      const args = [
        "events",
        "failures",
        "--rule",
        rule,
        "--json",
        "--endpoint-url",
        server.url,
        "--region",
        "us-east-1",
      ];
      const env = {
        ...process.env,
        AWS_ACCESS_KEY_ID: admin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
      };
      const { stdout } = await promisify(execFile)(process.execPath, [CLI, ...args], { env });
      return JSON.parse(stdout) as Array<Record<string, unknown>>;
    }

    before(async () => {
      receiver = await startHttpReceiver();
      receiver.answerWith(oauth.handle);
      server = await startServerProcess();
    });
    after(async () => {
      await server?.stop();
      await receiver?.close();
      if (server) removeDataDir(server.dataDir);
    });

    it("creates the connection AUTHORIZING, authorizes it, and never shows the client secret", async () => {
      const created = await events([
        "create-connection",
        "--name",
        "oauth-hooks",
        "--authorization-type",
        "OAUTH_CLIENT_CREDENTIALS",
        "--auth-parameters",
        JSON.stringify(authParameters(`${receiver.url}/token`)),
      ]);
      assert.equal(created["ConnectionState"], "AUTHORIZING");
      const described = await describeState("oauth-hooks", "AUTHORIZED");
      assert.deepEqual((described["AuthParameters"] as Record<string, unknown>)["OAuthParameters"], {
        ClientParameters: { ClientID: CLIENT_ID },
        AuthorizationEndpoint: `${receiver.url}/token`,
        HttpMethod: "POST",
        OAuthHttpParameters: { BodyParameters: [{ Key: "audience", IsValueSecret: true }] },
      });
      assert.equal(typeof described["LastAuthorizedTime"], "number");
      const listed = await events(["list-connections", "--connection-state", "AUTHORIZED"]);
      assert.deepEqual(
        (listed["Connections"] as Array<{ Name: string }>).map((c) => c.Name),
        ["oauth-hooks"],
      );
      assert.ok(
        receiver.requests.some((request) => request.url === "/token"),
        "the token endpoint was asked",
      );
      const records = await runAws(server.dataDir, [
        "cloudtrail",
        "lookup-events",
        "--region",
        "us-east-1",
        "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=CreateConnection",
        "--output",
        "json",
      ]);
      assert.equal(records.code, 0, records.stderr);
      assert.match(records.stdout, /oauth-hooks/);
      assert.match(records.stdout, /HIDDEN_DUE_TO_SECURITY_REASONS/);
      for (const secret of [CLIENT_SECRET, AUDIENCE_SECRET]) {
        assert.ok(!records.stdout.includes(secret), "the self-audit record hides the secrets");
        assert.ok(!JSON.stringify(described).includes(secret));
      }
    });

    it("delivers matching records with the Bearer token the endpoint granted", async () => {
      const connection = await events(["describe-connection", "--name", "oauth-hooks"]);
      const input = {
        Name: "oauth-pager",
        ConnectionArn: connection["ConnectionArn"],
        InvocationEndpoint: `${receiver.url}/hook`,
        HttpMethod: "POST",
      };
      const destination = await events(["create-api-destination", "--cli-input-json", JSON.stringify(input)]);
      const pattern = { source: ["aws.cloudtrail"], detail: { eventName: ["StopLogging"] } };
      await events(["put-rule", "--name", "oauth-tampering", "--event-pattern", JSON.stringify(pattern)]);
      const targets = [{ Id: "1", Arn: destination["ApiDestinationArn"] }];
      const put = await events(["put-targets", "--rule", "oauth-tampering", "--targets", JSON.stringify(targets)]);
      assert.equal(put["FailedEntryCount"], 0, JSON.stringify(put));
      const record = callRecord("StopLogging");
      await ingest([record]);
      const delivered = await pollUntil(
        () =>
          receiver.requests.find(
            (request) => request.url === "/hook" && request.body.includes(String(record["eventID"])),
          ),
        { message: "the event at the webhook" },
      );
      const token = /^Bearer (.+)$/.exec(String(delivered.headers["authorization"]))?.[1];
      assert.ok(token !== undefined && oauth.tokens.has(token), "sent with a token the endpoint granted");
      assert.equal((JSON.parse(delivered.body) as { detail: { eventID: string } }).detail.eventID, record["eventID"]);
    });

    it("a token endpoint refusing the credentials: DEAUTHORIZED, and the delivery failure listed", async () => {
      oauth.refuseTokens = true;
      const refusing = authParameters(`${receiver.url}/token?tenant=refusing`);
      const updated = await events([
        "update-connection",
        "--name",
        "oauth-hooks",
        "--auth-parameters",
        JSON.stringify(refusing),
      ]);
      assert.equal(updated["ConnectionState"], "AUTHORIZING");
      const described = await describeState("oauth-hooks", "DEAUTHORIZED");
      assert.match(String(described["StateReason"]), /HTTP 401/);
      const record = callRecord("StopLogging");
      await ingest([record]);
      const failures = await pollUntil(
        async () => {
          const found = await cairnEventsFailures("oauth-tampering");
          return found.find((failure) => failure["CloudTrailEventId"] === record["eventID"]);
        },
        { message: "the failure listed" },
      );
      assert.equal(failures["Reason"], "not-retryable");
      assert.match(String(failures["LastError"]), /authorization endpoint answered HTTP 401/);
      assert.ok(!JSON.stringify(failures).includes(CLIENT_SECRET));
      assert.ok(
        !receiver.requests.some(
          (request) => request.url === "/hook" && request.body.includes(String(record["eventID"])),
        ),
        "nothing reached the webhook without a token",
      );
    });
  },
);
