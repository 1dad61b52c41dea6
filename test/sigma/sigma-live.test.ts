/**
 * Sigma rules live on the journal, through a real `cairn server` child process and the real CLI:
 * `cairn sigma add` two SigmaHQ rules (a detection and a Sigma 1 count correlation), ingest the
 * Stratus Red Team detonations they were written for (moved to recent times and the test's
 * accounts), and `cairn sigma matches --json` lists exactly what `cairn sigma test` finds in the same
 * records. The server restarts in the middle of the correlation's window and the correlation still
 * fires, once; a server-wide rule from CAIRN_SIGMA_RULES_DIR fires on every account's records; a
 * second account's records never meet the first account's rules, and it can neither list nor remove
 * them; a rule the engine refuses is refused by `cairn sigma add` with the engine's reason.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { inEventTimeOrder } from "../../src/sigma/index.js";
import { pollUntil } from "../helpers/poll.js";
import { addPrincipal } from "../helpers/principals.js";
import { readRecordsFile, SAMPLES_DIR, samplesMissingReason, type RawRecord } from "../helpers/sample-records.js";
import {
  CLI,
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCOUNT_ID,
  type ServerProcess,
} from "../helpers/server-process.js";
import { cloudTrailCall, ingestCall, sendRaw } from "../helpers/signed-request.js";
import {
  ACTIVE_RULES_DIR,
  PLACEHOLDER_RULES_DIR,
  sigmaRulesMissingReason,
  UNSUPPORTED_RULES_DIR,
} from "../helpers/sigma-rules.js";
import { admin } from "../lake/lake-client.js";

const execFileAsync = promisify(execFile);
type Credentials = { accessKeyId: string; secretAccessKey: string };

const STRATUS_DIR = join(SAMPLES_DIR, "stratus-red-team-detonation-logs");
const DISABLE_LOGGING = join(ACTIVE_RULES_DIR, "aws_cloudtrail_disable_logging.yml");
const DOWNLOAD_USERDATA = join(UNSUPPORTED_RULES_DIR, "aws_ec2_download_userdata.yml");
const FLOW_LOGS_DELETED = join(ACTIVE_RULES_DIR, "aws_cloudtrail_vpc_flow_logs_deleted.yml");
const PLACEHOLDER = join(PLACEHOLDER_RULES_DIR, "aws_cloudtrail_console_login_success_from_susp_locations.yml");
const DOWNLOAD_USERDATA_ID = "26ff4080-194e-47e7-9889-ef7602efed0c";
const DISABLE_LOGGING_ID = "4db60cc0-36fb-42b7-9b58-a5b53019fb74";
const OTHER_ACCOUNT = "444455556666";

const skip = samplesMissingReason() || sigmaRulesMissingReason();

/** A detonation's records in `accountId`, shifted together to end a minute ago, fresh eventIDs, eventTime order. */
function detonation(file: string, accountId: string, endMs: number): RawRecord[] {
  const records = inEventTimeOrder(readRecordsFile(join(STRATUS_DIR, file)));
  const lastMs = Date.parse(records.at(-1)!["eventTime"] as string);
  // In the order `sigma test` offers them (eventTime, then eventID): live rules see journal order.
  return inEventTimeOrder(
    records.map((record) => ({
      ...record,
      userIdentity: { ...(record["userIdentity"] as RawRecord), accountId },
      recipientAccountId: accountId,
      eventID: randomUUID(),
      eventTime: new Date(Date.parse(record["eventTime"] as string) - lastMs + endMs)
        .toISOString()
        .replace(/\.\d{3}Z$/, "Z"),
    })),
  );
}

interface MatchLine {
  ruleId: string;
  eventID: string;
  title: string;
  level: string;
  eventTime: string;
  matchedAt?: string;
}

const keyOf = (match: MatchLine) => `${match.ruleId} ${match.eventID}`;
const jsonLines = (text: string): MatchLine[] =>
  text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as MatchLine);

