import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetTrailStatusCommand, type CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { openSqliteTrailStore } from "../../src/stores/trails/sqlite-trail-store.js";
import { awsCliMissingReason, runAws, type AwsCliResult } from "../helpers/aws-cli.js";
import { pollUntil } from "../helpers/poll.js";
import { addPrincipal } from "../helpers/principals.js";
import { makeDataDir, removeDataDir, startServerProcess, type ServerProcess } from "../helpers/server-process.js";
import { syntheticArchive } from "../helpers/synthetic-records.js";
import { embeddedOnly } from "../helpers/test-backend.js";
import { lakeClient, queryAll } from "../lake/lake-client.js";
import { motoMissingReason, startMotoServer, type MotoServer } from "../storage/moto-server.js";

/**
 * Issue #11, part 2, as the hostile reviewer ran it: a principal of account 210987654321 goes after
 * the trail bucket of account 123456789012 on one shared server, with the real AWS CLI, through
 * every door (StartImport of the bucket or of its directory on disk, a trail or saved query results
 * into it, the S3 endpoint signed and unsigned). Every door is shut, nothing of the victim's is
 * readable afterwards, and the victim's own use of the same bucket still works.
 */

const VICTIM = "123456789012";
const ATTACKER = "210987654321";
const VICTIM_BUCKET = "victim-trail-logs";
const POLICY_MESSAGE = (bucket: string) => `Incorrect S3 bucket policy is detected for bucket: ${bucket}`;
const FAST = { CAIRN_ACCOUNT_ID: VICTIM, CAIRN_DELIVERY_INTERVAL_SECONDS: "1", CAIRN_DIGEST_INTERVAL_SECONDS: "2" };

interface Keys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The AWS CLI as a principal: the bootstrap admin's keys from the data dir, or `keys`. */
function awsAs(server: ServerProcess, keys?: Keys): (...args: string[]) => Promise<AwsCliResult> {
  const env: Record<string, string> = keys
    ? { AWS_ACCESS_KEY_ID: keys.accessKeyId, AWS_SECRET_ACCESS_KEY: keys.secretAccessKey }
    : {};
  return (...args) => {
    const endpoint = args[0] === "s3" || args[0] === "s3api" ? server.s3Url! : server.url;
    return runAws(server.dataDir, [...args, "--endpoint-url", endpoint, "--region", "us-east-1"], env);
  };
}

function json(result: AwsCliResult): Record<string, unknown> {
  assert.equal(result.code, 0, result.stderr);
  // Operations with an empty answer (StartLogging) print nothing.
  return result.stdout.trim() === "" ? {} : (JSON.parse(result.stdout) as Record<string, unknown>);
}

/** The CLI failed with this error code (and message, when given), printing nothing on stdout. */
function refused(result: AwsCliResult, code: string, message?: string): void {
  assert.notEqual(result.code, 0, `expected ${code}, got success: ${result.stdout}`);
  assert.match(result.stderr, new RegExp(`\\(${code}\\)`), result.stderr);
  if (message !== undefined) assert.ok(result.stderr.includes(message), result.stderr);
  assert.ok(!result.stdout.includes("AWSLogs"), result.stdout);
}

function importSource(uri: string): string {
  return `S3={S3LocationUri=${uri},S3BucketRegion=us-east-1,S3BucketAccessRoleArn=arn:aws:iam::${ATTACKER}:role/import}`;
}

async function createStore(aws: (...args: string[]) => Promise<AwsCliResult>, name: string): Promise<string> {
  const created = json(await aws("cloudtrail", "create-event-data-store", "--name", name, "--no-start-ingestion"));
  return String(created["EventDataStoreArn"]).split("/")[1]!;
}

