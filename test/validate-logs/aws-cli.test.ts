import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { gunzipSync, gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { runValidateLogs } from "../../src/cli/commands/validate-logs.js";
import { collectOutput } from "../../src/cli/output.js";
import { secondStamp } from "../../src/model/trail-object-key.js";
import { digestTime } from "../../src/model/digest-format.js";
import { digestKeyStamp, stampMs } from "../../src/cli/validate-logs/digest-chain.js";
import { startS3Server, type S3Server } from "../../src/http/s3-server/start-s3-server.js";
import { awsCliMissingReason } from "../helpers/aws-cli.js";
import { openS3Access, type S3Access } from "../helpers/s3-access.js";
import { BUCKET } from "../consumers/trails/harness.js";
import { startCloudTrailStub } from "./cloudtrail-stub.js";
import { history, type History } from "./fixture.js";

const execFileAsync = promisify(execFile);
// The SDK (cairn validate-logs) warns about Node 20 on every client; Cairn supports Node 20.
process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] = "true";
const T0 = Date.UTC(2025, 5, 10, 6, 0, 0);
const skip = awsCliMissingReason();

describe("the real AWS CLI accepts Cairn's digests and log files", { skip }, () => {
  let h: History;
  let s3: S3Server;
  let access: S3Access;
  let cloudTrail: { url: string; close(): Promise<void> };

  before(async () => {
    h = await history(T0, { s3KeyPrefix: "audit/cairn" });
    const d = await h.restart();
    for (let i = 0; i < 5; i++) await h.hour(d);
    // The trail's account owns the bucket; the validators read it with that account's keys.
    access = await openS3Access(h.ws.dir, [BUCKET]);
    s3 = await startS3Server({
      store: h.ws.store,
      host: "127.0.0.1",
      port: 0,
      listBuckets: () => h.ws.store.listBuckets(),
      principals: access.principals,
      owners: access.owners,
      authorizer: access.authorizer,
    });
    cloudTrail = await startCloudTrailStub(h.keys, () => [h.trail]);
  });
  after(async () => {
    await s3?.close();
    await access?.close();
    await cloudTrail?.close();
    h?.ws.cleanup();
  });

  const range = () => ["--start-time", digestTime(T0), "--end-time", digestTime(h.clock.nowMs())];

  async function aws(keys = access.owner): Promise<{ code: number; stdout: string; stderr: string }> {
    const args = ["cloudtrail", "validate-logs", "--trail-arn", h.trail.trailArn, ...range(), "--verbose"];
    args.push("--endpoint-url", cloudTrail.url, "--region", "us-east-1");
    try {
      const { stdout, stderr } = await execFileAsync("aws", args, {
        env: {
          PATH: process.env["PATH"] ?? "",
          HOME: h.ws.dir,
          AWS_ACCESS_KEY_ID: keys.accessKeyId,
          AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
          AWS_CONFIG_FILE: join(h.ws.dir, "no-config"),
          AWS_SHARED_CREDENTIALS_FILE: join(h.ws.dir, "no-credentials"),
          AWS_ENDPOINT_URL_S3: s3.url,
        },
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failure = error as { code?: number; stdout?: string; stderr?: string };
      return {
        code: typeof failure.code === "number" ? failure.code : -1,
        stdout: failure.stdout ?? "",
        stderr: failure.stderr ?? "",
      };
    }
  }

  /** `cairn validate-logs` over the same endpoints, for a line-by-line comparison. */
  async function cairn(): Promise<{ code: number; stdout: string; stderr: string }> {
    const stdout = collectOutput();
    const stderr = collectOutput();
    const code = await runValidateLogs({
      flags: {
        trailArn: h.trail.trailArn,
        startTime: digestTime(T0),
        endTime: digestTime(h.clock.nowMs()),
        verbose: true,
        endpointUrl: cloudTrail.url,
        s3EndpointUrl: s3.url,
        region: "us-east-1",
      },
      env: { AWS_ACCESS_KEY_ID: access.owner.accessKeyId, AWS_SECRET_ACCESS_KEY: access.owner.secretAccessKey },
      stdout,
      stderr,
    });
    return { code, stdout: stdout.text(), stderr: stderr.text() };
  }

  it("accepts untouched output (exit 0, every digest and log file valid), and cairn says the same", async () => {
    const result = await aws();
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.match(result.stdout, /\n5\/5 digest files valid\n5\/5 log files valid\n$/);
    assert.equal(
      (result.stdout.match(/^Digest file\ts3:\/\/trail-bucket\/audit\/cairn\/AWSLogs\/.*\tvalid$/gm) ?? []).length,
      5,
    );
    const ours = await cairn();
    assert.deepEqual(ours, result);
  });

  it("flags a modified log file, a deleted log file, a deleted digest and a moved digest (exit 1), as cairn does", async () => {
    const list = async (folder: string) =>
      (await h.ws.store.listObjects(BUCKET, { prefix: `audit/cairn/AWSLogs/111122223333/${folder}/` })).objects.map(
        (o) => o.key,
      );
    const digests = await list("CloudTrail-Digest");
    const logs = await list("CloudTrail");
    const original = (await h.ws.store.getObject(BUCKET, logs[4]!))!;
    const tampered = gunzipSync(original.body).toString("utf8").replace("DescribeInstances", "DeleteTrail");
    await h.ws.store.putObject(BUCKET, logs[4]!, gzipSync(tampered), { contentEncoding: "gzip" });
    await h.ws.store.deleteObject(BUCKET, logs[2]!);
    await h.ws.store.deleteObject(BUCKET, digests[1]!);
    const moved = (await h.ws.store.getObject(BUCKET, digests[3]!))!;
    const stamp = digestKeyStamp(digests[3]!);
    const movedKey = digests[3]!.replace(stamp, secondStamp(stampMs(stamp) - 1000));
    await h.ws.store.putObject(BUCKET, movedKey, moved.body, { metadata: moved.metadata, contentEncoding: "gzip" });
    await h.ws.store.deleteObject(BUCKET, digests[3]!);

    const result = await aws();
    assert.equal(result.code, 1, result.stdout);
    const line = (what: string, key: string, problem: string) => `${what}\ts3://${BUCKET}/${key}\tINVALID: ${problem}`;
    assert.ok(result.stderr.includes(line("Log file", logs[4]!, "hash value doesn't match")), result.stderr);
    assert.ok(result.stderr.includes(line("Log file", logs[2]!, "not found")), result.stderr);
    assert.ok(result.stderr.includes(line("Digest file", digests[1]!, "not found")), result.stderr);
    assert.ok(result.stderr.includes(line("Digest file", digests[3]!, "not found")), result.stderr);
    assert.ok(
      result.stderr.includes(line("Digest file", movedKey, "has been moved from its original location")),
      result.stderr,
    );
    assert.match(
      result.stdout,
      /\n3\/6 digest files valid, 3\/6 digest files INVALID\n1\/3 log files valid, 2\/3 log files INVALID\n$/,
    );
    const ours = await cairn();
    assert.deepEqual(ours, result);
  });

  it("cannot read the trail's files with another account's keys", async () => {
    const result = await aws(access.stranger);
    assert.notEqual(result.code, 0, result.stdout);
    assert.match(result.stderr, /AccessDenied/);
    assert.doesNotMatch(result.stdout, /valid/);
  });
});
