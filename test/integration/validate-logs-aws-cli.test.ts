import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { removeDataDir, startServerProcess, TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";
import { embeddedOnly } from "../helpers/test-backend.js";
import { awsCliMissingReason, runAws, runCommand, type AwsCliResult } from "../helpers/aws-cli.js";
import { CLI } from "../helpers/server-process.js";
import { motoMissingReason, startMotoServer, type MotoServer } from "../storage/moto-server.js";
import { pollUntil } from "../helpers/poll.js";
import { addPrincipal } from "../helpers/principals.js";

/**
 * Issue "Trails", the acceptance test: the real `aws cloudtrail validate-logs` says every file Cairn
 * delivered is valid, and names each log file or digest someone modified, deleted or moved. Once
 * with the embedded buckets (read through Cairn's read-only S3 endpoint), once with an external S3
 * (moto_server) as the trail's storage.
 */
const BUCKET = "audit-logs";
const LOG_PREFIX = `AWSLogs/${TEST_ACCOUNT_ID}/CloudTrail/`;
const DIGEST_PREFIX = `AWSLogs/${TEST_ACCOUNT_ID}/CloudTrail-Digest/`;
const TRAIL = "audit";
/** Files and digests land within a few delivery intervals. */
const DELIVERY_WAIT = { timeoutMs: 30_000, intervalMs: 250 };

/** The bucket as the tamperer sees it: files on disk for the embedded store, S3 calls for moto. */
interface Tamperer {
  keys(prefix: string): Promise<string[]>;
  read(key: string): Promise<Buffer>;
  write(key: string, body: Buffer): Promise<void>;
  move(from: string, to: string): Promise<void>;
}

function embeddedTamperer(dataDir: string): Tamperer {
  const root = join(dataDir, "buckets");
  const body = (key: string): string => join(root, BUCKET, key);
  const meta = (key: string): string => join(root, ".metadata", BUCKET, key);
  const walk = (dir: string, prefix: string): string[] =>
    existsSync(dir)
      ? readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? walk(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
        )
      : [];
  return {
    keys: async (prefix) =>
      walk(join(root, BUCKET), "")
        .filter((k) => k.startsWith(prefix))
        .sort(),
    read: async (key) => readFileSync(body(key)),
    write: async (key, data) => writeFileSync(body(key), data),
    move: async (from, to) => {
      mkdirSync(dirname(body(to)), { recursive: true });
      mkdirSync(dirname(meta(to)), { recursive: true });
      renameSync(body(from), body(to));
      if (existsSync(meta(from))) renameSync(meta(from), meta(to));
    },
  };
}

function s3Tamperer(client: S3Client): Tamperer {
  return {
    keys: async (prefix) => {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix, ContinuationToken: token }),
        );
        out.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.NextContinuationToken;
      } while (token);
      return out.sort();
    },
    read: async (key) =>
      Buffer.from(
        await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray(),
      ),
    write: async (key, data) => {
      const existing = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: data, Metadata: existing.Metadata }));
    },
    move: async (from, to) => {
      await client.send(
        new CopyObjectCommand({ Bucket: BUCKET, Key: to, CopySource: `${BUCKET}/${from}`, MetadataDirective: "COPY" }),
      );
      await client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: from }));
    },
  };
}

function runCairn(args: string[]): Promise<AwsCliResult> {
  return runCommand(process.execPath, [CLI, ...args], { PATH: process.env["PATH"] ?? "" });
}

/**
 * A log file that a digest lists: the validator only checks files some digest covers, and a file
 * delivered after the last digest (or ordered first by its random key suffix) may be covered by none.
 */
async function coveredLogFile(tamperer: Tamperer): Promise<string> {
  for (const digestKey of (await tamperer.keys(DIGEST_PREFIX)).reverse()) {
    const digest = JSON.parse(gunzipSync(await tamperer.read(digestKey)).toString("utf8")) as {
      logFiles: Array<{ s3Object: string }>;
    };
    if (digest.logFiles.length > 0) return digest.logFiles[0]!.s3Object;
  }
  throw new Error("No digest lists a log file.");
}

