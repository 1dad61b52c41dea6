import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { awsCliMissingReason } from "../helpers/aws-cli.js";
import type { Credentials } from "../helpers/s3-access.js";
import {
  BUCKET,
  OTHER_BUCKET,
  OTHER_KEY,
  DIGEST_BODY,
  DIGEST_KEY,
  LOG_KEY,
  MANY_COUNT,
  SIGNATURE,
  SPECIAL_KEY,
  manyKey,
  startServedStore,
  type ServedStore,
} from "./s3-server-fixture.js";

const execFileAsync = promisify(execFile);
const awsMissing = awsCliMissingReason();

function boto3MissingReason(): string | false {
  const probe = spawnSync("python3", ["-c", "import boto3"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    const reason = "SKIPPED LOUDLY: python3 with boto3 is not installed; the boto3 paginator check needs it.";
    process.stderr.write(`\n*** ${reason} ***\n\n`);
    return reason;
  }
  return false;
}

/** A principal's keys and no config files, so nothing on this machine points the CLI elsewhere. */
function cleanAwsEnvironment(keys: Credentials, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith("AWS_")) env[name] = value;
  return {
    ...env,
    AWS_ACCESS_KEY_ID: keys.accessKeyId,
    AWS_SECRET_ACCESS_KEY: keys.secretAccessKey,
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/nonexistent/cairn-test-config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/cairn-test-credentials",
    AWS_EC2_METADATA_DISABLED: "true",
    ...extra,
  };
}

interface Run {
  code: number;
  stdout: Buffer;
  stderr: string;
}

async function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      env,
      encoding: "buffer",
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr: stderr.toString() };
  } catch (error) {
    const failure = error as { code?: number; stdout?: Buffer; stderr?: Buffer };
    return {
      code: typeof failure.code === "number" ? failure.code : 1,
      stdout: failure.stdout ?? Buffer.alloc(0),
      stderr: failure.stderr?.toString() ?? String(error),
    };
  }
}

describe("S3 server with the real AWS CLI", { skip: awsMissing }, () => {
  let served: ServedStore;
  let aws: (...args: string[]) => Promise<Run>;
  before(async () => {
    served = await startServedStore();
    aws = async (...args) => {
      const result = await run(
        "aws",
        [...args, "--endpoint-url", served.server.url],
        cleanAwsEnvironment(served.owner),
      );
      assert.equal(result.code, 0, `aws ${args.join(" ")} failed:\n${result.stderr}`);
      return result;
    };
  });
  after(() => served?.close());

  it("aws s3 ls lists buckets, and keys recursively under a prefix", async () => {
    const buckets = (await aws("s3", "ls")).stdout.toString();
    assert.match(
      buckets,
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d empty-bucket\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d trail-bucket\n$/,
    );
    const trail = (await aws("s3", "ls", `s3://${BUCKET}/AWSLogs/`, "--recursive")).stdout
      .toString()
      .trim()
      .split("\n");
    assert.equal(trail.length, 2);
    assert.match(
      trail[0]!,
      new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +${DIGEST_BODY.length} ${DIGEST_KEY}$`),
    );
    assert.ok(trail[1]!.endsWith(LOG_KEY));
    const many = (await aws("s3", "ls", `s3://${BUCKET}/many/`, "--recursive")).stdout.toString().trim().split("\n");
    assert.equal(many.length, MANY_COUNT);
    assert.ok(many[MANY_COUNT - 1]!.endsWith(manyKey(MANY_COUNT - 1)));
    const special = (await aws("s3", "ls", `s3://${BUCKET}/special/`)).stdout.toString();
    assert.ok(special.trimEnd().endsWith(` 7 ${SPECIAL_KEY.slice("special/".length)}`), special);
    const folders = (await aws("s3", "ls", `s3://${BUCKET}/`)).stdout.toString();
    assert.match(folders, /^ +PRE AWSLogs\/\n +PRE many\/\n +PRE special\/\n$/);
  });

  it("aws s3 cp streams an object to stdout byte for byte", async () => {
    const copied = await aws("s3", "cp", `s3://${BUCKET}/${DIGEST_KEY}`, "-");
    assert.deepEqual(copied.stdout, DIGEST_BODY);
    const special = await aws("s3", "cp", `s3://${BUCKET}/${SPECIAL_KEY}`, "-");
    assert.equal(special.stdout.toString(), "special");
  });

  it("aws s3api head-object shows the digest's signature metadata", async () => {
    const head = JSON.parse(
      (await aws("s3api", "head-object", "--bucket", BUCKET, "--key", DIGEST_KEY)).stdout.toString(),
    );
    assert.deepEqual(head.Metadata, { signature: SIGNATURE, "signature-algorithm": "SHA256withRSA" });
    assert.equal(head.ContentEncoding, "gzip");
    assert.equal(head.ContentLength, DIGEST_BODY.length);
    assert.match(head.ETag, /^"[0-9a-f]{32}"$/);
  });

  it("AWS_ENDPOINT_URL_S3 alone reaches it, as validate-logs needs: GetBucketLocation, ListObjects v1 paging", async () => {
    const env = cleanAwsEnvironment(served.owner, { AWS_ENDPOINT_URL_S3: served.server.url });
    const location = await run("aws", ["s3api", "get-bucket-location", "--bucket", BUCKET], env);
    assert.equal(location.code, 0, location.stderr);
    assert.deepEqual(JSON.parse(location.stdout.toString()), { LocationConstraint: null });
    const listed = await run(
      "aws",
      [
        "s3api",
        "list-objects",
        "--bucket",
        BUCKET,
        "--prefix",
        "many/",
        "--page-size",
        "300",
        "--query",
        "Contents[].Key",
      ],
      env,
    );
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      JSON.parse(listed.stdout.toString()),
      Array.from({ length: MANY_COUNT }, (_, i) => manyKey(i)),
    );
  });

  it("refuses uploads and deletes with MethodNotAllowed", async () => {
    const env = cleanAwsEnvironment(served.owner);
    const upload = await run(
      "aws",
      ["s3api", "put-object", "--bucket", BUCKET, "--key", "new", "--endpoint-url", served.server.url],
      env,
    );
    assert.notEqual(upload.code, 0);
    assert.match(upload.stderr, /MethodNotAllowed/);
    const remove = await run(
      "aws",
      ["s3", "rm", `s3://${BUCKET}/${LOG_KEY}`, "--endpoint-url", served.server.url],
      env,
    );
    assert.notEqual(remove.code, 0);
    assert.ok(await served.store.getObject(BUCKET, LOG_KEY));
  });

  it("shows another account's keys only that account's bucket, and refuses the rest with AccessDenied", async () => {
    const env = cleanAwsEnvironment(served.stranger);
    const endpoint = ["--endpoint-url", served.server.url];
    const buckets = await run("aws", ["s3", "ls", ...endpoint], env);
    assert.equal(buckets.code, 0, buckets.stderr);
    assert.match(buckets.stdout.toString(), new RegExp(`^\\S+ \\S+ ${OTHER_BUCKET}\n$`));
    const own = await run("aws", ["s3", "cp", `s3://${OTHER_BUCKET}/${OTHER_KEY}`, "-", ...endpoint], env);
    assert.equal(own.code, 0, own.stderr);
    for (const args of [
      ["s3", "ls", `s3://${BUCKET}/`, "--recursive"],
      ["s3", "cp", `s3://${BUCKET}/${DIGEST_KEY}`, "-"],
      ["s3api", "head-object", "--bucket", BUCKET, "--key", DIGEST_KEY],
      ["s3api", "get-bucket-location", "--bucket", BUCKET],
    ]) {
      const refused = await run("aws", [...args, ...endpoint], env);
      assert.notEqual(refused.code, 0, `aws ${args.join(" ")} succeeded with another account's keys`);
      assert.match(refused.stderr, /AccessDenied|Forbidden|403/, args.join(" "));
      assert.ok(!refused.stdout.toString().includes("AWSLogs"), args.join(" "));
    }
  });

  it("refuses unsigned requests (--no-sign-request) with AccessDenied", async () => {
    const env = cleanAwsEnvironment(served.owner);
    const endpoint = ["--endpoint-url", served.server.url, "--no-sign-request"];
    for (const args of [
      ["s3", "ls"],
      ["s3", "ls", `s3://${BUCKET}/`, "--recursive"],
      ["s3", "cp", `s3://${BUCKET}/${DIGEST_KEY}`, "-"],
    ]) {
      const refused = await run("aws", [...args, ...endpoint], env);
      assert.notEqual(refused.code, 0, `unsigned aws ${args.join(" ")} succeeded`);
      assert.match(refused.stderr, /AccessDenied|\(403\)/, args.join(" "));
      assert.equal(refused.stdout.length, 0, args.join(" "));
    }
  });
});