describe("Sigma rules live on the journal, through a real server and the real CLI", { skip }, () => {
  let server: ServerProcess;
  const dataDir = makeDataDir("cairn-sigma-live-");
  const rulesDir = join(dataDir, "..", `${dataDir.split("/").pop()}-rules`);
  let other: Credentials;
  const nowMs = Date.now();
  const stop = detonation("aws.defense-evasion.cloudtrail-stop.json", TEST_ACCOUNT_ID, nowMs - 300_000);
  const flowLogs = detonation("aws.defense-evasion.vpc-remove-flow-logs.json", TEST_ACCOUNT_ID, nowMs - 240_000);
  const userData = detonation("aws.discovery.ec2-download-user-data.json", TEST_ACCOUNT_ID, nowMs - 60_000);
  const otherRecords = [
    ...detonation("aws.defense-evasion.cloudtrail-stop.json", OTHER_ACCOUNT, nowMs - 200_000),
    ...detonation("aws.defense-evasion.vpc-remove-flow-logs.json", OTHER_ACCOUNT, nowMs - 180_000),
  ];
  // Eight of the eighteen userData reads before the restart, ten after: the count (> 10 in 30 min)
  // fires only if the state of the first eight survived the restart.
  const cut = userData.findIndex((record, index) => userData.slice(0, index + 1).filter(isUserDataRead).length === 8);
  const beforeRestart = [...stop, ...flowLogs, ...userData.slice(0, cut + 1)];
  const afterRestart = userData.slice(cut + 1);

  function isUserDataRead(record: RawRecord): boolean {
    return record["eventName"] === "DescribeInstanceAttribute";
  }

  async function cairn(args: string[], credentials: Credentials = admin) {
    return execFileAsync(process.execPath, [CLI, ...args, "--endpoint-url", server.url, "--region", "us-east-1"], {
      env: {
        PATH: process.env["PATH"] ?? "",
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      },
    });
  }

  const start = () =>
    startServerProcess({ dataDir, env: { CAIRN_SIGMA_RULES_DIR: rulesDir } }).then((started) => (server = started));

  async function ingest(records: RawRecord[]): Promise<void> {
    const response = await sendRaw(server.url, ingestCall(records, admin));
    assert.equal(response.status, 200, response.text);
  }

  async function matches(credentials: Credentials = admin, extra: string[] = []): Promise<MatchLine[]> {
    return jsonLines((await cairn(["sigma", "matches", "--json", ...extra], credentials)).stdout);
  }

  /** Until the Sigma consumer has every journaled record. */
  async function caughtUp(): Promise<void> {
    await pollUntil(
      async () => {
        const health = (await (await fetch(`${server.url}/health`)).json()) as {
          consumers: Record<string, { lagRecords: number }>;
        };
        return health.consumers["sigma"]?.lagRecords === 0;
      },
      { message: "the sigma consumer to catch up" },
    );
  }

  before(async () => {
    mkdirSync(rulesDir);
    copyFileSync(FLOW_LOGS_DELETED, join(rulesDir, "flow-logs.yml"));
    copyFileSync(PLACEHOLDER, join(rulesDir, "placeholder.yml"));
    await start();
    other = await addPrincipal(dataDir, { name: "other-admin", accountId: OTHER_ACCOUNT });
  });

  after(async () => {
    await server?.stop();
    removeDataDir(dataDir);
    removeDataDir(rulesDir);
  });

  it("starts with the server-wide rules that load, reporting the one the engine refuses", () => {
    assert.match(server.output(), /placeholder\.yml document 0 not loaded: .*\|expand/);
    assert.match(server.output(), /1 server-wide rule\(s\) loaded/);
  });

  it("refuses a rule the engine refuses, with the engine's reason, as a 400 ValidationException", async () => {
    await assert.rejects(cairn(["sigma", "add", PLACEHOLDER]), (error: { code: number; stderr: string }) => {
      assert.equal(error.code, 1);
      assert.match(error.stderr, /answered 400: ValidationException The Sigma rule is refused: .*\|expand/);
      return true;
    });
  });

  it("adds two SigmaHQ rules to the account and lists them; the other account sees none", async () => {
    const added = await cairn(["sigma", "add", DISABLE_LOGGING, DOWNLOAD_USERDATA]);
    assert.match(added.stdout, /Added 4db60cc0-36fb-42b7-9b58-a5b53019fb74 +AWS CloudTrail Important Change/);
    assert.match(added.stdout, /Added 26ff4080-194e-47e7-9889-ef7602efed0c +AWS EC2 Download Userdata/);
    const listed = jsonLines((await cairn(["sigma", "list", "--json"])).stdout);
    assert.deepEqual(
      listed.map((rule) => (rule as unknown as { id: string }).id),
      [DOWNLOAD_USERDATA_ID, DISABLE_LOGGING_ID],
    );
    assert.equal((await cairn(["sigma", "list", "--json"], other)).stdout, "");
    await assert.rejects(cairn(["sigma", "remove", DISABLE_LOGGING_ID], other), /ResourceNotFoundException/);
  });

  it("matches live across a restart in the middle of the correlation's window, as `sigma test` does", async () => {
    await ingest(beforeRestart);
    await ingest(otherRecords);
    await caughtUp();
    const early = await matches();
    assert.deepEqual(early.map((match) => match.title).sort(), [
      "AWS CloudTrail Important Change",
      "AWS VPC Flow Logs Deleted",
    ]);
    await server.stop();
    await start();
    await ingest(afterRestart);
    const live = await pollUntil(
      async () => {
        const listed = await matches();
        return listed.some((match) => match.ruleId === DOWNLOAD_USERDATA_ID) && listed;
      },
      { message: "the correlation to fire after the restart" },
    );
    await caughtUp();
    const final = await matches();
    assert.deepEqual(final.slice(0, 2), early, "matches before the restart are kept, not stored again");
    assert.equal(final.filter((match) => match.ruleId === DOWNLOAD_USERDATA_ID).length, 1);
    assert.ok(live.length <= final.length);

    const recordsFile = join(dataDir, "..", `${dataDir.split("/").pop()}-records.json`);
    writeFileSync(recordsFile, JSON.stringify({ Records: [...beforeRestart, ...afterRestart] }));
    try {
      const tested = jsonLines(
        (
          await execFileAsync(process.execPath, [
            CLI,
            ...[
              "sigma",
              "test",
              DISABLE_LOGGING,
              DOWNLOAD_USERDATA,
              FLOW_LOGS_DELETED,
              "--records",
              recordsFile,
              "--json",
            ],
          ])
        ).stdout,
      );
      assert.equal(tested.length, 3);
      assert.deepEqual(final.map(keyOf).sort(), tested.map(keyOf).sort());
      for (const match of final) assert.ok(Date.parse(match.matchedAt!) >= nowMs - 60_000);
    } finally {
      removeDataDir(recordsFile);
    }
  });

  it("keeps the other account's records from the first account's rules; the server-wide rule fires for both", async () => {
    const otherMatches = await matches(other);
    assert.deepEqual(
      otherMatches.map((match) => match.title),
      ["AWS VPC Flow Logs Deleted"],
    );
    assert.ok(otherRecords.some((record) => record["eventID"] === otherMatches[0]!.eventID));
    const mine = await matches(admin, ["--rule", DISABLE_LOGGING_ID]);
    assert.deepEqual(
      mine.map((match) => match.eventID),
      [stop[0]!["eventID"]],
    );
  });

  it("authorises each call as its own action: AWSCloudTrail_ReadOnlyAccess lists, only a writer adds or removes", async () => {
    const reader = await addPrincipal(dataDir, {
      name: "sigma-reader",
      accountId: TEST_ACCOUNT_ID,
      policyArns: ["arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess"],
    });
    assert.equal(jsonLines((await cairn(["sigma", "list", "--json"], reader)).stdout).length, 2);
    assert.equal((await matches(reader)).length, 3);
    await assert.rejects(
      cairn(["sigma", "add", DISABLE_LOGGING], reader),
      /403: AccessDeniedException.*cloudtrail:PutSigmaRule/,
    );
    await assert.rejects(
      cairn(["sigma", "remove", DISABLE_LOGGING_ID], reader),
      /403: AccessDeniedException.*cloudtrail:DeleteSigmaRule/,
    );
  });

  it("enforces its input limits with AWS-shaped 400s", async () => {
    const refusal = async (request: Parameters<typeof sendRaw>[1]) => {
      const response = await sendRaw(server.url, request);
      return [response.status, response.json()["__type"]];
    };
    const rule = readFileSync(DISABLE_LOGGING, "utf8");
    const oversized = rule + `# ${"x".repeat(65_536)}\n`;
    const put = (body: string) => ({ ...admin, method: "PUT", path: "/sigma/rules", body });
    assert.deepEqual(await refusal(put(oversized)), [400, "ValidationException"]);
    assert.deepEqual(await refusal(put("")), [400, "ValidationException"]);
    assert.deepEqual(await refusal(put("title: [unclosed")), [400, "ValidationException"]);
    const list = (query: Record<string, string>) => ({ ...admin, method: "GET", path: "/sigma/matches", query });
    assert.deepEqual(await refusal(list({ maxResults: "0" })), [400, "InvalidMaxResultsException"]);
    assert.deepEqual(await refusal(list({ maxResults: "1001" })), [400, "InvalidMaxResultsException"]);
    assert.deepEqual(await refusal(list({ nextToken: "abc" })), [400, "InvalidNextTokenException"]);
    assert.deepEqual(await refusal(list({ startTime: "yesterday" })), [400, "InvalidTimeRangeException"]);
    assert.deepEqual(await refusal(list({ startTime: "2026-01-02T00:00:00Z", endTime: "2026-01-01T00:00:00Z" })), [
      400,
      "InvalidTimeRangeException",
    ]);
    const remove = { ...admin, method: "DELETE", path: "/sigma/rules", query: { id: "x".repeat(257) } };
    assert.deepEqual(await refusal(remove), [400, "ValidationException"]);
  });

  it("records every call under its own eventName", async () => {
    for (const name of ["PutSigmaRule", "ListSigmaRules", "DeleteSigmaRule", "ListSigmaMatches"]) {
      const lookup = { LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: name }] };
      await pollUntil(
        async () => {
          const response = await sendRaw(server.url, cloudTrailCall("LookupEvents", lookup, admin));
          return ((response.json()["Events"] ?? []) as unknown[]).length > 0;
        },
        { message: `a ${name} record in Event history` },
      );
    }
  });

  it("removes a rule from the account", async () => {
    await cairn(["sigma", "remove", DISABLE_LOGGING_ID]);
    const listed = jsonLines((await cairn(["sigma", "list", "--json"])).stdout);
    assert.deepEqual(
      listed.map((rule) => (rule as unknown as { id: string }).id),
      [DOWNLOAD_USERDATA_ID],
    );
  });
});