async function importToEnd(
  aws: (...args: string[]) => Promise<AwsCliResult>,
  store: string,
  uri: string,
): Promise<Record<string, unknown>> {
  const started = json(
    await aws("cloudtrail", "start-import", "--destinations", store, "--import-source", importSource(uri)),
  );
  return pollUntil(
    async () => {
      const got = json(await aws("cloudtrail", "get-import", "--import-id", String(started["ImportId"])));
      return got["ImportStatus"] === "INITIALIZING" || got["ImportStatus"] === "IN_PROGRESS" ? undefined : got;
    },
    { timeoutMs: 60_000, intervalMs: 200, message: `the import of ${uri}` },
  );
}

describe(
  "one server, two accounts: the attacker's every door to the victim's trail bucket",
  {
    skip: awsCliMissingReason() || embeddedOnly("Cairn's own S3 endpoint and the buckets in its data dir"),
  },
  () => {
    let server: ServerProcess;
    let victim: (...args: string[]) => Promise<AwsCliResult>;
    let attacker: (...args: string[]) => Promise<AwsCliResult>;
    let attackerKeys: Keys;
    let victimKeys: string[];

    before(async () => {
      server = await startServerProcess({ env: FAST });
      victim = awsAs(server);
      attackerKeys = await addPrincipal(server.dataDir, { name: "mallory", accountId: ATTACKER });
      attacker = awsAs(server, attackerKeys);
      json(await victim("cloudtrail", "create-trail", "--name", "audit", "--s3-bucket-name", VICTIM_BUCKET));
      json(await victim("cloudtrail", "start-logging", "--name", "audit"));
      victimKeys = await pollUntil(
        async () => {
          json(await victim("cloudtrail", "describe-trails"));
          const listed = await victim("s3", "ls", `s3://${VICTIM_BUCKET}/`, "--recursive");
          assert.equal(listed.code, 0, listed.stderr);
          const keys = listed.stdout.match(/AWSLogs\/\S+\.json\.gz/g) ?? [];
          return keys.length > 0 ? keys : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, message: "a log file in the victim's bucket" },
      );
    });

    after(async () => {
      await server?.stop();
      if (server) removeDataDir(server.dataDir);
    });

    it("StartImport of the victim's bucket is refused, and so is its directory on the server", async () => {
      const loot = await createStore(attacker, "loot");
      refused(
        await attacker(
          "cloudtrail",
          "start-import",
          "--destinations",
          loot,
          "--import-source",
          importSource(`s3://${VICTIM_BUCKET}/`),
        ),
        "InsufficientEncryptionPolicyException",
        POLICY_MESSAGE(VICTIM_BUCKET),
      );
      refused(
        await attacker(
          "cloudtrail",
          "start-import",
          "--destinations",
          loot,
          "--import-source",
          importSource(`s3://${VICTIM_BUCKET}/AWSLogs/${VICTIM}/`),
        ),
        "InsufficientEncryptionPolicyException",
      );
      const onDisk = `file://${join(server.dataDir, "buckets", VICTIM_BUCKET)}`;
      const fileImport = await attacker(
        "cloudtrail",
        "start-import",
        "--destinations",
        loot,
        "--import-source",
        importSource(onDisk),
      );
      refused(fileImport, "InvalidImportSourceException");
      assert.ok(!fileImport.stderr.includes(server.dataDir), "the refusal names no server path");
      assert.deepEqual(json(await attacker("cloudtrail", "list-imports"))["Imports"], []);
    });

    it("a trail, or saved query results, into the victim's bucket are refused and change nothing", async () => {
      refused(
        await attacker("cloudtrail", "create-trail", "--name", "steal", "--s3-bucket-name", VICTIM_BUCKET),
        "InsufficientS3BucketPolicyException",
        POLICY_MESSAGE(VICTIM_BUCKET),
      );
      json(await attacker("cloudtrail", "create-trail", "--name", "mine", "--s3-bucket-name", "mallory-logs"));
      refused(
        await attacker("cloudtrail", "update-trail", "--name", "mine", "--s3-bucket-name", VICTIM_BUCKET),
        "InsufficientS3BucketPolicyException",
        POLICY_MESSAGE(VICTIM_BUCKET),
      );
      const trails = json(await attacker("cloudtrail", "describe-trails"))["trailList"] as Array<
        Record<string, unknown>
      >;
      assert.deepEqual(
        trails.map((t) => [t["Name"], t["S3BucketName"]]),
        [["mine", "mallory-logs"]],
      );
      const store = await createStore(attacker, "queries");
      refused(
        await attacker(
          "cloudtrail",
          "start-query",
          "--query-statement",
          `SELECT eventID FROM ${store}`,
          "--delivery-s3-uri",
          `s3://${VICTIM_BUCKET}/stolen`,
        ),
        "InsufficientS3BucketPolicyException",
        POLICY_MESSAGE(VICTIM_BUCKET),
      );
    });

    it("the S3 endpoint shows the attacker only its own bucket and refuses the victim's, signed or not", async () => {
      const buckets = await attacker("s3", "ls");
      assert.equal(buckets.code, 0, buckets.stderr);
      assert.match(buckets.stdout, /^\S+ \S+ mallory-logs\n$/);
      refused(await attacker("s3", "ls", `s3://${VICTIM_BUCKET}/`, "--recursive"), "AccessDenied");
      refused(await attacker("s3api", "list-objects-v2", "--bucket", VICTIM_BUCKET), "AccessDenied");
      refused(
        await attacker("s3api", "get-object", "--bucket", VICTIM_BUCKET, "--key", victimKeys[0]!, "/dev/null"),
        "AccessDenied",
      );
      refused(await attacker("s3", "ls", `s3://${VICTIM_BUCKET}/`, "--recursive", "--no-sign-request"), "AccessDenied");
      refused(
        await victim(
          "s3api",
          "get-object",
          "--bucket",
          VICTIM_BUCKET,
          "--key",
          victimKeys[0]!,
          "/dev/null",
          "--no-sign-request",
        ),
        "AccessDenied",
      );
    });

    it("leaves nothing of the victim's readable by the attacker, across a restart", async () => {
      await server.stop();
      server = await startServerProcess({ dataDir: server.dataDir, env: FAST });
      victim = awsAs(server);
      attacker = awsAs(server, attackerKeys);
      refused(await attacker("s3", "ls", `s3://${VICTIM_BUCKET}/`), "AccessDenied");
      refused(
        await attacker("cloudtrail", "create-trail", "--name", "again", "--s3-bucket-name", VICTIM_BUCKET),
        "InsufficientS3BucketPolicyException",
      );
      const client: CloudTrailClient = lakeClient(server.url, "us-east-1", attackerKeys);
      try {
        const stores = json(await attacker("cloudtrail", "list-event-data-stores"))["EventDataStores"] as Array<
          Record<string, unknown>
        >;
        for (const store of stores) {
          const id = String(store["EventDataStoreArn"]).split("/")[1]!;
          const rows = await queryAll(client, `SELECT count(*) AS n FROM ${id}`);
          assert.equal(rows.status, "FINISHED", rows.error);
          assert.equal(rows.rows[0]![0]!["n"], "0", `nothing was imported into the attacker's store ${id}`);
        }
      } finally {
        client.destroy();
      }
    });

    it("the victim still imports and reads its own bucket", async () => {
      const mine = await createStore(victim, "archive");
      const done = await importToEnd(victim, mine, `s3://${VICTIM_BUCKET}/`);
      assert.equal(done["ImportStatus"], "COMPLETED");
      const stats = done["ImportStatistics"] as Record<string, number>;
      assert.ok(stats["EventsCompleted"]! > 0, JSON.stringify(stats));
      // A retry (StartImport with ImportId) names only the import: the attacker's finds none, and a
      // COMPLETED import is not run again.
      const importId = String(done["ImportId"]);
      refused(await attacker("cloudtrail", "start-import", "--import-id", importId), "ImportNotFoundException");
      refused(await victim("cloudtrail", "start-import", "--import-id", importId), "InvalidParameterException");
      // The retry is authorised on the import's store (the request names none): a reader of the
      // victim's account may not run it, nor learn which ids exist.
      const reader = awsAs(
        server,
        await addPrincipal(server.dataDir, {
          name: "reader",
          accountId: VICTIM,
          policyArns: ["arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess"],
        }),
      );
      refused(await reader("cloudtrail", "start-import", "--import-id", importId), "AccessDeniedException");
      const unknown = "00000000-0000-4000-8000-000000000000";
      refused(await reader("cloudtrail", "start-import", "--import-id", unknown), "AccessDeniedException");
      const object = await victim("s3", "cp", `s3://${VICTIM_BUCKET}/${victimKeys[0]!}`, "-");
      assert.equal(object.code, 0, object.stderr);
      const listed = await victim("s3", "ls");
      assert.match(listed.stdout, new RegExp(` ${VICTIM_BUCKET}\\n`));
      assert.doesNotMatch(listed.stdout, /mallory-logs/);
    });
  },
);

