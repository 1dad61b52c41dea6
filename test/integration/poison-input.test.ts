/**
 * Issue #11, "no input can stop a consumer" and "no input gets a 500", against a real server:
 * poisoned records (unpaired surrogates, NUL, unusable identifiers) through /ingest, a Lake import
 * and Cairn's own records; out-of-range and deeply nested API input; /ingest content types.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  CreateEventDataStoreCommand,
  ListImportFailuresCommand,
  type CloudTrailClient,
} from "@aws-sdk/client-cloudtrail";
import { removeDataDir, startServerProcess, TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";
import { allowImportsFrom } from "../helpers/import-dirs.js";
import { cloudTrailCall, ingestCall, sendRaw, type RawResponse } from "../helpers/signed-request.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";
import { pollUntil } from "../helpers/poll.js";
import { importDirectory } from "../helpers/lake-import.js";
import { admin, lakeClient, queryAll } from "../lake/lake-client.js";

/** The body of an ingest call, with `\ud800`-style escapes written as the sender's JSON has them. */
function ingestText(recordsJson: string[], headers: Record<string, string> = {}) {
  return {
    ...ingestCall([], admin),
    headers: { "content-type": "application/json", ...headers },
    body: `{"Records":[${recordsJson.join(",")}]}`,
  };
}

/** A record as JSON text whose userAgent is the given JSON string literal (escapes and all). */
function withUserAgentLiteral(record: RawRecord, literal: string): string {
  return JSON.stringify({ ...record, userAgent: "PLACEHOLDER" }).replace('"PLACEHOLDER"', literal);
}

function assertAwsError(response: RawResponse, status: number, type: string): void {
  assert.equal(response.status, status, response.text);
  assert.equal(response.json()["__type"], type, response.text);
}

/** The CloudTrail records of this server's own LookupEvents calls that failed with `errorCode`. */
async function ownFailedLookups(server: ServerProcess, errorCode: string): Promise<RawRecord[]> {
  const response = await sendRaw(
    server.url,
    cloudTrailCall(
      "LookupEvents",
      { LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "LookupEvents" }], MaxResults: 50 },
      admin,
    ),
  );
  assert.equal(response.status, 200, response.text);
  const events = response.json()["Events"] as Array<{ CloudTrailEvent: string }>;
  return events
    .map((event) => JSON.parse(event.CloudTrailEvent) as RawRecord)
    .filter((record) => record["errorCode"] === errorCode);
}

