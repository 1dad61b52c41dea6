import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { awsCliMissingReason } from "../helpers/aws-cli.js";
import { type ServerProcess } from "../helpers/server-process.js";
import { motoMissingReason } from "../storage/moto-server.js";
import { pollUntil } from "../helpers/poll.js";
import {
  awsJsonViaProxy,
  journalRecords,
  startProxyStack,
  type ProxyProcess,
  type ProxyStack,
} from "./proxy-process.js";

/**
 * Timestamp members through the real stack: the AWS CLI → `cairn proxy` → moto_server, records read
 * from the server's journal. Each recorded instant is checked against the one the CLI printed (the
 * upstream's answer), read back with V8's own date parser rather than Cairn's.
 */
const skip = awsCliMissingReason() || motoMissingReason();
const REGION = "us-east-1";
/** Java's default medium date-time text, as CloudTrail's IAM, STS, RDS, SSM… records hold it. */
const LEGACY_TEXT = /^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{1,2}, \d{4} \d{1,2}:\d{2}:\d{2} [AP]M$/;

type EventRecord = Record<string, unknown> & {
  requestParameters?: Record<string, unknown> | null;
  responseElements?: Record<string, unknown> | null;
};

/** The instant of a legacy text, to the second, read by V8 (`Jul 10, 2023 11:55:10 AM UTC`). */
function legacyInstantMs(text: unknown): number {
  assert.equal(typeof text, "string");
  assert.match(text as string, LEGACY_TEXT);
  const ms = Date.parse(`${text as string} UTC`);
  assert.ok(Number.isFinite(ms), `V8 cannot read ${text as string}`);
  return ms;
}

/** What the CLI printed (ISO 8601 from XML, epoch seconds from JSON), in whole milliseconds. */
function cliInstantMs(printed: unknown): number {
  const ms = typeof printed === "number" ? Math.round(printed * 1000) : Date.parse(String(printed));
  assert.ok(Number.isFinite(ms), `the CLI printed no instant: ${String(printed)}`);
  return ms;
}

describe("cairn proxy: timestamp members as CloudTrail renders them (AWS CLI → proxy → moto)", { skip }, () => {
  let server: ServerProcess | undefined;
  let proxy: ProxyProcess | undefined;
  let stack: ProxyStack | undefined;

  const cli = (args: string[]): Promise<Record<string, unknown>> => awsJsonViaProxy(stack!, args, { region: REGION });

  /**
   * The proxy's record of a call whose requestParameters hold `expected`: the server records its own
   * IAM calls too (`principal add` created "alice" with CreateUser), and those are not the proxy's.
   */
  const recorded = (eventSource: string, eventName: string, expected: Record<string, unknown> = {}) =>
    pollUntil(
      async () =>
        (await journalRecords(server!.url, server!.dataDir)).find(
          (record) =>
            record["eventSource"] === eventSource &&
            record["eventName"] === eventName &&
            Object.entries(expected).every(
              ([name, value]) => (record["requestParameters"] as Record<string, unknown> | null)?.[name] === value,
            ),
        ) as EventRecord | undefined,
      { timeoutMs: 15_000, message: () => `the proxy's ${eventName} record. Proxy output:\n${proxy?.output()}` },
    );

  before(async () => {
    stack = await startProxyStack();
    ({ server, proxy } = stack);
  });

  after(async () => {
    await stack?.stop();
  });

  it("IAM CreateUser (query): user.createDate as `MMM d, yyyy h:mm:ss a`", async () => {
    const printed = await cli(["iam", "create-user", "--user-name", "ts-bob"]);
    const event = await recorded("iam.amazonaws.com", "CreateUser", { userName: "ts-bob" });
    const user = event.responseElements?.["user"] as Record<string, unknown>;
    const printedMs = cliInstantMs((printed["User"] as Record<string, unknown>)["CreateDate"]);
    assert.equal(legacyInstantMs(user["createDate"]), Math.floor(printedMs / 1000) * 1000);
  });

  it("EC2 CreateVolume (ec2): createTime as a number of epoch milliseconds", async () => {
    const printed = await cli(["ec2", "create-volume", "--availability-zone", `${REGION}a`, "--size", "1"]);
    const event = await recorded("ec2.amazonaws.com", "CreateVolume");
    const createTime = event.responseElements?.["createTime"];
    assert.equal(typeof createTime, "number");
    assert.ok(Number.isInteger(createTime));
    assert.equal(createTime, cliInstantMs(printed["CreateTime"]));
  });

  it("SSM SendCommand (json, epoch seconds on the wire): command.requestedDateTime as legacy text", async () => {
    const printed = await cli([
      "ssm",
      "send-command",
      "--document-name",
      "AWS-RunShellScript",
      "--instance-ids",
      "i-0123456789abcdef0",
      "--parameters",
      "commands=uptime",
    ]);
    const event = await recorded("ssm.amazonaws.com", "SendCommand");
    const command = event.responseElements?.["command"] as Record<string, unknown>;
    const printedCommand = printed["Command"] as Record<string, unknown>;
    const printedMs = cliInstantMs(printedCommand["RequestedDateTime"]);
    assert.equal(legacyInstantMs(command["requestedDateTime"]), Math.floor(printedMs / 1000) * 1000);
    const expiresMs = cliInstantMs(printedCommand["ExpiresAfter"]);
    assert.equal(legacyInstantMs(command["expiresAfter"]), Math.floor(expiresMs / 1000) * 1000);
  });

  it("KMS ScheduleKeyDeletion (json): deletionDate as legacy text", async () => {
    const key = (await cli(["kms", "create-key"]))["KeyMetadata"] as Record<string, unknown>;
    const printed = await cli([
      "kms",
      "schedule-key-deletion",
      "--key-id",
      String(key["KeyId"]),
      "--pending-window-in-days",
      "7",
    ]);
    const event = await recorded("kms.amazonaws.com", "ScheduleKeyDeletion");
    const printedMs = cliInstantMs(printed["DeletionDate"]);
    assert.equal(legacyInstantMs(event.responseElements?.["deletionDate"]), Math.floor(printedMs / 1000) * 1000);
  });
});