const legacySkip = awsCliMissingReason() || embeddedOnly("an older release's SQLite stores in the data dir");
describe("trails that shared a bucket before buckets had owners", { skip: legacySkip }, () => {
  it("keep the bucket with the older trail's account; the younger trail's delivery is refused", async () => {
    const dataDir = makeDataDir("cairn-isolation-legacy-");
    let server: ServerProcess | undefined;
    let client: CloudTrailClient | undefined;
    try {
      server = await startServerProcess({ dataDir, env: FAST });
      const keys = await addPrincipal(dataDir, { name: "mallory", accountId: ATTACKER });
      json(await awsAs(server)("cloudtrail", "create-trail", "--name", "audit", "--s3-bucket-name", VICTIM_BUCKET));
      json(
        await awsAs(server, keys)("cloudtrail", "create-trail", "--name", "mine", "--s3-bucket-name", "mallory-logs"),
      );
      await server.stop();
      server = undefined;
      // What an older Cairn allowed: the attacker's trail pointed at the victim's bucket, and no owners.
      const trails = openSqliteTrailStore(join(dataDir, "control-plane.db"));
      const mine = (await trails.get(ATTACKER, "mine"))!;
      await trails.put({ ...mine, s3BucketName: VICTIM_BUCKET });
      trails.close();
      for (const suffix of ["", "-wal", "-shm"]) rmSync(join(dataDir, `bucket-owners.db${suffix}`), { force: true });

      server = await startServerProcess({ dataDir, env: FAST });
      const attacker = awsAs(server, keys);
      json(await attacker("cloudtrail", "start-logging", "--name", "mine"));
      client = lakeClient(server.url, "us-east-1", keys);
      const trailClient = client;
      const status = await pollUntil(
        async () => {
          await attacker("cloudtrail", "describe-trails");
          const got = await trailClient.send(new GetTrailStatusCommand({ Name: "mine" }));
          return got.LatestDeliveryError !== undefined ? got : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 500, message: "the younger trail's delivery to fail" },
      );
      assert.match(status.LatestDeliveryError!, /AccessDenied/);
      const victimView = await awsAs(server)("s3", "ls", `s3://${VICTIM_BUCKET}/`, "--recursive");
      assert.equal(victimView.code, 0, victimView.stderr);
      assert.doesNotMatch(victimView.stdout, new RegExp(`AWSLogs/${ATTACKER}/`), "no file of the attacker's trail");
      refused(await attacker("s3", "ls", `s3://${VICTIM_BUCKET}/`), "AccessDenied");
    } finally {
      client?.destroy();
      await server?.stop();
      removeDataDir(dataDir);
    }
  });
});

