import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { awsCliMissingReason, runAws, runCommand } from "../helpers/aws-cli.js";
import {
  REPO_ROOT,
  removeDataDir,
  startServerProcess,
  TEST_ACCOUNT_ID,
  type ServerProcess,
} from "../helpers/server-process.js";
import { cloudTrailCall, ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords } from "../helpers/sample-records.js";
import { CLOUDTRAIL_OPERATIONS } from "../../src/control-plane/catalogue.js";

/**
 * The permission matrix of issue #11, through the real AWS CLI (setup, policy changes, one refusal as
 * a user reads it) and boto3 (every call as every user), from the real managed-policy texts.
 */
function boto3MissingReason(): string | false {
  const probe = spawnSync("python3", ["-c", "import boto3"], { encoding: "utf8" });
  if (probe.status === 0) return false;
  const reason = "SKIPPED LOUDLY: python3 with boto3 is not installed; the permission matrix needs the real client.";
  process.stderr.write(`\n*** ${reason} ***\n\n`);
  return reason;
}

const skip = awsCliMissingReason() || boto3MissingReason();
const MANAGED = "arn:aws:iam::aws:policy/";
const LOCAL_ONLY = {
  Effect: "Allow",
  Action: "cloudtrail:*",
  Resource: "*",
  Condition: { IpAddress: { "aws:SourceIp": "127.0.0.0/8" } },
};
const OFFICE_ONLY = { ...LOCAL_ONLY, Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } };
const TRAIL_ALPHA = `arn:aws:cloudtrail:us-east-1:${TEST_ACCOUNT_ID}:trail/alpha`;

interface UserSetup {
  readonly managed?: string[];
  readonly inline?: Record<string, unknown>[];
}

const USERS: Record<string, UserSetup> = {
  reader: { managed: ["AWSCloudTrail_ReadOnlyAccess"] },
  full: { managed: ["AWSCloudTrail_FullAccess"] },
  "admin-but-stop": {
    managed: ["AdministratorAccess"],
    inline: [{ Effect: "Deny", Action: "cloudtrail:StopLogging", Resource: "*" }],
  },
  scoped: {
    inline: [
      {
        Effect: "Allow",
        Action: ["cloudtrail:StopLogging", "cloudtrail:StartLogging", "cloudtrail:GetTrailStatus"],
        Resource: TRAIL_ALPHA,
      },
      { Effect: "Allow", Action: "cloudtrail:DescribeTrails", Resource: "*" },
    ],
  },
  local: { inline: [LOCAL_ONLY] },
  office: { inline: [OFFICE_ONLY] },
  nobody: {},
};

const OK = "ok";
const DENIED = "AccessDeniedException";
const IAM_DENIED = "AccessDenied";

/** What each user may do: [call] → outcome, in the order of permission-probe.py's calls. */
const EXPECTED: Record<string, Record<string, string>> = {
  reader: row([OK, OK, OK, DENIED, DENIED, DENIED, OK, OK, IAM_DENIED, IAM_DENIED]),
  full: row([OK, OK, OK, OK, OK, "TrailNotFoundException", OK, OK, IAM_DENIED, OK]),
  "admin-but-stop": row([OK, OK, OK, DENIED, OK, DENIED, OK, OK, OK, OK]),
  scoped: row([DENIED, OK, OK, OK, OK, DENIED, DENIED, DENIED, IAM_DENIED, IAM_DENIED]),
  local: row([OK, OK, OK, OK, OK, "TrailNotFoundException", OK, OK, IAM_DENIED, IAM_DENIED]),
  office: row(Array<string>(8).fill(DENIED).concat([IAM_DENIED, IAM_DENIED])),
  nobody: row(Array<string>(8).fill(DENIED).concat([IAM_DENIED, IAM_DENIED])),
};

function row(outcomes: string[]): Record<string, string> {
  const calls = [
    "cloudtrail:LookupEvents",
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrailStatus(alpha)",
    "cloudtrail:StopLogging(alpha)",
    "cloudtrail:StartLogging(alpha)",
    "cloudtrail:StopLogging(gamma)",
    "cloudtrail:ListEventDataStores",
    "cloudtrail:ListPublicKeys",
    "iam:ListUsers",
    "iam:GetUser(self)",
  ];
  return Object.fromEntries(calls.map((call, i) => [call, outcomes[i]!]));
}