describe("poisoned input against a real server", () => {
  let server: ServerProcess;
  let client: CloudTrailClient;
  let liveStore: string;
  const archive = mkdtempSync(join(tmpdir(), "cairn-poison-archive-"));

  before(async () => {
    server = await startServerProcess({ env: { CAIRN_LAKE_FLUSH_INTERVAL_MS: "100", ...allowImportsFrom(archive) } });
    client = lakeClient(server.url);
    const created = await client.send(
      new CreateEventDataStoreCommand({ Name: "poison-live", TerminationProtectionEnabled: false }),
    );
    liveStore = created.EventDataStoreArn!.split("/")[1]!;
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
    rmSync(archive, { recursive: true, force: true });
  });

  it("ingest: repairs unpaired surrogates, keeps NUL, and every later good record reaches Lake SQL", async () => {
    const [poison, surrogateKey, withNul, ...good] = recentRecords(8, { accountId: TEST_ACCOUNT_ID });
    const surrogateKeyJson = JSON.stringify(surrogateKey).replace(
      '"requestParameters":',
      '"requestParameters":{"k\\udc00":"v"},"x":',
    );
    const response = await sendRaw(
      server.url,
      ingestText([
        withUserAgentLiteral(poison!, '"\\ud800"'),
        surrogateKeyJson,
        withUserAgentLiteral(withNul!, '"nul\\u0000here"'),
      ]),
    );
    assert.equal(response.status, 200, response.text);
    assert.deepEqual(response.json(), {
      accepted: 3,
      duplicates: 0,
      failed: [],
      repaired: [
        { index: 0, unpairedSurrogates: 1 },
        { index: 1, unpairedSurrogates: 1 },
      ],
    });
    // Cairn's own record of a call can carry one too: a lookup value with an unpaired surrogate.
    const lookup = await sendRaw(
      server.url,
      cloudTrailCall(
        "LookupEvents",
        '{"LookupAttributes":[{"AttributeKey":"Username","AttributeValue":"\\ud800"}]}',
        admin,
      ),
    );
    assert.equal(lookup.status, 200, lookup.text);
    const later = await sendRaw(server.url, ingestCall(good, admin));
    assert.equal(later.status, 200, later.text);
    assert.equal(later.json()["repaired"], undefined, "no repaired member when nothing was repaired");

    const ids = [poison, surrogateKey, withNul, ...good].map((record) => record!["eventID"] as string);
    const sql = `SELECT eventID, userAgent, eventJson FROM ${liveStore} WHERE eventID IN (${ids.map((id) => `'${id}'`).join(",")})`;
    const rows = await pollUntil(
      async () => {
        const outcome = await queryAll(client, sql);
        assert.equal(outcome.status, "FINISHED", outcome.error);
        return outcome.rows.length === ids.length ? outcome.rows : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: "every ingested record in Lake" },
    );
    const byId = new Map(rows.map((row) => [row[0]!["eventID"], row]));
    assert.equal(byId.get(poison!["eventID"] as string)![1]!["userAgent"], "\ufffd");
    assert.equal(byId.get(withNul!["eventID"] as string)![1]!["userAgent"], "nul\u0000here");
    const keyed = JSON.parse(byId.get(surrogateKey!["eventID"] as string)![2]!["eventJson"]!) as RawRecord;
    assert.deepEqual(keyed["requestParameters"], { "k\ufffd": "v" });

    // The own record of the lookup reached Lake too: the flush after it did not fail.
    const own = await pollUntil(
      async () => {
        const outcome = await queryAll(
          client,
          `SELECT eventJson FROM ${liveStore} WHERE eventName = 'LookupEvents' AND eventJson LIKE '%\ufffd%'`,
        );
        return outcome.rows.length > 0 ? outcome.rows : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: "the record of the lookup in Lake" },
    );
    assert.match(own[0]![0]!["eventJson"]!, /"attributeValue":"\ufffd"/);

    // Event history and its LookupEvents answer hold the repaired and the NUL text as stored.
    const found = await sendRaw(
      server.url,
      cloudTrailCall(
        "LookupEvents",
        { LookupAttributes: [{ AttributeKey: "EventId", AttributeValue: withNul!["eventID"] }] },
        admin,
      ),
    );
    const events = found.json()["Events"] as Array<{ CloudTrailEvent: string }>;
    assert.equal(events.length, 1);
    assert.equal((JSON.parse(events[0]!.CloudTrailEvent) as RawRecord)["userAgent"], "nul\u0000here");
  });

  it("ingest: refuses unusable regions and account ids per record with unusable_identifier", async () => {
    const [a, b, c, ok] = recentRecords(4, { accountId: TEST_ACCOUNT_ID });
    const response = await sendRaw(
      server.url,
      ingestCall(
        [
          { ...a, awsRegion: "../../etc" },
          { ...b, recipientAccountId: "1111/2222" },
          { ...c, awsRegion: "us-east-1\r\n" },
          { ...ok, awsRegion: "us-north-2r" },
        ],
        admin,
      ),
    );
    assert.equal(response.status, 200, response.text);
    const body = response.json() as { accepted: number; failed: Array<{ index: number; errorCode: string }> };
    assert.equal(body.accepted, 1, "a fake but harmless region is kept");
    assert.deepEqual(
      body.failed.map((failure) => [failure.index, failure.errorCode]),
      [
        [0, "unusable_identifier"],
        [1, "unusable_identifier"],
        [2, "unusable_identifier"],
      ],
    );
  });

  it("import: an archive holding a poisoned record completes with every usable record", async () => {
    const records = recentRecords(6, { accountId: TEST_ACCOUNT_ID });
    const unusable = { ...recentRecords(1, { accountId: TEST_ACCOUNT_ID })[0]!, awsRegion: "../../etc" };
    const json = `{"Records":[${[
      withUserAgentLiteral(records[0]!, '"poison\\udfff"'),
      ...records.slice(1).map((record) => JSON.stringify(record)),
      JSON.stringify(unusable),
    ].join(",")}]}`;
    const day = join(archive, "AWSLogs", TEST_ACCOUNT_ID, "CloudTrail", "us-east-1", "2024", "01", "01");
    await import("node:fs/promises").then((fs) => fs.mkdir(day, { recursive: true }));
    writeFileSync(join(day, `${TEST_ACCOUNT_ID}_CloudTrail_us-east-1_20240101T0000Z_poison.json.gz`), gzipSync(json));

    const store = (
      await client.send(
        new CreateEventDataStoreCommand({
          Name: "poison-import",
          TerminationProtectionEnabled: false,
          StartIngestion: false,
        }),
      )
    ).EventDataStoreArn!.split("/")[1]!;
    const done = await importDirectory(client, store, archive);
    assert.equal(done.ImportStatus, "COMPLETED");
    assert.equal(done.ImportStatistics?.EventsCompleted, records.length);
    assert.equal(done.ImportStatistics?.FailedEntries, 1);
    const failures = await client.send(new ListImportFailuresCommand({ ImportId: done.ImportId }));
    assert.equal(failures.Failures?.length, 1);
    assert.equal(failures.Failures?.[0]?.ErrorType, "unusable_identifier");

    const outcome = await queryAll(client, `SELECT eventID, userAgent FROM ${store}`);
    assert.equal(outcome.status, "FINISHED", outcome.error);
    const stored = new Map(outcome.rows.map((row) => [row[0]!["eventID"], row[1]!["userAgent"]]));
    assert.deepEqual(new Set(stored.keys()), new Set(records.map((record) => record["eventID"])));
    assert.equal(stored.get(records[0]!["eventID"] as string), "poison\ufffd");
  });

  it("LookupEvents: out-of-range numbers and a 10,000-level body get modelled 400s, recorded with the caller", async () => {
    const cases: Array<[string, string]> = [
      ['{"StartTime":1e20}', "InvalidTimeRangeException"],
      ['{"EndTime":1e20}', "InvalidTimeRangeException"],
      ['{"StartTime":-1e20}', "InvalidTimeRangeException"],
      ['{"StartTime":-1}', "InvalidTimeRangeException"],
      ['{"EndTime":1e308}', "InvalidTimeRangeException"],
      ['{"MaxResults":1e300}', "InvalidMaxResultsException"],
      ['{"MaxResults":-5}', "InvalidMaxResultsException"],
      ['{"MaxResults":1.5}', "SerializationException"],
      ['{"StartTime":"NaN"}', "SerializationException"],
      [`{"a":${'{"a":'.repeat(10_000)}1${"}".repeat(10_000)}}`, "SerializationException"],
      [`{"LookupAttributes":${"[".repeat(10_000)}${"]".repeat(10_000)}}`, "SerializationException"],
    ];
    for (const [body, code] of cases) {
      assertAwsError(await sendRaw(server.url, cloudTrailCall("LookupEvents", body, admin)), 400, code);
    }
    const rangeRecords = await ownFailedLookups(server, "InvalidTimeRangeException");
    // Logged as sent: no date can hold it.
    const recorded = rangeRecords.find((record) => (record["requestParameters"] as RawRecord)["startTime"] === 1e20);
    assert.ok(recorded, JSON.stringify(rangeRecords.map((record) => record["requestParameters"])));
    assert.equal(recorded["eventName"], "LookupEvents");
    assert.equal((recorded["userIdentity"] as RawRecord)["type"], "Root");
    assert.equal((recorded["userIdentity"] as RawRecord)["accountId"], TEST_ACCOUNT_ID);
    const deep = (await ownFailedLookups(server, "SerializationException")).filter((record) =>
      String(record["errorMessage"]).includes("nests deeper"),
    );
    assert.equal(deep.length, 2, "both deep bodies are on record under LookupEvents");
    for (const record of deep) assert.equal((record["userIdentity"] as RawRecord)["type"], "Root");
  });

  it("a call signed for a region that is none is refused as AWS does, and recorded under the server's region", async () => {
    const marker = randomUUID();
    const response = await sendRaw(server.url, {
      ...cloudTrailCall(
        "LookupEvents",
        { LookupAttributes: [{ AttributeKey: "EventId", AttributeValue: marker }] },
        admin,
      ),
      region: "..",
    });
    assert.equal(response.status, 403, response.text);
    assert.equal(response.json()["__type"], "InvalidSignatureException");
    const found = await sendRaw(
      server.url,
      cloudTrailCall(
        "LookupEvents",
        { LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "LookupEvents" }], MaxResults: 50 },
        admin,
      ),
    );
    const refused = (found.json()["Events"] as Array<{ CloudTrailEvent: string }>)
      .map((event) => JSON.parse(event.CloudTrailEvent) as RawRecord)
      .filter((record) => record["errorCode"] === "InvalidSignatureException");
    assert.ok(refused.length >= 1, "the refused call is on record");
    for (const record of refused) assert.equal(record["awsRegion"], "us-east-1");
  });

  it("/ingest takes JSON content types (plain or gzip) and refuses text/plain", async () => {
    const [first, second, third] = recentRecords(3, { accountId: TEST_ACCOUNT_ID });
    for (const [record, type, gzip] of [
      [first, "application/x-amz-json-1.1", false],
      [second, "application/json; charset=utf-8", true],
      [third, "application/x-amz-json-1.0", true],
    ] as const) {
      const call = ingestCall([record], admin, { gzip });
      const response = await sendRaw(server.url, { ...call, headers: { ...call.headers, "content-type": type } });
      assert.equal(response.status, 200, `${type}: ${response.text}`);
      assert.equal(response.json()["accepted"], 1);
    }
    const [refused] = recentRecords(1, { accountId: TEST_ACCOUNT_ID });
    const call = ingestCall([refused], admin);
    for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {
      assertAwsError(
        await sendRaw(server.url, { ...call, headers: { ...call.headers, "content-type": type } }),
        400,
        "SerializationException",
      );
    }
  });

  it("stayed healthy and logged no internal error through all of it", async () => {
    const health = (await (await fetch(`${server.url}/health`)).json()) as { status: string };
    assert.equal(health.status, "ok");
    assert.doesNotMatch(server.output(), /internal error/i);
  });
});