describe(
  "two accounts on an external S3 endpoint (moto_server)",
  {
    skip: awsCliMissingReason() || motoMissingReason(),
  },
  () => {
    let moto: MotoServer;
    let server: ServerProcess;
    let victim: (...args: string[]) => Promise<AwsCliResult>;
    let attacker: (...args: string[]) => Promise<AwsCliResult>;

    before(async () => {
      moto = await startMotoServer();
      const s3 = new S3Client({
        endpoint: moto.endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
        forcePathStyle: true,
      });
      try {
        for (const bucket of ["victim-archive", "victim-trail", "mallory-archive"]) {
          await s3.send(new CreateBucketCommand({ Bucket: bucket }));
          const records = syntheticArchive(20);
          await s3.send(
            new PutObjectCommand({
              Bucket: bucket,
              Key: `AWSLogs/${VICTIM}/CloudTrail/us-east-1/2026/01/01/${bucket}.json.gz`,
              Body: gzipSync(JSON.stringify({ Records: records })),
            }),
          );
        }
      } finally {
        s3.destroy();
      }
      server = await startServerProcess({
        env: {
          ...FAST,
          CAIRN_S3_ENDPOINT: moto.endpoint,
          CAIRN_S3_ACCESS_KEY_ID: "testing",
          CAIRN_S3_SECRET_ACCESS_KEY: "testing",
          CAIRN_S3_FORCE_PATH_STYLE: "true",
        },
      });
      victim = awsAs(server);
      attacker = awsAs(server, await addPrincipal(server.dataDir, { name: "mallory", accountId: ATTACKER }));
    });

    after(async () => {
      await server?.stop();
      if (server) removeDataDir(server.dataDir);
      await moto?.stop();
    });

    it("gives each bucket to the first account that uses it, and refuses it to the other", async () => {
      const victimStore = await createStore(victim, "archive");
      const attackerStore = await createStore(attacker, "loot");
      // The victim imports its archive first, and its trail writes to another bucket: both are its own.
      const imported = await importToEnd(victim, victimStore, "s3://victim-archive/AWSLogs/");
      assert.equal(imported["ImportStatus"], "COMPLETED");
      assert.equal((imported["ImportStatistics"] as Record<string, number>)["EventsCompleted"], 20);
      json(await victim("cloudtrail", "create-trail", "--name", "audit", "--s3-bucket-name", "victim-trail"));

      for (const bucket of ["victim-archive", "victim-trail"]) {
        refused(
          await attacker(
            "cloudtrail",
            "start-import",
            "--destinations",
            attackerStore,
            "--import-source",
            importSource(`s3://${bucket}/`),
          ),
          "InsufficientEncryptionPolicyException",
          POLICY_MESSAGE(bucket),
        );
        refused(
          await attacker("cloudtrail", "create-trail", "--name", `into-${bucket}`, "--s3-bucket-name", bucket),
          "InsufficientS3BucketPolicyException",
          POLICY_MESSAGE(bucket),
        );
        refused(
          await attacker(
            "cloudtrail",
            "start-query",
            "--query-statement",
            `SELECT eventID FROM ${attackerStore}`,
            "--delivery-s3-uri",
            `s3://${bucket}/x`,
          ),
          "InsufficientS3BucketPolicyException",
        );
      }
      assert.deepEqual(json(await attacker("cloudtrail", "list-imports"))["Imports"], []);

      // The attacker's own bucket works for it, and is then closed to the victim.
      const own = await importToEnd(attacker, attackerStore, "s3://mallory-archive/");
      assert.equal(own["ImportStatus"], "COMPLETED");
      refused(
        await victim(
          "cloudtrail",
          "start-import",
          "--destinations",
          victimStore,
          "--import-source",
          importSource("s3://mallory-archive/"),
        ),
        "InsufficientEncryptionPolicyException",
      );
      // A bucket that does not exist is still that, and claims nothing.
      refused(
        await attacker("cloudtrail", "create-trail", "--name", "nowhere", "--s3-bucket-name", "no-such-archive"),
        "S3BucketDoesNotExistException",
      );
      json(await victim("cloudtrail", "describe-trails"));
    });
  },
);
