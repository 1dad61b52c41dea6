import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  CloudTrailClient,
  CreateTrailCommand,
  GetTrailStatusCommand,
  PutEventSelectorsCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  paginateLookupEvents,
} from "@aws-sdk/client-cloudtrail";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
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
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";
import { awsCliMissingReason, runAws } from "../helpers/aws-cli.js";
import { pollUntil } from "../helpers/poll.js";
import { deliveredOnS3, ingestLoad } from "../helpers/trail-delivery.js";

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const FAST = { CAIRN_DELIVERY_INTERVAL_SECONDS: "1", CAIRN_DIGEST_INTERVAL_SECONDS: "2" };
const EXTERNAL_S3 = { CAIRN_S3_ACCESS_KEY_ID: "x", CAIRN_S3_SECRET_ACCESS_KEY: "y", CAIRN_S3_FORCE_PATH_STYLE: "true" };

function cloudTrail(server: ServerProcess): CloudTrailClient {
  return new CloudTrailClient({ endpoint: server.url, region: "us-east-1", credentials: admin, maxAttempts: 1 });
}

/** Delivery and status changes land within a few delivery intervals. */
const DELIVERY_WAIT = { timeoutMs: 30_000, intervalMs: 250 };

/** eventID → the log files (keys) that hold it, for every log file of `bucket` in the embedded store. */
function deliveredOnDisk(dataDir: string, bucket: string): Map<string, string[]> {
  const root = join(dataDir, "buckets", bucket);
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
    );
  const files = new Map<string, string[]>();
  for (const path of walk(root).filter((p) => p.includes("/CloudTrail/"))) {
    const { Records } = JSON.parse(gunzipSync(readFileSync(path)).toString("utf8")) as { Records: RawRecord[] };
    for (const record of Records) {
      const id = record["eventID"] as string;
      files.set(id, [...(files.get(id) ?? []), path]);
    }
  }
  return files;
}

/** The end times (from their keys) of every digest file of `bucket` in the embedded store. */
function digestEndTimesOnDisk(dataDir: string, bucket: string): number[] {
  const root = join(dataDir, "buckets", bucket);
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
    );
  return walk(root)
    .map((path) => /CloudTrail-Digest\/.*_(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z\.json\.gz$/.exec(path))
    .filter((match): match is RegExpExecArray => match !== null)
    .map(([, y, mo, d, h, mi, se]) => Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +se!));
}

const motoSkip = motoMissingReason();

