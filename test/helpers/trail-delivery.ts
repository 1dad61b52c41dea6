import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { runAws, type AwsCliResult } from "./aws-cli.js";
import { pollUntil } from "./poll.js";
import { CloudTrailClient, CreateTrailCommand, StartLoggingCommand } from "@aws-sdk/client-cloudtrail";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { TEST_ACCESS_KEY_ID, TEST_ACCOUNT_ID, TEST_SECRET_ACCESS_KEY, type ServerProcess } from "./server-process.js";
import { ingestCall, sendRaw } from "./signed-request.js";
import { recentRecords, type RawRecord } from "./sample-records.js";

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };

/** Ingests `batches` × `size` management events of the test account; returns the acknowledged eventIDs. */
export async function ingestLoad(server: ServerProcess, batches: number, size: number): Promise<string[]> {
  const acknowledged: string[] = [];
  for (let batch = 0; batch < batches; batch++) acknowledged.push(...(await ingestBatch(server, size)));
  return acknowledged;
}

/** One gzip `POST /ingest` of `size` management events of the test account; asserts 200, returns their eventIDs. */
export async function ingestBatch(server: ServerProcess, size: number): Promise<string[]> {
  const records = recentRecords(size, { accountId: TEST_ACCOUNT_ID });
  const response = await sendRaw(server.url, ingestCall(records, admin, { gzip: true }));
  assert.equal(response.status, 200, response.text);
  return records.map((r) => r["eventID"] as string);
}

/** eventID → how many log files of `bucket` on an S3 endpoint hold it. */
export async function deliveredOnS3(s3: S3Client, bucket: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const key of await logFileKeysOnS3(s3, bucket)) {
    const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = gunzipSync(Buffer.from(await body.Body!.transformToByteArray())).toString("utf8");
    for (const record of (JSON.parse(text) as { Records: RawRecord[] }).Records) {
      const id = record["eventID"] as string;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

/** Keys of the test account's log files (not digests) in `bucket` on an S3 endpoint. */
export async function logFileKeysOnS3(s3: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const listed = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: `AWSLogs/${TEST_ACCOUNT_ID}/CloudTrail/`,
        ContinuationToken: token,
      }),
    );
    keys.push(...(listed.Contents ?? []).map((object) => object.Key!));
    token = listed.NextContinuationToken;
  } while (token);
  return keys;
}

/**
 * The trail delivery consumers a cluster node's /health says it runs under a lease it holds
 * (`role.leasesHeld`): only the holder of a trail's lease runs its consumer. Both or neither.
 */
export async function deliveringOn(node: ServerProcess): Promise<string[]> {
  const response = await fetch(`${node.url}/health`);
  const body = (await response.json()) as { consumers?: Record<string, unknown>; role?: { leasesHeld?: string[] } };
  const running = Object.keys(body.consumers ?? {}).filter((name) => name.startsWith("trail-delivery:"));
  const held = body.role?.leasesHeld ?? [];
  return running.filter((name) => held.includes(name));
}

/** How many digest files of the test account `bucket` holds on an S3 endpoint. */
export async function digestCountOnS3(s3: S3Client, bucket: string): Promise<number> {
  let count = 0;
  let token: string | undefined;
  do {
    const listed = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: `AWSLogs/${TEST_ACCOUNT_ID}/CloudTrail-Digest/`,
        ContinuationToken: token,
      }),
    );
    count += listed.KeyCount ?? 0;
    token = listed.NextContinuationToken;
  } while (token);
  return count;
}

/**
 * Waits for a digest newer than every file delivered so far (it then covers the whole chain), and
 * runs the real `aws cloudtrail validate-logs` through `node` against the bucket on `s3Endpoint`.
 */