const BOTO3_SCRIPT = `
import json, sys, boto3
s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1")
pages = list(s3.get_paginator("list_objects").paginate(Bucket=sys.argv[2], Prefix="many/", PaginationConfig={"PageSize": 250}))
digest = s3.get_object(Bucket=sys.argv[2], Key=sys.argv[3])
top = s3.list_objects(Bucket=sys.argv[2], Delimiter="/")
print(json.dumps({
  "pages": len(pages),
  "markers": [page.get("Marker", "") for page in pages],
  "keys": [obj["Key"] for page in pages for obj in page.get("Contents", [])],
  "metadata": digest["Metadata"],
  "prefixes": [p["Prefix"] for p in top.get("CommonPrefixes", [])],
}))
`;

describe("S3 server with boto3", { skip: boto3MissingReason() }, () => {
  let served: ServedStore;
  before(async () => {
    served = await startServedStore();
  });
  after(() => served?.close());

  it("the list_objects paginator (v1, Marker) walks every key once", async () => {
    const result = await run(
      "python3",
      ["-c", BOTO3_SCRIPT, served.server.url, BUCKET, DIGEST_KEY],
      cleanAwsEnvironment(served.owner),
    );
    assert.equal(result.code, 0, result.stderr);
    const parsed = JSON.parse(result.stdout.toString()) as {
      pages: number;
      markers: string[];
      keys: string[];
      metadata: Record<string, string>;
      prefixes: string[];
    };
    assert.equal(parsed.pages, 5);
    assert.deepEqual(parsed.markers, ["", manyKey(249), manyKey(499), manyKey(749), manyKey(999)]);
    assert.deepEqual(
      parsed.keys,
      Array.from({ length: MANY_COUNT }, (_, i) => manyKey(i)),
    );
    assert.deepEqual(parsed.metadata, { signature: SIGNATURE, "signature-algorithm": "SHA256withRSA" });
    assert.deepEqual(parsed.prefixes, ["AWSLogs/", "many/", "special/"]);
  });
});