describe("permissions as IAM evaluates them, through the AWS CLI and boto3", { skip }, () => {
  let server: ServerProcess;
  let aws: (...args: string[]) => Promise<Record<string, unknown>>;
  const keys = new Map<string, { accessKeyId: string; secretAccessKey: string }>();

  before(async () => {
    server = await startServerProcess();
    aws = async (...args) => {
      const result = await runAws(server.dataDir, [
        ...args,
        "--endpoint-url",
        server.url,
        "--region",
        "us-east-1",
        "--output",
        "json",
      ]);
      assert.equal(result.code, 0, `aws ${args.join(" ")}: ${result.stderr}`);
      return result.stdout.trim() === "" ? {} : (JSON.parse(result.stdout) as Record<string, unknown>);
    };
    await aws("cloudtrail", "create-trail", "--name", "alpha", "--s3-bucket-name", "permission-matrix");
    for (const [name, setup] of Object.entries(USERS)) {
      await aws("iam", "create-user", "--user-name", name);
      const created = (await aws("iam", "create-access-key", "--user-name", name))["AccessKey"] as Record<
        string,
        string
      >;
      keys.set(name, { accessKeyId: created["AccessKeyId"]!, secretAccessKey: created["SecretAccessKey"]! });
      for (const policy of setup.managed ?? []) {
        await aws("iam", "attach-user-policy", "--user-name", name, "--policy-arn", MANAGED + policy);
      }
      for (const [index, statement] of (setup.inline ?? []).entries()) {
        const document = JSON.stringify({ Version: "2012-10-17", Statement: [statement] });
        await aws(
          "iam",
          "put-user-policy",
          "--user-name",
          name,
          "--policy-name",
          `p${index}`,
          "--policy-document",
          document,
        );
      }
    }
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("answers every call of every user as IAM would", async () => {
    const input = JSON.stringify({ endpoint: server.url, users: Object.fromEntries(keys) });
    const probe = spawnSync("python3", [join(REPO_ROOT, "test/auth/permission-probe.py")], { input, encoding: "utf8" });
    assert.equal(probe.status, 0, probe.stderr);
    const outcomes = JSON.parse(probe.stdout) as Record<string, Record<string, string>>;
    for (const [user, expected] of Object.entries(EXPECTED)) {
      const actual = Object.fromEntries(Object.keys(expected).map((call) => [call, outcomes[user]![call]]));
      assert.deepEqual(actual, expected, `${user}: ${JSON.stringify(outcomes[user])}`);
    }
    assert.equal(
      outcomes["admin-but-stop"]!["cloudtrail:StopLogging(alpha):message"],
      `User: arn:aws:iam::${TEST_ACCOUNT_ID}:user/admin-but-stop is not authorized to perform: cloudtrail:StopLogging on resource: ${TRAIL_ALPHA} with an explicit deny in an identity-based policy`,
    );
    assert.equal(
      outcomes["reader"]!["cloudtrail:StopLogging(alpha):message"],
      `User: arn:aws:iam::${TEST_ACCOUNT_ID}:user/reader is not authorized to perform: cloudtrail:StopLogging on resource: ${TRAIL_ALPHA} because no identity-based policy allows the cloudtrail:StopLogging action`,
    );
  });

  it("shows a refusal to the AWS CLI user with AWS's wording", async () => {
    const reader = keys.get("reader")!;
    const result = await runCommand(
      "aws",
      ["cloudtrail", "stop-logging", "--name", "alpha", "--endpoint-url", server.url, "--region", "us-east-1"],
      {
        PATH: process.env["PATH"] ?? "",
        HOME: process.env["HOME"] ?? "/tmp",
        AWS_ACCESS_KEY_ID: reader.accessKeyId,
        AWS_SECRET_ACCESS_KEY: reader.secretAccessKey,
      },
    );
    assert.notEqual(result.code, 0);
    assert.match(
      result.stderr,
      /An error occurred \(AccessDeniedException\) when calling the StopLogging operation: User: arn:aws:iam::\d+:user\/reader is not authorized to perform: cloudtrail:StopLogging/,
    );
  });

  it("needs cloudtrail:Ingest for /ingest and cloudtrail:LookupEvents for /tail", async () => {
    const records = recentRecords(2, { accountId: TEST_ACCOUNT_ID });
    assert.equal((await sendRaw(server.url, ingestCall(records, keys.get("full")!))).status, 200);
    const refused = await sendRaw(server.url, ingestCall(records, keys.get("reader")!));
    assert.equal(refused.status, 403);
    assert.equal(refused.json()["__type"], DENIED);
    assert.match(String(refused.json()["message"]), /cloudtrail:Ingest on resource: \*/);
    const tail = async (user: string) =>
      sendRaw(server.url, {
        ...keys.get(user)!,
        method: "GET",
        path: "/tail",
        query: { fromSeq: "1" },
        headersOnly: true,
      });
    assert.equal((await tail("nobody")).status, 403);
    assert.equal((await tail("reader")).status, 200);
  });

  it("authorises the S3 endpoint with the same policies: s3:ListBucket on the trail's bucket", async () => {
    const s3 = (user: string) => {
      const credentials = keys.get(user)!;
      return runCommand(
        "aws",
        ["s3", "ls", "s3://permission-matrix/", "--endpoint-url", server.s3Url!, "--region", "us-east-1"],
        {
          PATH: process.env["PATH"] ?? "",
          HOME: process.env["HOME"] ?? "/tmp",
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        },
      );
    };
    const administrator = await s3("admin-but-stop");
    assert.equal(administrator.code, 0, administrator.stderr);
    // AWSCloudTrail_ReadOnlyAccess grants no s3: action.
    const reader = await s3("reader");
    assert.notEqual(reader.code, 0);
    assert.match(reader.stderr, /AccessDenied/);
  });

  it("decides every CloudTrail operation Cairn serves from the managed policies' texts", async () => {
    const admin = { accessKeyId: "AKIACAIRNTESTADMIN01", secretAccessKey: "cairn/test/secret/key/0000000000000000000" };
    // Empty inputs: authorisation comes before input checks, and no call can change anything.
    const outcome = async (operation: string, credentials: { accessKeyId: string; secretAccessKey: string }) => {
      const response = await sendRaw(server.url, cloudTrailCall(operation, {}, credentials));
      return response.status === 200 ? OK : String(response.json()["__type"]);
    };
    const served: string[] = [];
    for (const operation of CLOUDTRAIL_OPERATIONS) {
      if ((await outcome(operation, admin)) !== "UnsupportedOperationException") served.push(operation);
    }
    assert.ok(served.length >= 40, `served: ${served.join()}`);
    const readOnly = (operation: string) => /^(Get|Describe|List)/.test(operation) || operation === "LookupEvents";
    for (const operation of served) {
      assert.equal(await outcome(operation, keys.get("nobody")!), DENIED, `nobody: ${operation}`);
      assert.equal((await outcome(operation, keys.get("full")!)) === DENIED, false, `full: ${operation}`);
      assert.equal(
        (await outcome(operation, keys.get("reader")!)) === DENIED,
        !readOnly(operation),
        `reader: ${operation}`,
      );
    }
  });

  it("authorises PutAuditEvents as cloudtrail-data:PutAuditEvents, which cloudtrail:* does not include", async () => {
    const channel = `arn:aws:cloudtrail:us-east-1:${TEST_ACCOUNT_ID}:channel/00000000-0000-4000-8000-000000000000`;
    const put = (user: string) =>
      sendRaw(server.url, {
        ...keys.get(user)!,
        service: "cloudtrail-data",
        path: "/PutAuditEvents",
        query: { channelArn: channel },
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ auditEvents: [{ id: "1", eventData: "{}" }] }),
      });
    for (const user of ["nobody", "reader", "full"]) {
      const refused = await put(user);
      assert.equal(refused.status, 403, `${user}: ${refused.text}`);
      assert.equal(refused.headers.get("x-amzn-errortype"), DENIED);
    }
    // AdministratorAccess allows it; the channel itself does not exist.
    const allowed = await put("admin-but-stop");
    assert.notEqual(allowed.status, 403, allowed.text);
  });

  it("records refusals as AccessDenied and policy changes as IAM events", async () => {
    const admin = { accessKeyId: "AKIACAIRNTESTADMIN01", secretAccessKey: "cairn/test/secret/key/0000000000000000000" };
    const lookup = async (name: string) => {
      const response = await sendRaw(
        server.url,
        cloudTrailCall(
          "LookupEvents",
          { LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: name }], MaxResults: 50 },
          admin,
        ),
      );
      assert.equal(response.status, 200, response.text);
      return (response.json()["Events"] as Array<{ CloudTrailEvent: string }>).map(
        (event) => JSON.parse(event.CloudTrailEvent) as Record<string, unknown>,
      );
    };
    const stops = await lookup("StopLogging");
    const denied = stops.filter((event) => event["errorCode"] === "AccessDenied");
    assert.ok(denied.length >= 3, JSON.stringify(stops.map((e) => e["errorCode"])));
    assert.ok(denied.every((event) => String(event["errorMessage"]).includes("is not authorized to perform")));
    const attached = await lookup("AttachUserPolicy");
    assert.equal(attached.length, 3);
    assert.ok(
      attached.every((event) => event["eventSource"] === "iam.amazonaws.com" && event["awsRegion"] === "us-east-1"),
    );
    const put = await lookup("PutUserPolicy");
    assert.ok(put.some((event) => JSON.stringify(event["requestParameters"]).includes("cloudtrail:StopLogging")));
    // Dates inside IAM's records are Java's date text, as CloudTrail's IAM records show them.
    const javaDate = /^[A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M$/;
    const [created] = await lookup("CreateUser");
    assert.match(String((created?.["responseElements"] as { user: { createDate: string } }).user.createDate), javaDate);
    const [keyed] = await lookup("CreateAccessKey");
    const accessKey = (keyed?.["responseElements"] as { accessKey: Record<string, unknown> }).accessKey;
    assert.match(String(accessKey["createDate"]), javaDate);
    assert.equal(accessKey["secretAccessKey"], undefined);
  });
});
