import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
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
 * Issue #14, Insights on data events and ListInsightsData, through a real `cairn server` and the real
 * AWS CLI v1 (its model has `list-insights-data`): a back-dated day of S3 GetObject data events (the
 * baseline is set to 1 day to keep the history small), then a spike of them. The trail that logs
 * data events and selects Insights on them gets a Start and an End, marked
 * `insightDetails.eventCategory: "Data"`, which ListInsightsData returns and LookupEvents never does.
 */
const skip = awsCliMissingReason();
const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const BUCKET = "insights-data-audit";
const TRAIL = "data-audit";
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SPIKE = Math.floor(Date.now() / MINUTE) * MINUTE - 2 * HOUR;
/** Apart from the server's own region, where the test's API calls are recorded live (decision 0019, point 4). */
const REGION = "eu-west-1";
const READER_ARN = `arn:aws:iam::${TEST_ACCOUNT_ID}:user/reader`;
/** The management history and spike that only an event data store's Insight selectors enable. */
const STORE_REGION = "ap-southeast-2";

function createUser(timeMs: number): Record<string, unknown> {
  return getObject(timeMs, {
    awsRegion: STORE_REGION,
    eventSource: "iam.amazonaws.com",
    eventName: "CreateUser",
    readOnly: false,
    managementEvent: true,
    eventCategory: "Management",
    requestParameters: { userName: "u" },
    resources: undefined,
  });
}

let serial = 0;
function getObject(timeMs: number, fields: Record<string, unknown> = {}): Record<string, unknown> {
  serial++;
  return {
    eventVersion: "1.11",
    userIdentity: { type: "IAMUser", arn: READER_ARN, accountId: TEST_ACCOUNT_ID, userName: "reader" },
    eventTime: toEventTime(timeMs),
    eventSource: "s3.amazonaws.com",
    eventName: "GetObject",
    awsRegion: REGION,
    sourceIPAddress: "192.0.2.20",
    userAgent: "reader/1.0",
    requestParameters: { bucketName: "photos", key: `p/${serial}.jpg` },
    responseElements: null,
    eventID: `00000000-0000-4000-9000-${String(serial).padStart(12, "0")}`,
    readOnly: true,
    resources: [{ type: "AWS::S3::Object", ARN: `arn:aws:s3:::photos/p/${serial}.jpg` }],
    eventType: "AwsApiCall",
    managementEvent: false,
    recipientAccountId: TEST_ACCOUNT_ID,
    eventCategory: "Data",
    ...fields,
  };
}

interface Insight {
  eventID: string;
  eventCategory: string;
  insightDetails: {
    state: string;
    eventName: string;
    eventSource: string;
    insightType: string;
    eventCategory?: string;
  };
}
interface Page {
  Events: Array<{ EventId: string; EventName: string; EventSource: string; CloudTrailEvent: string }>;
  NextToken?: string;
}