describe("trail delivery under faults", () => {
  it("refuses CreateTrail for a bucket an external S3 does not have", { skip: motoSkip }, async () => {
    const moto = await startMotoServer();
    const server = await startServerProcess({ env: { ...EXTERNAL_S3, CAIRN_S3_ENDPOINT: moto.endpoint } });
    const ct = cloudTrail(server);
    try {
      await assert.rejects(
        ct.send(new CreateTrailCommand({ Name: "missing-bucket-trail", S3BucketName: "no-such-bucket" })),
        (error: Error) => error.name === "S3BucketDoesNotExistException",
      );
    } finally {
      ct.destroy();
      await server.stop();
      await moto.stop();
      removeDataDir(server.dataDir);
    }
  });

  it(
    "shows an S3 outage under load in GetTrailStatus and then delivers every event once",
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
      const server = await startServerProcess({ env: { ...FAST, ...EXTERNAL_S3, CAIRN_S3_ENDPOINT: gate.url } });
      const ct = cloudTrail(server);
      try {
        await ct.send(new CreateTrailCommand({ Name: "outage", S3BucketName: "outage-logs" }));
        await ct.send(new StartLoggingCommand({ Name: "outage" }));
        await gate.close();
        const acknowledged = await ingestLoad(server, 6, 500);
        await pollUntil(
          async () => {
            const status = await ct.send(new GetTrailStatusCommand({ Name: "outage" }));
            return (status.LatestDeliveryError ?? "") !== "";
          },
          { ...DELIVERY_WAIT, message: "the delivery error" },
        );
        const failing = await ct.send(new GetTrailStatusCommand({ Name: "outage" }));
        assert.ok(failing.IsLogging);
        assert.ok(failing.LatestDeliveryError!.length > 0);

        await gate.open();
        let counts = new Map<string, number>();
        await pollUntil(
          async () => {
            counts = await deliveredOnS3(s3, "outage-logs");
            return acknowledged.every((id) => counts.has(id));
          },
          {
            ...DELIVERY_WAIT,
            timeoutMs: 90_000,
            message: "every event acknowledged during the outage to be delivered",
          },
        );
        for (const [id, count] of counts) assert.equal(count, 1, `event ${id} is in ${count} files`);
        await pollUntil(
          async () => {
            const status = await ct.send(new GetTrailStatusCommand({ Name: "outage" }));
            return status.LatestDeliveryError === undefined && status.LatestDeliveryTime !== undefined;
          },
          { ...DELIVERY_WAIT, message: "the error to clear" },
        );
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

  it("delivers every event exactly once across 20 kill -9 restarts, and the digests still validate", async () => {
    const dataDir = makeDataDir("cairn-trail-crash-");
    let server: ServerProcess | undefined;
    try {
      server = await startServerProcess({ dataDir, env: FAST });
      let ct = cloudTrail(server);
      const created = await ct.send(
        new CreateTrailCommand({ Name: "crashy", S3BucketName: "crash-logs", EnableLogFileValidation: true }),
      );
      await ct.send(new StartLoggingCommand({ Name: "crashy" }));
      const startTime = new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
      const acknowledged: string[] = [];
      // A batch cut short by a kill may still be durable (journaled, unacknowledged): it may be delivered.
      const sent = new Set<string>();
      for (let round = 0; round < 20; round++) {
        // Ingest load keeps deliveries in flight; the kill lands at a different moment each round.
        const killAtMs = Date.now() + 300 + ((round * 97) % 400);
        while (Date.now() < killAtMs) {
          const records = recentRecords(200, { accountId: TEST_ACCOUNT_ID });
          for (const record of records) sent.add(record["eventID"] as string);
          const response = await sendRaw(server.url, ingestCall(records, admin, { gzip: true })).catch(() => undefined);
          if (response?.status === 200) acknowledged.push(...records.map((r) => r["eventID"] as string));
        }
        ct.destroy();
        await server.kill9();
        server = await startServerProcess({ dataDir, env: FAST });
        ct = cloudTrail(server);
      }
      const stopRequestedMs = Date.now();
      await ct.send(new StopLoggingCommand({ Name: "crashy" }));
      // Newest first by eventTime: the API calls from StartLogging to StopLogging (inclusive) belong to the
      // trail; ingested records carry their own (older) eventTimes, so they are checked by id instead.
      const recorded: Array<{ id: string; name: string }> = [];
      for await (const page of paginateLookupEvents({ client: ct, pageSize: 50 }, {})) {
        for (const event of page.Events ?? []) recorded.push({ id: event.EventId!, name: event.EventName! });
      }
      const stopAt = recorded.findIndex((e) => e.name === "StopLogging");
      const startAt = recorded.findIndex((e) => e.name === "StartLogging");
      assert.ok(stopAt >= 0 && startAt > stopAt, "both logging calls are in Event history");
      const expected = new Set(
        recorded
          .slice(stopAt, startAt + 1)
          .map((e) => e.id)
          .filter((id) => !sent.has(id)),
      );
      let files = new Map<string, string[]>();
      await pollUntil(
        () => {
          files = deliveredOnDisk(dataDir, "crash-logs");
          return [...expected].every((id) => files.has(id));
        },
        { ...DELIVERY_WAIT, message: "StopLogging's final delivery" },
      );
      // StopLogging closes the chain with a final digest after the last log file: validate once it is there.
      await pollUntil(
        () =>
          digestEndTimesOnDisk(dataDir, "crash-logs").some(
            (endMs) => endMs >= Math.floor(stopRequestedMs / 1000) * 1000,
          ),
        {
          ...DELIVERY_WAIT,
          message: () =>
            `StopLogging's final digest (stop requested ${new Date(stopRequestedMs).toISOString()}; digests end ${digestEndTimesOnDisk(
              dataDir,
              "crash-logs",
            )
              .map((ms) => new Date(ms).toISOString())
              .join(", ")}; server said: ${server?.output().slice(-3000)})`,
        },
      );
      assert.ok(acknowledged.length >= 2000, `the test ingested ${acknowledged.length} events while logging`);
      for (const id of acknowledged) assert.ok(files.has(id), `acknowledged ingest ${id} was delivered`);
      for (const [id, paths] of files) assert.equal(paths.length, 1, `event ${id} is in ${paths.length} files`);
      assert.deepEqual(
        [...files.keys()].filter((id) => !expected.has(id) && !sent.has(id)),
        [],
        "nothing but the test's own events and API calls inside the logging window",
      );
      ct.destroy();
      if (awsCliMissingReason() === false) {
        const validation = await runAws(
          dataDir,
          [
            "cloudtrail",
            "validate-logs",
            "--trail-arn",
            created.TrailARN!,
            "--start-time",
            startTime,
            "--endpoint-url",
            server.url,
            "--region",
            "us-east-1",
          ],
          { AWS_ENDPOINT_URL_S3: server.s3Url! },
        );
        assert.equal(
          validation.code,
          0,
          `the digest chain validates after 20 kills:\n${validation.stdout}\n${validation.stderr}`,
        );
        assert.match(validation.stdout, /log files valid/);
      }
    } finally {
      await server?.stop();
      removeDataDir(dataDir);
    }
  });

  it("records data events only in the trail that selects them", async () => {
    const server = await startServerProcess({ env: FAST });
    const ct = cloudTrail(server);
    try {
      await ct.send(new CreateTrailCommand({ Name: "management-only", S3BucketName: "management-logs" }));
      await ct.send(new CreateTrailCommand({ Name: "with-data", S3BucketName: "data-logs" }));
      await ct.send(
        new PutEventSelectorsCommand({
          TrailName: "with-data",
          EventSelectors: [
            {
              ReadWriteType: "All",
              IncludeManagementEvents: true,
              DataResources: [
                { Type: "AWS::S3::Object", Values: ["arn:aws:s3:::customer-data/"] },
                { Type: "AWS::Lambda::Function", Values: ["arn:aws:lambda"] },
              ],
            },
          ],
        }),
      );
      await ct.send(new StartLoggingCommand({ Name: "management-only" }));
      await ct.send(new StartLoggingCommand({ Name: "with-data" }));
      const [template] = recentRecords(1, { accountId: TEST_ACCOUNT_ID });
      const dataEvent = (
        eventSource: string,
        eventName: string,
        resources: RawRecord[],
        readOnly: boolean,
      ): RawRecord => ({
        ...template,
        eventID: `${eventName}-${Date.now()}-${Math.random()}`,
        eventSource,
        eventName,
        readOnly,
        managementEvent: false,
        eventCategory: "Data",
        resources,
      });
      const s3Put = dataEvent(
        "s3.amazonaws.com",
        "PutObject",
        [{ type: "AWS::S3::Object", ARN: "arn:aws:s3:::customer-data/reports/q3.csv" }],
        false,
      );
      const s3Elsewhere = dataEvent(
        "s3.amazonaws.com",
        "GetObject",
        [{ type: "AWS::S3::Object", ARN: "arn:aws:s3:::other-bucket/x" }],
        true,
      );
      const invoke = dataEvent(
        "lambda.amazonaws.com",
        "Invoke",
        [{ type: "AWS::Lambda::Function", ARN: `arn:aws:lambda:us-east-1:${TEST_ACCOUNT_ID}:function:resize` }],
        false,
      );
      const management = recentRecords(1, { accountId: TEST_ACCOUNT_ID })[0]!;
      const response = await sendRaw(server.url, ingestCall([s3Put, s3Elsewhere, invoke, management], admin));
      assert.equal((response.json() as { accepted: number }).accepted, 4, response.text);
      const idOf = (r: RawRecord): string => r["eventID"] as string;
      let withData = new Map<string, string[]>();
      let managementOnly = new Map<string, string[]>();
      await pollUntil(
        () => {
          withData = deliveredOnDisk(server.dataDir, "data-logs");
          managementOnly = deliveredOnDisk(server.dataDir, "management-logs");
          return withData.has(idOf(management)) && managementOnly.has(idOf(management)) && withData.has(idOf(invoke));
        },
        { ...DELIVERY_WAIT, message: "both trails to deliver" },
      );
      assert.ok(withData.has(idOf(s3Put)), "selected S3 object-level event is delivered");
      assert.ok(withData.has(idOf(invoke)), "selected Lambda Invoke is delivered");
      assert.ok(!withData.has(idOf(s3Elsewhere)), "an S3 object outside the selected prefix is not");
      for (const event of [s3Put, s3Elsewhere, invoke])
        assert.ok(!managementOnly.has(idOf(event)), "data events are off by default");
    } finally {
      ct.destroy();
      await server.stop();
      removeDataDir(server.dataDir);
    }
  });
});