function validationScenario(
  name: string,
  setup: () => Promise<{ server: ServerProcess; s3Url: string; tamperer: Tamperer; cleanup: () => Promise<void> }>,
  skip: string | false,
  /** Whether the files are read through Cairn's own S3 endpoint, which serves each account its own buckets. */
  servedByCairn: boolean,
): void {
  describe(`aws cloudtrail validate-logs against Cairn (${name})`, { skip }, () => {
    let server: ServerProcess;
    let s3Url: string;
    let tamperer: Tamperer;
    let cleanup: () => Promise<void>;
    let startTime: string;
    let trailArn: string;
    let cli: (args: string[]) => Promise<AwsCliResult>;

    before(async () => {
      ({ server, s3Url, tamperer, cleanup } = await setup());
      const endpoint = ["--endpoint-url", server.url, "--region", "us-east-1"];
      cli = (args) => runAws(server.dataDir, [...args, ...endpoint], { AWS_ENDPOINT_URL_S3: s3Url });
      startTime = new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
      const created = await cli([
        "cloudtrail",
        "create-trail",
        "--name",
        TRAIL,
        "--s3-bucket-name",
        BUCKET,
        "--is-multi-region-trail",
        "--enable-log-file-validation",
      ]);
      assert.equal(created.code, 0, created.stderr);
      trailArn = (JSON.parse(created.stdout) as { TrailARN: string }).TrailARN;
      assert.equal((await cli(["cloudtrail", "start-logging", "--name", TRAIL])).code, 0);
      await pollUntil(
        async () => {
          // Calls spread over time land in several files (one per delivery interval).
          assert.equal((await cli(["cloudtrail", "describe-trails"])).code, 0);
          return (await tamperer.keys(LOG_PREFIX)).length >= 2;
        },
        { ...DELIVERY_WAIT, message: "two log files" },
      );
      await pollUntil(async () => (await tamperer.keys(DIGEST_PREFIX)).length >= 3, {
        ...DELIVERY_WAIT,
        message: "three digests",
      });
      // Freeze the trail so that no new file or digest lands while the test tampers with the bucket.
      assert.equal((await cli(["cloudtrail", "stop-logging", "--name", TRAIL])).code, 0);
      await new Promise((resolve) => setTimeout(resolve, 2_500));
    });

    after(async () => {
      await server?.stop();
      await cleanup?.();
      if (server) removeDataDir(server.dataDir);
    });

    /**
     * Runs the real AWS CLI validator and `cairn validate-logs` on the same bucket state; they must
     * agree on the exit status, every INVALID line and the summary. Returns the AWS CLI's result.
     */
    const validate = async (): Promise<AwsCliResult> => {
      const [aws, cairn] = await Promise.all([validateWithAwsCli(), validateWithCairn()]);
      assert.equal(cairn.code, aws.code, `cairn validate-logs exit status\n${cairn.stdout}\n${cairn.stderr}`);
      const invalidLines = (text: string): string[] =>
        text
          .split("\n")
          .filter((l) => l.includes("INVALID"))
          .sort();
      assert.deepEqual(invalidLines(cairn.stderr), invalidLines(aws.stderr));
      const summary = (text: string): string[] => text.split("\n").filter((l) => / files valid|Results found/.test(l));
      assert.deepEqual(summary(cairn.stdout), summary(aws.stdout));
      return aws;
    };
    const validateWithCairn = (): Promise<AwsCliResult> =>
      runCairn([
        "validate-logs",
        "--trail-arn",
        trailArn,
        "--start-time",
        startTime,
        "--verbose",
        "--endpoint-url",
        server.url,
        "--region",
        "us-east-1",
        "--data-dir",
        server.dataDir,
        "--s3-endpoint-url",
        s3Url,
      ]);
    const validateWithAwsCli = (): Promise<AwsCliResult> =>
      cli(["cloudtrail", "validate-logs", "--trail-arn", trailArn, "--start-time", startTime, "--verbose"]);

    it("says every delivered file is valid", async () => {
      const result = await validate();
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      const digests = /(\d+)\/(\d+) digest files valid/.exec(result.stdout);
      const logs = /(\d+)\/(\d+) log files valid/.exec(result.stdout);
      assert.ok(digests && Number(digests[1]) >= 2 && digests[1] === digests[2], result.stdout);
      assert.ok(logs && Number(logs[1]) >= 1 && logs[1] === logs[2], result.stdout);
      assert.doesNotMatch(result.stdout + result.stderr, /INVALID/);
    });

    it("names a modified log file", async () => {
      const key = await coveredLogFile(tamperer);
      const original = await tamperer.read(key!);
      const document = JSON.parse(gunzipSync(original).toString("utf8")) as { Records: Array<Record<string, unknown>> };
      document.Records[0]!["sourceIPAddress"] = "203.0.113.66";
      await tamperer.write(key!, gzipSync(JSON.stringify(document)));
      try {
        const result = await validate();
        assert.equal(result.code, 1);
        assert.match(
          result.stderr,
          new RegExp(`Log file\\ts3://${BUCKET}/${key!.replace(/[.]/g, "\\.")}\\tINVALID: hash value doesn't match`),
        );
      } finally {
        await tamperer.write(key!, original);
      }
    });

    it("names a deleted log file", async () => {
      const key = await coveredLogFile(tamperer);
      const original = await tamperer.read(key!);
      // Out of its key is deleted, as far as any reader can tell; moving it aside lets the test put it back.
      await tamperer.move(key!, `${key!}.aside`);
      try {
        const result = await validate();
        assert.equal(result.code, 1);
        assert.match(result.stderr, new RegExp(`Log file\\ts3://${BUCKET}/${escape(key!)}\\tINVALID: not found`));
      } finally {
        await tamperer.move(`${key!}.aside`, key!);
        assert.deepEqual(await tamperer.read(key!), original);
      }
    });

    it("names a deleted digest file", async () => {
      const digests = await tamperer.keys(DIGEST_PREFIX);
      // The newest digest points at this one; deleting the newest would only shorten the chain.
      const key = digests.at(-2)!;
      const original = await tamperer.read(key);
      await tamperer.move(key, `${key}.aside`);
      try {
        const result = await validate();
        assert.equal(result.code, 1);
        assert.match(result.stderr, new RegExp(`Digest file\\ts3://${BUCKET}/${escape(key)}\\tINVALID: not found`));
      } finally {
        await tamperer.move(`${key}.aside`, key);
        assert.deepEqual(await tamperer.read(key), original);
      }
    });

    it("names a moved digest file", async () => {
      const digests = await tamperer.keys(DIGEST_PREFIX);
      const key = digests.at(-1)!;
      // A later timestamp keeps the moved digest the newest in the listing, where the validator starts.
      const movedKey = key.replace(/_(\d{8}T\d{6}Z)\.json\.gz$/, (_m, stamp: string) => `_${later(stamp)}.json.gz`);
      await tamperer.move(key, movedKey);
      try {
        const result = await validate();
        assert.equal(result.code, 1);
        assert.match(
          result.stderr,
          new RegExp(
            `Digest file\\ts3://${BUCKET}/${escape(movedKey)}\\tINVALID: has been moved from its original location`,
          ),
        );
      } finally {
        await tamperer.move(movedKey, key);
      }
      const clean = await validate();
      assert.equal(clean.code, 0, "valid again once every file is back");
    });

    // Only where Cairn's S3 endpoint serves the files: an external endpoint's access is its own business.
    const servedOnly = servedByCairn ? it : () => undefined;
    servedOnly("cannot read the trail's files with another account's keys", async () => {
      const stranger = await addPrincipal(server.dataDir, { name: "stranger", accountId: "210987654321" });
      const asStranger = {
        AWS_ENDPOINT_URL_S3: s3Url,
        AWS_ACCESS_KEY_ID: stranger.accessKeyId,
        AWS_SECRET_ACCESS_KEY: stranger.secretAccessKey,
      };
      // --s3-bucket: the stranger cannot see the trail (DescribeTrails), so it names the bucket itself.
      const aws = await runAws(
        server.dataDir,
        [
          "cloudtrail",
          "validate-logs",
          "--trail-arn",
          trailArn,
          "--start-time",
          startTime,
          "--s3-bucket",
          BUCKET,
          "--endpoint-url",
          server.url,
          "--region",
          "us-east-1",
        ],
        asStranger,
      );
      assert.notEqual(aws.code, 0, aws.stdout);
      assert.match(aws.stderr, /AccessDenied/);
      assert.doesNotMatch(aws.stdout, / files valid/);
      const listing = await runAws(
        server.dataDir,
        ["s3", "ls", `s3://${BUCKET}/`, "--recursive", "--endpoint-url", s3Url],
        asStranger,
      );
      assert.notEqual(listing.code, 0);
      assert.match(listing.stderr, /AccessDenied/);
      assert.equal(listing.stdout, "");
      const own = await runAws(server.dataDir, ["s3", "ls", "--endpoint-url", s3Url], asStranger);
      assert.equal(own.code, 0, own.stderr);
      assert.equal(own.stdout, "", "the stranger's account owns no bucket");
      const admin = await runAws(server.dataDir, ["s3", "ls", "--endpoint-url", s3Url]);
      assert.match(admin.stdout, new RegExp(` ${BUCKET}\n$`), "the trail's account sees its bucket");
    });
  });
}

