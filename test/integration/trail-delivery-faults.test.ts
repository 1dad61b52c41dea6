import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  CloudTrailClient,
  CreateTrailCommand,
  DescribeTrailsCommand,
  GetTrailStatusCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  paginateLookupEvents,
} from "@aws-sdk/client-cloudtrail";
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import {
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { motoMissingReason, startMotoServer } from "../storage/moto-server.js";
import { startTcpGate } from "../helpers/tcp-gate.js";

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const FAST = { CAIRN_DELIVERY_INTERVAL_SECONDS: "1", CAIRN_DIGEST_INTERVAL_SECONDS: "2" };

function cloudTrail(server: ServerProcess): CloudTrailClient {
  return new CloudTrailClient({ endpoint: server.url, region: "us-east-1", credentials: admin, maxAttempts: 1 });
}

async function until(what: string, condition: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const onDisk = new Map<string, Record<string, unknown>>();

/** Every record of every log file under the bucket, as [eventID, file] pairs. */
function deliveredOnDisk(dataDir: string, bucket: string): Array<[string, string]> {
  const root = join(dataDir, "buckets", bucket);
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
    );
  return walk(root)
    .filter((path) => path.includes("/CloudTrail/"))
    .flatMap((path) =>
      (
        JSON.parse(gunzipSync(readFileSync(path)).toString("utf8")) as {
          Records: Array<Record<string, unknown> & { eventID: string }>;
        }
      ).Records.map((r): [string, string] => {
        onDisk.set(r.eventID, r);
        return [r.eventID, path];
      }),
    );
}

const motoSkip = motoMissingReason();

describe("trail delivery under faults", () => {
  it("refuses CreateTrail for a bucket an external S3 does not have", { skip: motoSkip }, async () => {
    const moto = await startMotoServer();
    const server = await startServerProcess({
      env: {
        CAIRN_S3_ENDPOINT: moto.endpoint,
        CAIRN_S3_ACCESS_KEY_ID: "x",
        CAIRN_S3_SECRET_ACCESS_KEY: "y",
        CAIRN_S3_FORCE_PATH_STYLE: "true",
      },
    });
    const ct = cloudTrail(server);
    try {
      await assert.rejects(
        ct.send(new CreateTrailCommand({ Name: "missing-bucket-trail", S3BucketName: "no-such-bucket" })),
        (error: Error) => {
          assert.equal(error.name, "S3BucketDoesNotExistException");
          return true;
        },
      );
    } finally {
      ct.destroy();
      await server.stop();
      await moto.stop();
      removeDataDir(server.dataDir);
    }
  });

  it(
    "shows an S3 outage in GetTrailStatus, keeps events in the journal, and catches up",
    { skip: motoSkip },
    async () => {
      const moto = await startMotoServer();
      const gate = await startTcpGate({ host: "127.0.0.1", port: Number(new URL(moto.endpoint).port) });
      const s3 = new S3Client({
        endpoint: moto.endpoint,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: { accessKeyId: "x", secretAccessKey: "y" },
      });
      await s3.send(new CreateBucketCommand({ Bucket: "outage-logs" }));
      const server = await startServerProcess({
        env: {
          ...FAST,
          CAIRN_S3_ENDPOINT: gate.url,
          CAIRN_S3_ACCESS_KEY_ID: "x",
          CAIRN_S3_SECRET_ACCESS_KEY: "y",
          CAIRN_S3_FORCE_PATH_STYLE: "true",
        },
      });
      const ct = cloudTrail(server);
      try {
        await ct.send(new CreateTrailCommand({ Name: "outage", S3BucketName: "outage-logs" }));
        await ct.send(new StartLoggingCommand({ Name: "outage" }));
        await gate.close();
        const marker = `outage-${Date.now()}`;
        await ct.send(new DescribeTrailsCommand({ trailNameList: [marker] }));
        await until("the delivery error", async () => {
          const status = await ct.send(new GetTrailStatusCommand({ Name: "outage" }));
          return (status.LatestDeliveryError ?? "") !== "";
        });
        const failing = await ct.send(new GetTrailStatusCommand({ Name: "outage" }));
        assert.ok(failing.IsLogging);
        assert.ok(failing.LatestDeliveryError!.length > 0);

        await gate.open();
        const bodies = async (): Promise<string> => {
          const listed = await s3.send(
            new ListObjectsV2Command({ Bucket: "outage-logs", Prefix: `AWSLogs/${TEST_ACCOUNT_ID}/CloudTrail/` }),
          );
          const texts = await Promise.all(
            (listed.Contents ?? []).map(async (o) => {
              const object = await s3.send(new GetObjectCommand({ Bucket: "outage-logs", Key: o.Key! }));
              return gunzipSync(Buffer.from(await object.Body!.transformToByteArray())).toString("utf8");
            }),
          );
          return texts.join("\n");
        };
        await until(
          "the call made during the outage to be delivered",
          async () => (await bodies()).includes(marker),
          60_000,
        );
        await until("the error to clear", async () => {
          const status = await ct.send(new GetTrailStatusCommand({ Name: "outage" }));
          return status.LatestDeliveryError === undefined && status.LatestDeliveryTime !== undefined;
        });
      } finally {
        ct.destroy();
        s3.destroy();
        await server.stop();
        await gate.stop();
        await moto.stop();
        removeDataDir(server.dataDir);
      }
    },
  );

  it("delivers every event exactly once across kill -9 restarts", async () => {
    const dataDir = makeDataDir("cairn-trail-crash-");
    try {
      let server = await startServerProcess({ dataDir, env: FAST });
      let ct = cloudTrail(server);
      await ct.send(new CreateTrailCommand({ Name: "crashy", S3BucketName: "crash-logs" }));
      await ct.send(new StartLoggingCommand({ Name: "crashy" }));
      for (let round = 0; round < 6; round++) {
        const until = Date.now() + 800 + round * 150;
        while (Date.now() < until) await ct.send(new DescribeTrailsCommand({})).catch(() => undefined);
        ct.destroy();
        await server.kill9();
        server = await startServerProcess({ dataDir, env: FAST });
        ct = cloudTrail(server);
      }
      await ct.send(new StopLoggingCommand({ Name: "crashy" }));
      // Newest first: everything between StopLogging and StartLogging is what the trail must hold.
      const recorded: Array<{ id: string; name: string }> = [];
      for await (const page of paginateLookupEvents({ client: ct, pageSize: 50 }, {})) {
        for (const event of page.Events ?? []) recorded.push({ id: event.EventId!, name: event.EventName! });
      }
      const stopAt = recorded.findIndex((e) => e.name === "StopLogging");
      const startAt = recorded.findIndex((e) => e.name === "StartLogging");
      assert.ok(stopAt >= 0 && startAt > stopAt, "both logging calls are in Event history");
      // StopLogging itself is the trail's last event, as CloudTrail delivers it.
      const expected = recorded.slice(stopAt, startAt + 1).map((e) => e.id);
      const files = new Map<string, string[]>();
      await until("StopLogging's final delivery", async () => {
        files.clear();
        for (const [id, path] of deliveredOnDisk(dataDir, "crash-logs"))
          files.set(id, [...(files.get(id) ?? []), path]);
        return expected.every((id) => files.has(id));
      });
      ct.destroy();
      await server.stop();
      assert.ok(expected.length >= 10, `the test made ${expected.length} calls while logging`);
      for (const [id, paths] of files) assert.equal(paths.length, 1, `event ${id} is in ${paths.length} files`);
      const unexpected = [...files.keys()].filter((id) => !expected.includes(id));
      const describe = (id: string): string => {
        const index = recorded.findIndex((e) => e.id === id);
        const record = onDisk.get(id) ?? {};
        return `${id} ${index >= 0 ? `${recorded[index]!.name} at ${index} (stop ${stopAt}, start ${startAt})` : "not in Event history"}: ${String(record["eventName"])} ${String(record["eventTime"])} ${String(record["errorCode"])} ${String(record["awsRegion"])}`;
      };
      assert.deepEqual(unexpected.map(describe), [], "no event from outside the logging window");
    } finally {
      removeDataDir(dataDir);
    }
  });
});
