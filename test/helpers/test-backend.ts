import { randomBytes } from "node:crypto";
import { after } from "node:test";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "./cluster-engines.js";

/**
 * The backend `startServerProcess` starts: the embedded default, or, with CAIRN_TEST_BACKEND=cluster,
 * a cluster node on PostgreSQL, nats-server and moto that this test process starts once. The same
 * integration tests then run against both (scripts/run-tests.js's cluster pass: a matrix, not
 * copies). Each data dir a test makes gets its own database and journal stream, so two servers that
 * would have had their own data dirs share nothing, and a restart on the same data dir finds its
 * data again, as an embedded restart does.
 */
const TEST_BACKEND: "embedded" | "cluster" = process.env["CAIRN_TEST_BACKEND"] === "cluster" ? "cluster" : "embedded";

let engines: Promise<ClusterEngines> | undefined;
const nodeEnvs = new Map<string, Record<string, string>>();

if (TEST_BACKEND === "cluster")
  after(async () => {
    if (engines !== undefined) await (await engines).stop();
  });

/**
 * The `skip` of a test (or suite) about the embedded backend alone, such as its own S3 endpoint or
 * its data dir's files: in the cluster pass it says why it does not run; false on the embedded one.
 */
export function embeddedOnly(why: string): string | false {
  return TEST_BACKEND === "cluster" ? `embedded backend only: ${why}` : false;
}

/** The environment a server on `dataDir` runs with on this backend (none for the embedded one). */
export async function backendEnv(dataDir: string): Promise<Record<string, string>> {
  if (TEST_BACKEND === "embedded") return {};
  const known = nodeEnvs.get(dataDir);
  if (known !== undefined) return known;
  // scripts/run-tests.js skips the cluster pass without them; a file run on its own says what is missing.
  const missing = clusterEnginesMissingReason("CAIRN_TEST_BACKEND=cluster");
  if (missing) throw new Error(`CAIRN_TEST_BACKEND=cluster cannot run here: ${missing}`);
  engines ??= startClusterEngines();
  const running = await engines;
  const database = await running.postgres.createDatabase();
  const env = running.nodeEnv(`node-${nodeEnvs.size + 1}`, {
    CAIRN_DATABASE_URL: database.url,
    CAIRN_JOURNAL_STREAM: `test-${randomBytes(4).toString("hex")}`,
    CAIRN_S3_FORCE_PATH_STYLE: "true",
  });
  nodeEnvs.set(dataDir, env);
  return env;
}

/** What a `cairn` command run against the data of the server on `dataDir` needs besides `--data-dir`. */
export function backendEnvOf(dataDir: string): Record<string, string> {
  return nodeEnvs.get(dataDir) ?? {};
}

/** The S3 endpoint trail buckets are on in cluster mode (moto); undefined for the embedded backend. */
export function clusterS3Endpoint(dataDir: string): string | undefined {
  return nodeEnvs.get(dataDir)?.["CAIRN_S3_ENDPOINT"];
}

/**
 * Makes a trail bucket where the backend needs it made: the embedded server creates a missing bucket
 * at CreateTrail, a cluster node refuses one (as CloudTrail does), so the test makes it on moto first.
 */
export async function ensureTrailBucket(dataDir: string, bucket: string): Promise<void> {
  const endpoint = clusterS3Endpoint(dataDir);
  if (endpoint === undefined) return;
  const s3 = new S3Client({
    endpoint,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  try {
    await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch((error: unknown) => {
      if ((error as { name?: string }).name !== "BucketAlreadyOwnedByYou") throw error;
    });
  } finally {
    s3.destroy();
  }
}