describe("Insights on data events and ListInsightsData through a real server and the AWS CLI", { skip }, () => {
  let server: ServerProcess;
  let cli: (args: string[]) => Promise<AwsCliResult>;
  let trailArn: string;
  let listed: Page;
  let sourceArn: string;
  let destinationArn: string;

  const ingest = async (records: Array<Record<string, unknown>>): Promise<void> => {
    const response = await sendRaw(server.url, ingestCall(records, admin, { gzip: true }));
    assert.equal(response.status, 200, response.text);
  };
  const ok = async (args: string[]): Promise<unknown> => {
    const result = await cli(args);
    assert.equal(result.code, 0, `aws ${args.join(" ")}: ${result.stderr}`);
    return result.stdout.trim() === "" ? {} : JSON.parse(result.stdout);
  };
  const listData = (extra: string[] = []) =>
    cli([
      "cloudtrail",
      "list-insights-data",
      "--insight-source",
      trailArn,
      "--data-type",
      "InsightsEvents",
      "--region",
      REGION,
      ...extra,
    ]);
  const refusal = async (args: string[], type: RegExp): Promise<void> => {
    const result = await cli(args);
    assert.notEqual(result.code, 0, `aws ${args.join(" ")} succeeded`);
    assert.match(result.stderr, type);
  };

  before(async () => {
    server = await startServerProcess({ env: { CAIRN_INSIGHTS_BASELINE_DAYS: "1" } });
    cli = (args) =>
      runAws(server.dataDir, [
        ...args,
        "--endpoint-url",
        server.url,
        ...(args.includes("--region") ? [] : ["--region", "us-east-1"]),
        "--output",
        "json",
      ]);
    // A day (and an hour) of one GetObject every 30 minutes: judged steady before any trail selects Insights.
    const history: Array<Record<string, unknown>> = [];
    for (let t = SPIKE - DAY - HOUR; t < SPIKE - HOUR; t += 30 * MINUTE) history.push(getObject(t), createUser(t));
    // A read (counted in no series) after the history closes its last minutes by eventTime, so they
    // are judged now and the wall clock does not judge the quiet minutes past the spike before it
    // arrives (decision 0019, point 4).
    for (const awsRegion of [REGION, STORE_REGION])
      history.push(
        getObject(SPIKE - 10 * MINUTE, {
          awsRegion,
          eventName: "ListBuckets",
          managementEvent: true,
          eventCategory: "Management",
          requestParameters: null,
          resources: undefined,
        }),
      );
    await ingest(history);
    await ensureTrailBucket(server.dataDir, BUCKET);
    const created = (await ok([
      "cloudtrail",
      "create-trail",
      "--name",
      TRAIL,
      "--s3-bucket-name",
      BUCKET,
      "--is-multi-region-trail",
    ])) as { TrailARN: string };
    trailArn = created.TrailARN;
    await ok(["cloudtrail", "start-logging", "--name", TRAIL]);
  });

  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("refuses Insights on data events while the trail logs no data events", async () => {
    await refusal(
      [
        "cloudtrail",
        "put-insight-selectors",
        "--trail-name",
        TRAIL,
        "--insight-selectors",
        '[{"InsightType":"ApiCallRateInsight","EventCategories":["Data"]}]',
      ],
      /InvalidInsightSelectorsException/,
    );
  });

  it("enables them on a trail logging data events, and keeps the categories given", async () => {
    await ok([
      "cloudtrail",
      "put-event-selectors",
      "--trail-name",
      TRAIL,
      "--advanced-event-selectors",
      JSON.stringify([
        { Name: "management", FieldSelectors: [{ Field: "eventCategory", Equals: ["Management"] }] },
        {
          Name: "objects",
          FieldSelectors: [
            { Field: "eventCategory", Equals: ["Data"] },
            { Field: "resources.type", Equals: ["AWS::S3::Object"] },
          ],
        },
      ]),
    ]);
    const selectors = [
      { InsightType: "ApiCallRateInsight", EventCategories: ["Data"] },
      { InsightType: "ApiErrorRateInsight", EventCategories: ["Management", "Data"] },
    ];
    const put = (await ok([
      "cloudtrail",
      "put-insight-selectors",
      "--trail-name",
      TRAIL,
      "--insight-selectors",
      JSON.stringify(selectors),
    ])) as Record<string, unknown>;
    assert.deepEqual(put, { TrailARN: trailArn, InsightSelectors: selectors });
    assert.deepEqual(await ok(["cloudtrail", "get-insight-selectors", "--trail-name", TRAIL]), put);
  });

  it("records a Start and an End for a spike of GetObject, which ListInsightsData returns", async () => {
    const spike = Array.from({ length: 40 }, (_, i) => getObject(SPIKE + i * 1000));
    // A later data event closes the spike's minute and its quiet minutes by eventTime.
    await ingest([...spike, getObject(SPIKE + 20 * MINUTE)]);
    listed = await pollUntil(
      async () => {
        const result = await listData();
        assert.equal(result.code, 0, result.stderr);
        const page = JSON.parse(result.stdout) as Page;
        return page.Events.length >= 2 ? page : undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        message: () => `two data Insights in ListInsightsData; the server said:\n${server.output().slice(-3000)}`,
      },
    );
    const records = listed.Events.map((event) => JSON.parse(event.CloudTrailEvent) as Insight);
    assert.deepEqual(records.map((r) => r.insightDetails.state).sort(), ["End", "Start"]);
    for (const record of records) {
      assert.equal(record.eventCategory, "Insight");
      assert.equal(record.insightDetails.eventCategory, "Data");
      assert.equal(record.insightDetails.insightType, "ApiCallRateInsight");
    }
    assert.deepEqual(
      listed.Events.map((e) => [e.EventName, e.EventSource]),
      [
        ["GetObject", "s3.amazonaws.com"],
        ["GetObject", "s3.amazonaws.com"],
      ],
    );
  });

  it("answers ListInsightsMetricData with the data series when TrailName is given, as AWS does", async () => {
    const metric = (extra: string[]) =>
      ok([
        "cloudtrail",
        "list-insights-metric-data",
        "--region",
        REGION,
        "--event-source",
        "s3.amazonaws.com",
        "--event-name",
        "GetObject",
        "--insight-type",
        "ApiCallRateInsight",
        "--period",
        "60",
        "--start-time",
        toEventTime(SPIKE - MINUTE),
        "--end-time",
        toEventTime(SPIKE + 2 * MINUTE),
        ...extra,
      ]) as Promise<{ TrailARN?: string; Timestamps: unknown[]; Values: number[] }>;
    const data = await metric(["--trail-name", TRAIL]);
    assert.equal(data.TrailARN, trailArn);
    assert.deepEqual(data.Values, [40], "the spike's minute of GetObject, read or write");
    const management = await metric([]);
    assert.deepEqual(management.Values, [], "GetObject is no management call");
  });

  it("keeps them out of LookupEvents, management Insights' API", async () => {
    const looked = (await ok(["cloudtrail", "lookup-events", "--event-category", "insight", "--region", REGION])) as {
      Events: unknown[];
    };
    assert.deepEqual(looked.Events, []);
  });

  it("filters by one dimension and pages with LookupEvents' tokens", async () => {
    const id = listed.Events[1]!.EventId;
    const byId = JSON.parse((await listData(["--dimensions", `EventId=${id}`])).stdout) as Page;
    assert.deepEqual(
      byId.Events.map((e) => e.EventId),
      [id],
    );
    const otherName = JSON.parse((await listData(["--dimensions", "EventName=PutObject"])).stdout) as Page;
    assert.deepEqual(otherName.Events, []);
    const first = JSON.parse((await listData(["--max-items", "1"])).stdout) as Page;
    assert.deepEqual(
      first.Events.map((e) => e.EventId),
      [listed.Events[0]!.EventId],
    );
    assert.ok(first.NextToken !== undefined);
    const rest = JSON.parse((await listData(["--starting-token", first.NextToken])).stdout) as Page;
    assert.deepEqual(
      rest.Events.map((e) => e.EventId),
      [id],
    );
  });

  it("answers every bad parameter with InvalidParameterException", async () => {
    const base = ["cloudtrail", "list-insights-data", "--region", REGION];
    const source = ["--insight-source", trailArn];
    const type = ["--data-type", "InsightsEvents"];
    await refusal([...base, ...source, "--data-type", "Other"], /InvalidParameterException/);
    await refusal(
      [...base, ...source, ...type, "--dimensions", "EventName=a,EventSource=b"],
      /InvalidParameterException/,
    );
    await refusal([...base, ...source, ...type, "--dimensions", "Username=a"], /InvalidParameterException/);
    await refusal(
      [...base, ...source, ...type, "--dimensions", `EventName=${"x".repeat(2001)}`],
      /InvalidParameterException/,
    );
    await refusal(
      [...base, ...type, "--insight-source", `arn:aws:cloudtrail:${REGION}:${TEST_ACCOUNT_ID}:trail/absent`],
      /InvalidParameterException/,
    );
    await refusal([...base, ...type, "--insight-source", TRAIL], /InvalidParameterException/);
    await refusal(
      [...base, ...source, ...type, "--start-time", toEventTime(SPIKE), "--end-time", toEventTime(SPIKE - HOUR)],
      /InvalidParameterException/,
    );
    await refusal(
      [...base, ...source, ...type, "--no-paginate", "--cli-input-json", JSON.stringify({ MaxResults: 51 })],
      /InvalidParameterException/,
    );
    await refusal(
      [...base, ...source, ...type, "--no-paginate", "--cli-input-json", JSON.stringify({ NextToken: "not-a-token" })],
      /InvalidParameterException/,
    );
  });

  it("sets Insight selectors on an event data store with an Insights destination, and reads them back", async () => {
    sourceArn = (
      (await ok(["cloudtrail", "create-event-data-store", "--name", "source"])) as { EventDataStoreArn: string }
    ).EventDataStoreArn;
    destinationArn = (
      (await ok([
        "cloudtrail",
        "create-event-data-store",
        "--name",
        "insights",
        "--advanced-event-selectors",
        '[{"Name":"Insights","FieldSelectors":[{"Field":"eventCategory","Equals":["Insight"]}]}]',
      ])) as { EventDataStoreArn: string }
    ).EventDataStoreArn;
    const put = (args: string[]) => ["cloudtrail", "put-insight-selectors", ...args];
    const calls = '[{"InsightType":"ApiCallRateInsight"}]';
    await refusal(
      put(["--trail-name", TRAIL, "--event-data-store", sourceArn, "--insight-selectors", calls]),
      /InvalidParameterCombinationException/,
    );
    await refusal(
      ["cloudtrail", "get-insight-selectors", "--trail-name", TRAIL, "--event-data-store", sourceArn],
      /InvalidParameterCombinationException/,
    );
    await refusal(
      put(["--event-data-store", sourceArn, "--insights-destination", sourceArn, "--insight-selectors", calls]),
      /InvalidParameterException/,
    );
    await refusal(
      put([
        "--event-data-store",
        sourceArn,
        "--insights-destination",
        destinationArn,
        "--insight-selectors",
        '[{"InsightType":"ApiCallRateInsight","EventCategories":["Data"]}]',
      ]),
      /InvalidInsightSelectorsException/,
    );
    // The destination logs no management events: it cannot be a source.
    await refusal(
      put([
        "--event-data-store",
        destinationArn,
        "--insights-destination",
        destinationArn,
        "--insight-selectors",
        calls,
      ]),
      /InvalidParameterException|InvalidInsightSelectorsException/,
    );
    const dataOnly = (
      (await ok([
        "cloudtrail",
        "create-event-data-store",
        "--name",
        "objects",
        "--advanced-event-selectors",
        JSON.stringify([
          {
            Name: "objects",
            FieldSelectors: [
              { Field: "eventCategory", Equals: ["Data"] },
              { Field: "resources.type", Equals: ["AWS::S3::Object"] },
            ],
          },
        ]),
      ])) as { EventDataStoreArn: string }
    ).EventDataStoreArn;
    // A source must log management events.
    await refusal(
      put(["--event-data-store", dataOnly, "--insights-destination", destinationArn, "--insight-selectors", calls]),
      /InvalidInsightSelectorsException/,
    );
    await refusal(
      ["cloudtrail", "get-insight-selectors", "--event-data-store", sourceArn],
      /InsightNotEnabledException/,
    );
    const expected = {
      EventDataStoreArn: sourceArn,
      InsightsDestination: destinationArn,
      InsightSelectors: [{ InsightType: "ApiCallRateInsight" }],
    };
    const id = sourceArn.split("/").at(-1)!;
    assert.deepEqual(
      await ok(put(["--event-data-store", id, "--insights-destination", destinationArn, "--insight-selectors", calls])),
      expected,
    );
    assert.deepEqual(await ok(["cloudtrail", "get-insight-selectors", "--event-data-store", sourceArn]), expected);
  });

  it("lands the Insights the source store enables in the destination store", async () => {
    // No trail selects ApiCallRateInsight on management events: the store's selector alone makes these.
    const spike = Array.from({ length: 30 }, (_, i) => createUser(SPIKE + i * 1000));
    await ingest([...spike, createUser(SPIKE + 20 * MINUTE)]);
    const looked = await pollUntil(
      async () => {
        const out = (await ok([
          "cloudtrail",
          "lookup-events",
          "--event-category",
          "insight",
          "--region",
          STORE_REGION,
        ])) as {
          Events: Array<{ EventId: string; EventName: string }>;
        };
        return out.Events.length >= 2 ? out.Events : undefined;
      },
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        message: () => `the store-enabled Insights in LookupEvents; the server said:\n${server.output().slice(-3000)}`,
      },
    );
    assert.deepEqual(
      looked.map((e) => e.EventName),
      ["CreateUser", "CreateUser"],
    );
    const destinationId = destinationArn.split("/").at(-1)!;
    const rows = await pollUntil(
      async () => {
        const started = (await ok([
          "cloudtrail",
          "start-query",
          "--query-statement",
          `SELECT eventID FROM ${destinationId}`,
        ])) as { QueryId: string };
        const done = await pollUntil(
          async () => {
            const got = (await ok(["cloudtrail", "get-query-results", "--query-id", started.QueryId])) as {
              QueryStatus: string;
              QueryResultRows?: Array<Array<Record<string, string>>>;
            };
            if (got.QueryStatus === "FAILED") assert.fail("query failed");
            return got.QueryStatus === "FINISHED" ? got : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 250, message: "the query to finish" },
        );
        const found = (done.QueryResultRows ?? []).map((row) => Object.assign({}, ...row) as Record<string, string>);
        return found.length >= 2 ? found : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, message: "the Insights records in the destination store" },
    );
    // Those two, and not the data-event Insights (trail-only).
    assert.deepEqual(rows.map((r) => r["eventID"]).sort(), looked.map((e) => e.EventId).sort());
  });
});
