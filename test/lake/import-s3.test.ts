import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  CreateEventDataStoreCommand,
  GetImportCommand,
  ListImportFailuresCommand,
  StartImportCommand,
  type CloudTrailClient,
  type GetImportCommandOutput,
} from "@aws-sdk/client-cloudtrail";
import { openFilesystemObjectStore } from "../../src/stores/objects/filesystem-object-store.js";
import { pollUntil } from "../helpers/poll.js";
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from "../helpers/server-process.js";
import { readRecordsFile, SAMPLES_DIR, samplesMissingReason } from "../helpers/sample-records.js";
import { motoMissingReason, startMotoServer, type MotoServer } from "../storage/moto-server.js";
import { lakeClient, queryAll } from "./lake-client.js";

/**
 * StartImport from `s3://bucket/prefix`: trail files uploaded to a real S3 endpoint (moto_server)
 * with the S3 client, read by a server configured with CAIRN_S3_*; and from a bucket of the embedded
 * store (where trails deliver when no S3 endpoint is set).
 */

const motoMissing = motoMissingReason();
const INVICTUS = join(SAMPLES_DIR, "invictus-sigma-aws");
const PREFIX = "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/";

/** The archive: the invictus sample files, a digest that must be skipped, and one malformed file. */
function archive(): Array<{ key: string; body: Buffer }> {
  const files = readdirSync(INVICTUS)
    .filter((name) => name.endsWith(".json.gz"))
    .sort()
    .map((name) => ({ key: `${PREFIX}${name}`, body: readFileSync(join(INVICTUS, name)) }));
  return [
    ...files,
    {
      key: "AWSLogs/218007301253/CloudTrail-Digest/us-east-1/2023/07/10/218007301253_CloudTrail-Digest_us-east-1_x_20230710T120000Z.json.gz",
      body: gzipSync(JSON.stringify({ awsAccountId: "218007301253", logFiles: [] })),
    },
    { key: `${PREFIX}broken.json.gz`, body: gzipSync('{"Records": [{"eventVersion": "1.08",') },
  ];
}

/** Unique records of the sample files, keyed as Cairn de-duplicates. */
function uniqueSampleRecords(): number {
  const keys = new Set<string>();
  for (const name of readdirSync(INVICTUS).filter((n) => n.endsWith(".json.gz")))
    for (const r of readRecordsFile(join(INVICTUS, name))) {
      const identity = (r["userIdentity"] ?? {}) as Record<string, unknown>;
      keys.add(
        JSON.stringify([
          r["recipientAccountId"] ?? identity["accountId"],
          r["eventID"],
          r["eventTime"],
          r["eventSource"],
          r["eventName"],
        ]),
      );
    }
  return keys.size;
}

async function importToEnd(client: CloudTrailClient, store: string, uri: string): Promise<GetImportCommandOutput> {
  const started = await client.send(
    new StartImportCommand({
      Destinations: [store],
      ImportSource: { S3: { S3LocationUri: uri, S3BucketRegion: "us-east-1", S3BucketAccessRoleArn: "" } },
    }),
  );
  let status: string | undefined;
  return pollUntil(
    async () => {
      const got = await client.send(new GetImportCommand({ ImportId: started.ImportId }));
      status = got.ImportStatus;
      return status !== "INITIALIZING" && status !== "IN_PROGRESS" ? got : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, message: () => `import ${started.ImportId} to end (still ${status})` },
  );
}

async function createStore(client: CloudTrailClient, name: string): Promise<string> {
  const created = await client.send(
    new CreateEventDataStoreCommand({ Name: name, TerminationProtectionEnabled: false, StartIngestion: false }),
  );
  return created.EventDataStoreArn!.split("/")[1]!;
}

