import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { GetObjectCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import {
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { awsCliMissingReason, runAws, type AwsCliResult } from "../helpers/aws-cli.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { pollUntil } from "../helpers/poll.js";
import { ensureTrailBucket } from "../helpers/test-backend.js";
import { toEventTime } from "../../src/lib/clock.js";

/**
 * Issue #14, Insights: a back-dated week of baseline, then a spike of CreateUser calls and a burst of
 * AccessDenied errors, through a real `cairn server` and the real AWS CLI. Start and End records with
 * the statistics and attributions of spec §8.2 appear in LookupEvents (EventCategory insight, and only
 * there), in the trail's CloudTrail-Insight folder (digested: validate-logs says valid), in the
 * event data store of category Insight, and
 * ListInsightsMetricData returns the counts ingested; the steady series gives no Insight.
 */
const skip = awsCliMissingReason();
const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const BUCKET = "insights-audit";
const TRAIL = "audit";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const WEEK = 7 * 24 * HOUR;
const SPIKE = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * HOUR;
const BURST = SPIKE + 10 * MINUTE;
const STEADY_UNTIL = SPIKE + 40 * MINUTE;
const STEADY_ARN = `arn:aws:iam::${TEST_ACCOUNT_ID}:user/steady`;
const SPIKER_ARN = `arn:aws:iam::${TEST_ACCOUNT_ID}:user/spiker`;
/**
 * The history's region, apart from the server's own (us-east-1), where the test's API calls are
 * recorded live: a live event closes its region's minutes up to its own time, so history sent into
 * a region with live traffic would arrive for minutes already judged (decision 0019, point 4).
 */
const REGION = "eu-west-1";

let serial = 0;
function record(timeMs: number, fields: Record<string, unknown>): Record<string, unknown> {
  serial++;
  return {
    eventVersion: "1.11",
    userIdentity: { type: "IAMUser", arn: STEADY_ARN, accountId: TEST_ACCOUNT_ID, userName: "steady" },
    eventTime: toEventTime(timeMs),
    eventSource: "iam.amazonaws.com",
    eventName: "CreateUser",
    awsRegion: REGION,
    sourceIPAddress: "192.0.2.10",
    userAgent: "steady-agent/1.0",
    requestParameters: null,
    responseElements: null,
    eventID: `00000000-0000-4000-8000-${String(serial).padStart(12, "0")}`,
    readOnly: false,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: TEST_ACCOUNT_ID,
    eventCategory: "Management",
    ...fields,
  };
}

/** Baseline: 3 CreateUser an hour for a week and an hour, and EC2 CreateTags 2 or 4 a minute (steady). */
function baseline(fromMs: number, toMs: number): Array<Record<string, unknown>> {
  const records: Array<Record<string, unknown>> = [];
  for (let t = fromMs; t < toMs; t += MINUTE) {
    if ((t / MINUTE) % 20 === 0) records.push(record(t, {}));
    const tags = (t / MINUTE) % 2 === 0 ? 2 : 4;
    for (let i = 0; i < tags; i++)
      records.push(record(t + i * 1000, { eventSource: "ec2.amazonaws.com", eventName: "CreateTags" }));
  }
  return records;
}

function spikeAndBurst(): Array<Record<string, unknown>> {
  const spiker = { type: "IAMUser", arn: SPIKER_ARN, accountId: TEST_ACCOUNT_ID, userName: "spiker" };
  const spike = Array.from({ length: 40 }, (_, i) =>
    record(SPIKE + i * 1000, { userIdentity: spiker, userAgent: i < 25 ? "spike-agent/1" : "spike-agent/2" }),
  );
  const burst = Array.from({ length: 30 }, (_, i) =>
    record(BURST + i * 1000, {
      userIdentity: spiker,
      userAgent: "spike-agent/1",
      eventName: "GetUser",
      readOnly: true,
      errorCode: "AccessDenied",
      errorMessage: "User is not authorized to perform: iam:GetUser",
    }),
  );
  return [...spike, ...burst];
}

interface Insight {
  eventTime: string;
  eventID: string;
  sharedEventID: string;
  eventType: string;
  eventCategory: string;
  insightDetails: {
    state: "Start" | "End";
    eventSource: string;
    eventName: string;
    insightType: string;
    errorCode?: string;
    insightContext: {
      statistics: {
        baseline: { average: number };
        insight: { average: number };
        insightDuration: number;
        baselineDuration: number;
      };
      attributions: Array<{
        attribute: string;
        insight: Array<{ value: string; average: number }>;
        baseline: Array<{ value: string; average: number }>;
      }>;
    };
  };
}

const sixDigits = (value: number): number => Number(value.toPrecision(6));

describe("CloudTrail Insights through a real server and the AWS CLI", { skip }, () => {
  let server: ServerProcess;
  let cli: (args: string[]) => Promise<AwsCliResult>;
  let s3: S3Client;
  let trailArn: string;
  let storeId: string;
  let insights: Insight[];

  const ingest = async (records: Array<Record<string, unknown>>): Promise<void> => {
    for (let i = 0; i < records.length; i += 10_000) {
      const response = await sendRaw(server.url, ingestCall(records.slice(i, i + 10_000), admin, { gzip: true }));
      assert.equal(response.status, 200, response.text);
    }
  };
  const ok = async (args: string[]): Promise<unknown> => {
    const result = await cli(args);
    assert.equal(result.code, 0, `aws ${args.join(" ")}: ${result.stderr}`);
    return result.stdout.trim() === "" ? {} : JSON.parse(result.stdout);
  };
  const lookupInsights = async (): Promise<Insight[]> => {
    const out = (await ok(["cloudtrail", "lookup-events", "--event-category", "insight", "--region", REGION])) as {
      Events: Array<{ CloudTrailEvent: string }>;
    };
    return out.Events.map((event) => JSON.parse(event.CloudTrailEvent) as Insight);
  };
  const keys = async (prefix: string): Promise<string[]> => {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: prefix }));
    return (page.Contents ?? []).map((object) => object.Key!);
  };
  const recordsIn = async (key: string): Promise<Array<Record<string, unknown>>> => {
    const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    const body = gunzipSync(Buffer.from(await object.Body!.transformToByteArray())).toString("utf8");
    return (JSON.parse(body) as { Records: Array<Record<string, unknown>> }).Records;
  };

  before(async () => {
    server = await startServerProcess({
      env: { CAIRN_DELIVERY_INTERVAL_SECONDS: "1", CAIRN_DIGEST_INTERVAL_SECONDS: "2" },
    });
    cli = (args) =>
      runAws(server.dataDir, [
        ...args,
        "--endpoint-url",
        server.url,
        ...(args.includes("--region") ? [] : ["--region", "us-east-1"]),
        "--output",
        "json",
      ]);
    s3 = new S3Client({
      endpoint: server.s3Url!,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: admin,
    });
    // The week before the spike first: judged (and found steady) before any trail selects Insights.
    await ingest(baseline(SPIKE - WEEK - HOUR, SPIKE - HOUR));
    await ensureTrailBucket(server.dataDir, BUCKET);
    const created = (await ok([
      "cloudtrail",
      "create-trail",
      "--name",
      TRAIL,
      "--s3-bucket-name",
      BUCKET,
      "--enable-log-file-validation",
      "--is-multi-region-trail",
    ])) as { TrailARN: string };
    trailArn = created.TrailARN;
    await ok(["cloudtrail", "start-logging", "--name", TRAIL]);
    await ok([
      "cloudtrail",
      "put-insight-selectors",
      "--trail-name",
      TRAIL,
      "--insight-selectors",
      '[{"InsightType":"ApiCallRateInsight"},{"InsightType":"ApiErrorRateInsight"}]',
    ]);
    // An event data store of category Insight (the default one selects management events only).
    const store = (await ok([
      "cloudtrail",
      "create-event-data-store",
      "--name",
      "insights-store",
      "--advanced-event-selectors",
      '[{"Name":"Insights","FieldSelectors":[{"Field":"eventCategory","Equals":["Insight"]}]}]',
    ])) as { EventDataStoreArn: string };
    storeId = store.EventDataStoreArn.split("/").at(-1)!;
    // The last hour of baseline, the spike and the burst, and the steady series past them: its
    // eventTime closes the spike's and the burst's minutes, and their quiet minutes after. In
    // eventTime order, as live calls arrive: a minute is judged once later events were seen, and
    // calls arriving for a minute already judged are counted but not judged again (decision 0019).
    const rest = [...baseline(SPIKE - HOUR, STEADY_UNTIL), ...spikeAndBurst()];
    await ingest(rest.sort((a, b) => Date.parse(String(a["eventTime"])) - Date.parse(String(b["eventTime"]))));
    insights = await pollUntil(
      async () => {
        const found = await lookupInsights();
        return found.length >= 4 ? found : undefined;
      },
      {
        timeoutMs: 90_000,
        intervalMs: 500,
        message: () => `four Insights records in LookupEvents; the server said:\n${server.output().slice(-4000)}`,
      },
    );
  });

  after(async () => {
    s3?.destroy();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("shows the trail's Insight selectors and HasInsightSelectors", async () => {
    const got = (await ok(["cloudtrail", "get-insight-selectors", "--trail-name", TRAIL])) as Record<string, unknown>;
    assert.deepEqual(got, {
      TrailARN: trailArn,
      InsightSelectors: [{ InsightType: "ApiCallRateInsight" }, { InsightType: "ApiErrorRateInsight" }],
    });
    const trail = (await ok(["cloudtrail", "get-trail", "--name", TRAIL])) as {
      Trail: { HasInsightSelectors: boolean };
    };
    assert.equal(trail.Trail.HasInsightSelectors, true);
  });

  it("records a Start and an End for the spike of writes, with the baseline, the spike and who made it", () => {
    const spike = insights.filter((i) => i.insightDetails.eventName === "CreateUser");
    assert.deepEqual(spike.map((i) => i.insightDetails.state).sort(), ["End", "Start"]);
    const start = spike.find((i) => i.insightDetails.state === "Start")!;
    const end = spike.find((i) => i.insightDetails.state === "End")!;
    assert.equal(start.eventType, "AwsCloudTrailInsight");
    assert.equal(start.eventCategory, "Insight");
    assert.equal(start.sharedEventID, end.sharedEventID);
    assert.equal(start.eventTime, toEventTime(SPIKE));
    assert.equal(end.eventTime, toEventTime(SPIKE + MINUTE));
    assert.equal(start.insightDetails.insightType, "ApiCallRateInsight");
    assert.equal(start.insightDetails.eventSource, "iam.amazonaws.com");
    const stats = start.insightDetails.insightContext.statistics;
    // One CreateUser every 20 minutes throughout [SPIKE − 1 week, SPIKE): 504 calls in 10,080 minutes.
    assert.equal(stats.baseline.average, sixDigits(504 / 10_080));
    assert.equal(stats.insight.average, 40);
    assert.equal(stats.insightDuration, 1);
    assert.equal(stats.baselineDuration, 10_080);
    assert.equal(end.insightDetails.insightContext.statistics.insightDuration, 1);
    assert.equal(end.insightDetails.insightContext.statistics.insight.average, 40);
    const [arns, agents, codes] = start.insightDetails.insightContext.attributions;
    assert.deepEqual(arns, {
      attribute: "userIdentityArn",
      insight: [{ value: SPIKER_ARN, average: 40 }],
      baseline: [{ value: STEADY_ARN, average: stats.baseline.average }],
    });
    assert.deepEqual(agents!.insight, [
      { value: "spike-agent/1", average: 25 },
      { value: "spike-agent/2", average: 15 },
    ]);
    assert.deepEqual(codes!.insight, [{ value: "null", average: 40 }]);
  });

  it("records the burst of AccessDenied as an ApiErrorRateInsight naming the error code", () => {
    const burst = insights.filter((i) => i.insightDetails.eventName === "GetUser");
    assert.deepEqual(burst.map((i) => i.insightDetails.state).sort(), ["End", "Start"]);
    const start = burst.find((i) => i.insightDetails.state === "Start")!;
    assert.equal(start.insightDetails.insightType, "ApiErrorRateInsight");
    assert.equal(start.insightDetails.errorCode, "AccessDenied");
    assert.equal(start.eventTime, toEventTime(BURST));
    assert.equal(start.insightDetails.insightContext.statistics.insight.average, 30);
    assert.equal(start.insightDetails.insightContext.statistics.baseline.average, 0);
  });

  it("gives no Insight for the steady series", () => {
    assert.deepEqual(
      insights.filter((i) => i.insightDetails.eventName === "CreateTags"),
      [],
    );
  });

  it("returns Insights records only to lookups that ask for the insight category", async () => {
    const id = insights[0]!.eventID;
    const plain = (await ok([
      "cloudtrail",
      "lookup-events",
      "--region",
      REGION,
      "--lookup-attributes",
      `AttributeKey=EventId,AttributeValue=${id}`,
    ])) as { Events: unknown[] };
    assert.deepEqual(plain.Events, []);
    const asked = (await ok([
      "cloudtrail",
      "lookup-events",
      "--region",
      REGION,
      "--event-category",
      "insight",
      "--lookup-attributes",
      `AttributeKey=EventId,AttributeValue=${id}`,
    ])) as { Events: Array<{ EventId: string; EventName: string }> };
    assert.deepEqual(
      asked.Events.map((e) => e.EventId),
      [id],
    );
    const byName = (await ok([
      "cloudtrail",
      "lookup-events",
      "--region",
      REGION,
      "--event-category",
      "insight",
      "--lookup-attributes",
      "AttributeKey=EventName,AttributeValue=GetUser",
    ])) as { Events: Array<{ EventName: string }> };
    assert.equal(byName.Events.length, 2);
  });

  it("writes them to the trail's CloudTrail-Insight folder only, digested: validate-logs says valid", async () => {
    const insightPrefix = `AWSLogs/${TEST_ACCOUNT_ID}/CloudTrail-Insight/${REGION}/`;
    const delivered = await pollUntil(
      async () => {
        const files = await keys(insightPrefix);
        const records = (await Promise.all(files.map(recordsIn))).flat();
        return records.length >= 4 ? { files, records } : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: "the Insights records in CloudTrail-Insight/" },
    );
    for (const key of delivered.files)
      assert.match(
        key,
        new RegExp(
          `^${insightPrefix}\\d{4}/\\d{2}/\\d{2}/${TEST_ACCOUNT_ID}_CloudTrail-Insight_${REGION}_\\d{8}T\\d{4}Z_[A-Za-z0-9]{16}\\.json\\.gz$`,
        ),
      );
    assert.deepEqual(delivered.records.map((r) => r["eventID"]).sort(), insights.map((i) => i.eventID).sort());
    for (const key of await keys(`AWSLogs/${TEST_ACCOUNT_ID}/CloudTrail/`))
      for (const r of await recordsIn(key)) assert.notEqual(r["eventType"], "AwsCloudTrailInsight", key);
    // Every Insights file is listed by a digest once the next digest is out.
    const digestPrefix = `AWSLogs/${TEST_ACCOUNT_ID}/CloudTrail-Digest/${REGION}/`;
    await pollUntil(
      async () => {
        const listed = new Set<string>();
        for (const key of await keys(digestPrefix)) {
          const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
          const digest = JSON.parse(gunzipSync(Buffer.from(await object.Body!.transformToByteArray())).toString()) as {
            logFiles: Array<{ s3Object: string }>;
          };
          for (const file of digest.logFiles) listed.add(file.s3Object);
        }
        return delivered.files.every((key) => listed.has(key));
      },
      { timeoutMs: 30_000, intervalMs: 500, message: "digests listing every Insights file" },
    );
    const result = await runAws(
      server.dataDir,
      [
        "cloudtrail",
        "validate-logs",
        "--trail-arn",
        trailArn,
        "--start-time",
        toEventTime(Date.now() - 10 * MINUTE),
        "--verbose",
        "--endpoint-url",
        server.url,
        "--region",
        REGION,
      ],
      { AWS_ENDPOINT_URL_S3: server.s3Url! },
    );
    assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
    assert.doesNotMatch(result.stdout + result.stderr, /INVALID/);
    for (const key of delivered.files) assert.match(result.stdout, new RegExp(`${key.replace(/[.]/g, "\\.")}\\tvalid`));
  });

  it("stores them in the event data store of category Insight, and nothing else there", async () => {
    const rows = await pollUntil(
      async () => {
        const started = (await ok([
          "cloudtrail",
          "start-query",
          "--query-statement",
          `SELECT eventID, eventCategory FROM ${storeId}`,
        ])) as { QueryId: string };
        const results = await pollUntil(
          async () => {
            const got = (await ok(["cloudtrail", "get-query-results", "--query-id", started.QueryId])) as {
              QueryStatus: string;
              QueryResultRows?: Array<Array<Record<string, string>>>;
            };
            return got.QueryStatus === "FINISHED"
              ? got
              : got.QueryStatus === "FAILED"
                ? assert.fail("query failed")
                : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 250, message: "the query to finish" },
        );
        const found = results.QueryResultRows ?? [];
        return found.length >= insights.length ? found : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, message: "the Insights records in the Lake" },
    );
    const byColumn = rows.map((row) => Object.assign({}, ...row) as Record<string, string>);
    assert.deepEqual(byColumn.map((r) => r["eventID"]).sort(), insights.map((i) => i.eventID).sort());
    assert.ok(byColumn.every((r) => r["eventCategory"] === "Insight"));
  });

  it("answers ListInsightsMetricData with the counts ingested", async () => {
    const range = ["--start-time", toEventTime(SPIKE - 5 * MINUTE), "--end-time", toEventTime(SPIKE + 15 * MINUTE)];
    const calls = (await ok([
      "cloudtrail",
      "list-insights-metric-data",
      "--region",
      REGION,
      "--event-source",
      "iam.amazonaws.com",
      "--event-name",
      "CreateUser",
      "--insight-type",
      "ApiCallRateInsight",
      "--period",
      "60",
      ...range,
    ])) as { Timestamps: number[]; Values: number[]; EventName: string; InsightType: string };
    assert.equal(calls.EventName, "CreateUser");
    assert.equal(calls.InsightType, "ApiCallRateInsight");
    // Nonzero minutes only: the baseline's CreateUser every 20 minutes, and the spike's 40 on top.
    const expected = new Map<number, number>();
    for (let t = SPIKE - 5 * MINUTE; t < SPIKE + 15 * MINUTE; t += MINUTE)
      if ((t / MINUTE) % 20 === 0) expected.set(t, 1);
    expected.set(SPIKE, (expected.get(SPIKE) ?? 0) + 40);
    const got = new Map(calls.Timestamps.map((ts, i) => [Date.parse(String(ts)) || ts * 1000, calls.Values[i]!]));
    assert.deepEqual([...got.entries()].sort(), [...expected.entries()].sort());
    const errors = (await ok([
      "cloudtrail",
      "list-insights-metric-data",
      "--region",
      REGION,
      "--event-source",
      "iam.amazonaws.com",
      "--event-name",
      "GetUser",
      "--insight-type",
      "ApiErrorRateInsight",
      "--error-code",
      "AccessDenied",
      "--period",
      "300",
      "--data-type",
      "FillWithZeros",
      ...range,
    ])) as { Timestamps: number[]; Values: number[]; ErrorCode: string };
    assert.equal(errors.ErrorCode, "AccessDenied");
    // Every 5-minute period starting in the range, zeros included; the burst's holds its 30 errors.
    const periods: number[] = [];
    for (let t = Math.ceil((SPIKE - 5 * MINUTE) / (5 * MINUTE)) * 5 * MINUTE; t < SPIKE + 15 * MINUTE; t += 5 * MINUTE)
      periods.push(t);
    const burstPeriod = Math.floor(BURST / (5 * MINUTE)) * 5 * MINUTE;
    assert.deepEqual(
      errors.Values,
      periods.map((t) => (t === burstPeriod ? 30 : 0)),
    );
    const refused = await cli([
      "cloudtrail",
      "list-insights-metric-data",
      "--region",
      REGION,
      "--event-source",
      "iam.amazonaws.com",
      "--event-name",
      "GetUser",
      "--insight-type",
      "ApiErrorRateInsight",
    ]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /InvalidParameterException/);
  });

  it("refuses Insight selectors the trail cannot have, and reports InsightNotEnabled once they are off", async () => {
    const bad = await cli([
      "cloudtrail",
      "put-insight-selectors",
      "--trail-name",
      TRAIL,
      "--insight-selectors",
      '[{"InsightType":"ApiCallRateInsight"},{"InsightType":"ApiCallRateInsight"}]',
    ]);
    assert.match(bad.stderr, /InvalidInsightSelectorsException/);
    await ok(["cloudtrail", "put-insight-selectors", "--trail-name", TRAIL, "--insight-selectors", "[]"]);
    const off = await cli(["cloudtrail", "get-insight-selectors", "--trail-name", TRAIL]);
    assert.match(off.stderr, /InsightNotEnabledException/);
    const trail = (await ok(["cloudtrail", "get-trail", "--name", TRAIL])) as {
      Trail: { HasInsightSelectors: boolean };
    };
    assert.equal(trail.Trail.HasInsightSelectors, false);
  });
});