function escape(key: string): string {
  return key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** One minute after a digest key's `YYYYMMDDTHHMMSSZ` stamp. */
function later(stamp: string): string {
  const ms = Date.parse(
    `${stamp.slice(0, 4)}-${stamp.slice(4, 6)}-${stamp.slice(6, 8)}T${stamp.slice(9, 11)}:${stamp.slice(11, 13)}:${stamp.slice(13, 15)}Z`,
  );
  return new Date(ms + 60_000)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}Z$/, "Z");
}

const cliSkip = awsCliMissingReason();

validationScenario(
  "embedded buckets",
  async () => {
    const server = await startServerProcess({
      env: { CAIRN_DELIVERY_INTERVAL_SECONDS: "1", CAIRN_DIGEST_INTERVAL_SECONDS: "2" },
    });
    assert.ok(server.s3Url, "the server prints its S3 endpoint");
    return { server, s3Url: server.s3Url, tamperer: embeddedTamperer(server.dataDir), cleanup: async () => undefined };
  },
  cliSkip || embeddedOnly("Cairn's own S3 endpoint, tampered with in the data dir"),
  true,
);

validationScenario(
  "external S3 (moto_server)",
  async () => {
    const moto: MotoServer = await startMotoServer();
    const client = new S3Client({
      endpoint: moto.endpoint,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: { accessKeyId: "x", secretAccessKey: "y" },
    });
    await client.send(new CreateBucketCommand({ Bucket: BUCKET }));
    const server = await startServerProcess({
      env: {
        CAIRN_DELIVERY_INTERVAL_SECONDS: "1",
        CAIRN_DIGEST_INTERVAL_SECONDS: "2",
        CAIRN_S3_ENDPOINT: moto.endpoint,
        CAIRN_S3_ACCESS_KEY_ID: "x",
        CAIRN_S3_SECRET_ACCESS_KEY: "y",
        CAIRN_S3_FORCE_PATH_STYLE: "true",
      },
    });
    const cleanup = async (): Promise<void> => {
      client.destroy();
      await moto.stop();
    };
    return { server, s3Url: moto.endpoint, tamperer: s3Tamperer(client), cleanup };
  },
  cliSkip || motoMissingReason(),
  false,
);