async function assertImported(client: CloudTrailClient, store: string, got: GetImportCommandOutput): Promise<void> {
  const files = archive();
  const expectedEvents = uniqueSampleRecords();
  assert.equal(got.ImportStatus, "COMPLETED");
  // Every file but the digest; the broken one is completed as a failure.
  assert.equal(got.ImportStatistics?.FilesCompleted, files.length - 1);
  assert.equal(got.ImportStatistics?.EventsCompleted, expectedEvents);
  assert.equal(got.ImportStatistics?.FailedEntries, 1);
  const failures = await client.send(new ListImportFailuresCommand({ ImportId: got.ImportId }));
  assert.equal(failures.Failures?.length, 1);
  const [failure] = failures.Failures!;
  assert.match(failure!.Location!, /^s3:\/\/[a-z0-9-]+\/AWSLogs\/.*\/broken\.json\.gz$/);
  assert.equal(failure!.ErrorType, "malformed-json");
  assert.equal(failure!.Status, "FAILED");
  const stored = await queryAll(client, `SELECT count(*) AS n, count(DISTINCT eventID) AS d FROM ${store}`);
  assert.equal(stored.status, "FINISHED", stored.error);
  assert.equal(Number(stored.rows[0]![0]!["n"]), expectedEvents);
}

describe(
  "Lake import from s3:// on a real S3 endpoint (moto_server)",
  { skip: motoMissing || samplesMissingReason() },
  () => {
    let moto: MotoServer;
    let server: ServerProcess;
    let client: CloudTrailClient;

    before(async () => {
      moto = await startMotoServer();
      const s3 = new S3Client({
        endpoint: moto.endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
        forcePathStyle: true,
      });
      try {
        await s3.send(new CreateBucketCommand({ Bucket: "trail-archive" }));
        for (const file of archive())
          await s3.send(new PutObjectCommand({ Bucket: "trail-archive", Key: file.key, Body: file.body }));
      } finally {
        s3.destroy();
      }
      server = await startServerProcess({
        env: {
          CAIRN_S3_ENDPOINT: moto.endpoint,
          CAIRN_S3_REGION: "us-east-1",
          CAIRN_S3_ACCESS_KEY_ID: "testing",
          CAIRN_S3_SECRET_ACCESS_KEY: "testing",
          CAIRN_S3_FORCE_PATH_STYLE: "true",
        },
      });
      client = lakeClient(server.url);
    });

    after(async () => {
      client?.destroy();
      await server?.stop();
      if (server) removeDataDir(server.dataDir);
      await moto?.stop();
    });

    it("imports the uploaded trail files, skips the digest, lists the malformed file, and re-import adds 0", async () => {
      const store = await createStore(client, "from-s3");
      await assertImported(client, store, await importToEnd(client, store, "s3://trail-archive/AWSLogs/"));
      const again = await importToEnd(client, store, "s3://trail-archive/AWSLogs/");
      assert.equal(again.ImportStatus, "COMPLETED");
      assert.equal(again.ImportStatistics?.EventsCompleted, 0);
    });

    it("refuses a bucket that does not exist with InvalidImportSourceException", async () => {
      const store = await createStore(client, "missing-bucket");
      await assert.rejects(
        client.send(
          new StartImportCommand({
            Destinations: [store],
            ImportSource: {
              S3: { S3LocationUri: "s3://no-such-bucket/x/", S3BucketRegion: "us-east-1", S3BucketAccessRoleArn: "" },
            },
          }),
        ),
        (error: Error) => error.name === "InvalidImportSourceException",
      );
    });
  },
);

describe("Lake import from s3:// on the embedded store", { skip: samplesMissingReason() }, () => {
  let server: ServerProcess;
  let client: CloudTrailClient;

  before(async () => {
    const dataDir = makeDataDir("cairn-import-embedded-");
    const buckets = openFilesystemObjectStore(join(dataDir, "buckets"));
    await buckets.ensureBucket("local-archive");
    for (const file of archive()) await buckets.putObject("local-archive", file.key, file.body);
    server = await startServerProcess({ dataDir });
    client = lakeClient(server.url);
  });

  after(async () => {
    client?.destroy();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("imports s3://<embedded bucket>/<prefix> like the same files on S3", async () => {
    const store = await createStore(client, "from-embedded");
    await assertImported(client, store, await importToEnd(client, store, "s3://local-archive/AWSLogs"));
  });
});