export async function validateLogsAfterNextDigest(options: {
  s3: S3Client;
  bucket: string;
  node: ServerProcess;
  trailArn: string;
  startTime: string;
  s3Endpoint: string;
}): Promise<AwsCliResult> {
  const { s3, bucket, node } = options;
  const before = await digestCountOnS3(s3, bucket);
  await pollUntil(async () => (await digestCountOnS3(s3, bucket)) > before, {
    timeoutMs: 90_000,
    intervalMs: 500,
    message: "the trail's holder to write a digest",
  });
  return runAws(
    node.dataDir,
    [
      ...["cloudtrail", "validate-logs", "--trail-arn", options.trailArn, "--start-time", options.startTime],
      ...["--endpoint-url", node.url, "--region", "us-east-1"],
    ],
    { AWS_ENDPOINT_URL_S3: options.s3Endpoint },
  );
}

/**
 * Creates `bucket` on the S3 endpoint and a logging trail with log file validation into it through
 * `node`; resolves to the trail's ARN and its delivery consumer's name (`trail-delivery:<arn>`).
 */
export async function createLoggingTrail(
  s3: S3Client,
  node: ServerProcess,
  names: { bucket: string; trail: string },
): Promise<{ trailArn: string; consumer: string }> {
  await s3.send(new CreateBucketCommand({ Bucket: names.bucket }));
  const ct = new CloudTrailClient({ endpoint: node.url, region: "us-east-1", credentials: admin, maxAttempts: 1 });
  try {
    const created = await ct.send(
      new CreateTrailCommand({ Name: names.trail, S3BucketName: names.bucket, EnableLogFileValidation: true }),
    );
    await ct.send(new StartLoggingCommand({ Name: names.trail }));
    return { trailArn: created.TrailARN!, consumer: `trail-delivery:${created.TrailARN!}` };
  } finally {
    ct.destroy();
  }
}

/** The nodes of `nodes` whose /health says they deliver `consumer`, once at least one does (polled). */
export function holdersOf(nodes: readonly ServerProcess[], consumer: string): Promise<ServerProcess[]> {
  return pollUntil(
    async () => {
      const delivering = await Promise.all(nodes.map(deliveringOn));
      const holding = nodes.filter((_, i) => delivering[i]!.includes(consumer));
      return holding.length > 0 && holding;
    },
    { timeoutMs: 120_000, intervalMs: 500, message: `a node to deliver ${consumer}` },
  );
}

/**
 * The digest files of `bucket` as chains: every digest's `previousDigestS3Object`, checked to form
 * one line per account and region. Returns what is wrong: a digest two others follow (a fork, as a
 * second writer would make), a chain with two starts, a previous digest that is not in the bucket,
 * or a log file two digests list.
 */
export async function digestChainProblems(s3: S3Client, bucket: string): Promise<string[]> {
  const digests: Array<{ key: string; previous: string | null; logFiles: string[] }> = [];
  let token: string | undefined;
  do {
    const listed = await s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: `AWSLogs/${TEST_ACCOUNT_ID}/CloudTrail-Digest/`,
        ContinuationToken: token,
      }),
    );
    for (const object of listed.Contents ?? []) {
      const body = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key! }));
      const document = JSON.parse(
        gunzipSync(Buffer.from(await body.Body!.transformToByteArray())).toString("utf8"),
      ) as {
        previousDigestS3Object: string | null;
        logFiles: Array<{ s3Object: string }>;
      };
      const logFiles = document.logFiles.map((file) => file.s3Object);
      digests.push({ key: object.Key!, previous: document.previousDigestS3Object, logFiles });
    }
    token = listed.NextContinuationToken;
  } while (token);
  const problems: string[] = [];
  const keys = new Set(digests.map((digest) => digest.key));
  const followers = new Map<string | null, string[]>();
  for (const digest of digests) followers.set(digest.previous, [...(followers.get(digest.previous) ?? []), digest.key]);
  for (const [previous, next] of followers) {
    if (next.length > 1)
      problems.push(`${next.length} digests follow ${previous ?? "no previous digest"}: ${next.join(", ")}`);
    if (previous !== null && !keys.has(previous)) problems.push(`${next.join(", ")} follows missing ${previous}`);
  }
  const listedBy = new Map<string, number>();
  for (const file of digests.flatMap((digest) => digest.logFiles)) listedBy.set(file, (listedBy.get(file) ?? 0) + 1);
  for (const [file, times] of listedBy) if (times > 1) problems.push(`${file} is in ${times} digests`);
  return problems;
}
