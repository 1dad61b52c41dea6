/**
 * Lake query results against a real server: DeliveryS3Uri files and their signature (spec §7.4),
 * partition pruning seen through QueryStatistics, and statistics in DescribeQuery/GetQueryResults.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPublicKey, verify } from "node:crypto";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import {
  CreateEventDataStoreCommand,
  DescribeQueryCommand,
  GetQueryResultsCommand,
  ListPublicKeysCommand,
  StartQueryCommand,
  type CloudTrailClient,
  type DescribeQueryCommandOutput,
} from "@aws-sdk/client-cloudtrail";
import { openFilesystemObjectStore } from "../../src/stores/objects/filesystem-object-store.js";
import { startServerProcess, removeDataDir, TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords } from "../helpers/sample-records.js";
import { admin, lakeClient, queryAll, refuses } from "./lake-client.js";
import { parseCsv } from "../helpers/csv.js";
import { pollUntil } from "../helpers/poll.js";

const DAY_MS = 86_400_000;
const SELF = "eventSource <> 'cloudtrail.amazonaws.com'";

function finished(client: CloudTrailClient, queryId: string): Promise<DescribeQueryCommandOutput> {
  return pollUntil(
    async () => {
      const d = await client.send(new DescribeQueryCommand({ QueryId: queryId }));
      const running = d.QueryStatus === "QUEUED" || d.QueryStatus === "RUNNING";
      return !running && d.DeliveryStatus !== "PENDING" ? d : undefined;
    },
    // Unbounded as before: the test's timeout applies.
    { timeoutMs: Number.POSITIVE_INFINITY, intervalMs: 25, message: `query ${queryId} and its delivery to end` },
  );
}

async function allRows(client: CloudTrailClient, queryId: string): Promise<Array<Array<Record<string, string>>>> {
  const rows: Array<Array<Record<string, string>>> = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new GetQueryResultsCommand({ QueryId: queryId, MaxQueryResults: 100, ...(token ? { NextToken: token } : {}) }),
    );
    rows.push(...((page.QueryResultRows ?? []) as Array<Array<Record<string, string>>>));
    token = page.NextToken;
  } while (token);
  return rows;
}

describe("Lake query results: delivery to S3, partition pruning, statistics", () => {
  let server: ServerProcess;
  let client: CloudTrailClient;
  let id = "";
  const nowMs = Date.now();
  const day = (offset: number): string => new Date(nowMs - offset * DAY_MS).toISOString().slice(0, 10);

  before(async () => {
    server = await startServerProcess();
    client = lakeClient(server.url);
    const created = await client.send(
      new CreateEventDataStoreCommand({ Name: "results", TerminationProtectionEnabled: false }),
    );
    id = created.EventDataStoreArn!.split("/")[1]!;
    // 600 real records spread over the last 8 days: 8 or 9 date partitions.
    const records = recentRecords(600, { accountId: TEST_ACCOUNT_ID, nowMs, spreadMs: 8 * DAY_MS });
    const response = await sendRaw(server.url, ingestCall(records, admin));
    assert.equal(response.status, 200, response.text);
    await pollUntil(
      async () =>
        Number((await queryAll(client, `SELECT count(*) AS n FROM ${id} WHERE ${SELF}`)).rows[0]?.[0]?.["n"]) === 600,
      // Unbounded as before: the hook's timeout applies.
      { timeoutMs: Number.POSITIVE_INFINITY, intervalMs: 100, message: "the 600 events to be queryable" },
    );
  });

  after(async () => {
    client?.destroy();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("delivers signed CSV results that verify with the ListPublicKeys key and equal GetQueryResults", async () => {
    const sql =
      `SELECT eventID, eventTime, eventName, readOnly, errorCode, userIdentity.arn, resources, requestParameters ` +
      `FROM ${id} WHERE ${SELF} ORDER BY eventID`;
    const { QueryId } = await client.send(
      new StartQueryCommand({ QueryStatement: sql, DeliveryS3Uri: "s3://lake-results/saved/queries/" }),
    );
    const described = await finished(client, QueryId!);
    assert.equal(described.QueryStatus, "FINISHED");
    assert.equal(described.DeliveryS3Uri, "s3://lake-results/saved/queries/");
    assert.equal(described.DeliveryStatus, "SUCCESS");
    const rows = await allRows(client, QueryId!);
    assert.equal(rows.length, 600);

    const store = openFilesystemObjectStore(join(server.dataDir, "buckets"));
    const folderPrefix = `saved/queries/AWSLogs/${TEST_ACCOUNT_ID}/CloudTrail-Lake/Query/`;
    const listed = await store.listObjects("lake-results", { prefix: folderPrefix });
    const keys = listed.objects.map((o) => o.key).filter((k) => k.includes(`/${QueryId}/`));
    assert.match(keys[0]!, new RegExp(`^${folderPrefix}\\d{4}/\\d\\d/\\d\\d/${QueryId}/result_1\\.csv\\.gz$`));
    const folder = keys[0]!.slice(0, keys[0]!.lastIndexOf("/") + 1);
    assert.deepEqual(keys.sort(), [`${folder}result_1.csv.gz`, `${folder}result_sign.json`]);

    const sign = JSON.parse((await store.getObject("lake-results", `${folder}result_sign.json`))!.body.toString()) as {
      version: string;
      region: string;
      files: Array<{ fileHashValue: string; fileName: string }>;
      hashAlgorithm: string;
      signatureAlgorithm: string;
      queryCompleteTime: string;
      hashSignature: string;
      publicKeyFingerprint: string;
    };
    assert.deepEqual(Object.keys(sign), [
      "version",
      "region",
      "files",
      "hashAlgorithm",
      "signatureAlgorithm",
      "queryCompleteTime",
      "hashSignature",
      "publicKeyFingerprint",
    ]);
    assert.equal(sign.version, "1.0");
    assert.equal(sign.region, "us-east-1");
    assert.equal(sign.hashAlgorithm, "SHA-256");
    assert.equal(sign.signatureAlgorithm, "SHA256withRSA");
    assert.match(sign.queryCompleteTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(folder.split("/").slice(-5, -2).join("-"), sign.queryCompleteTime.slice(0, 10));

    // Independent verification (what `aws cloudtrail verify-query-results` does): each file's SHA-256,
    // then the signature over the hashes joined by spaces with the key ListPublicKeys gives for the fingerprint.
    const bodies: Buffer[] = [];
    for (const file of sign.files) {
      const body = (await store.getObject("lake-results", folder + file.fileName))!.body;
      assert.equal(createHash("sha256").update(body).digest("hex"), file.fileHashValue);
      bodies.push(body);
    }
    const completeMs = Date.parse(sign.queryCompleteTime);
    const { PublicKeyList } = await client.send(
      new ListPublicKeysCommand({ StartTime: new Date(completeMs), EndTime: new Date(completeMs + 20 * DAY_MS) }),
    );
    const publicKey = PublicKeyList?.find((k) => k.Fingerprint === sign.publicKeyFingerprint);
    assert.ok(publicKey?.Value, "ListPublicKeys returns the signing key");
    const der = Buffer.from(publicKey.Value);
    assert.equal(createHash("md5").update(der).digest("hex"), sign.publicKeyFingerprint);
    const key = createPublicKey({ key: der, format: "der", type: "pkcs1" });
    const signed = Buffer.from(sign.files.map((f) => f.fileHashValue).join(" "), "utf8");
    assert.ok(verify("sha256", signed, key, Buffer.from(sign.hashSignature, "hex")), "signature verifies");
    assert.ok(!verify("sha256", Buffer.from("tampered"), key, Buffer.from(sign.hashSignature, "hex")));

    // The CSV holds exactly the rows GetQueryResults pages through, in order, under a header row.
    const csv = parseCsv(bodies.map((b) => gunzipSync(b).toString("utf8")).join(""));
    assert.deepEqual(
      csv[0],
      rows[0]!.map((cell) => Object.keys(cell)[0]),
    );
    assert.deepEqual(
      csv.slice(1),
      rows.map((row) => row.map((cell) => Object.values(cell)[0]!)),
    );
  });

  it("refuses bad delivery URIs and reports delivery of failed queries", async () => {
    await refuses(
      client.send(new StartQueryCommand({ QueryStatement: `SELECT 1 FROM ${id}`, DeliveryS3Uri: "https://x/y" })),
      "InvalidParameterException",
    );
    await refuses(
      client.send(new StartQueryCommand({ QueryStatement: `SELECT 1 FROM ${id}`, DeliveryS3Uri: "s3://Bad_Bucket/x" })),
      "InvalidS3BucketNameException",
    );
    const { QueryId } = await client.send(
      new StartQueryCommand({ QueryStatement: `SELECT no_such_column FROM ${id}`, DeliveryS3Uri: "s3://lake-results" }),
    );
    const described = await finished(client, QueryId!);
    assert.equal(described.QueryStatus, "FAILED");
    assert.equal(described.DeliveryStatus, "FAILED");
  });

  it("reads only the partitions an eventTime bound can match, with identical results", async () => {
    const from = day(5);
    const to = day(2);
    const cases: Array<[string, string]> = [
      [`eventTime >= '${from} 00:00:00' AND eventTime < '${to} 00:00:00'`, "comparison"],
      [`eventTime BETWEEN TIMESTAMP '${from} 00:00:00' AND TIMESTAMP '${to} 00:00:00'`, "between"],
      [
        `eventTime > from_iso8601_timestamp('${from}T00:00:00Z') AND from_iso8601_timestamp('${to}T00:00:00Z') >= eventTime`,
        "iso8601",
      ],
    ];
    for (const [where, name] of cases) {
      const grouped = `SELECT eventName, count(*) AS n, min(eventTime) AS first FROM ${id} WHERE ${SELF} AND %W GROUP BY eventName ORDER BY eventName`;
      const pruned = await client.send(new StartQueryCommand({ QueryStatement: grouped.replace("%W", where) }));
      // `OR false` leaves the meaning alone but is no longer an AND of bounds: every partition is read.
      const full = await client.send(
        new StartQueryCommand({ QueryStatement: grouped.replace("%W", `((${where}) OR false)`) }),
      );
      const a = await finished(client, pruned.QueryId!);
      const b = await finished(client, full.QueryId!);
      assert.equal(a.QueryStatus, "FINISHED", a.ErrorMessage);
      assert.equal(b.QueryStatus, "FINISHED", b.ErrorMessage);
      const prunedRows = await allRows(client, pruned.QueryId!);
      assert.ok(prunedRows.length > 0, name);
      assert.deepEqual(prunedRows, await allRows(client, full.QueryId!), name);
      const ps = a.QueryStatistics!;
      const fs = b.QueryStatistics!;
      process.stdout.write(
        `# ${name}: pruned ${ps.EventsScanned} events / ${ps.BytesScanned} bytes, full ${fs.EventsScanned} / ${fs.BytesScanned}\n`,
      );
      assert.ok(ps.EventsScanned! > 0 && ps.EventsScanned! < fs.EventsScanned!, name);
      assert.ok(ps.BytesScanned! > 0 && ps.BytesScanned! < fs.BytesScanned!, name);
      assert.ok(fs.EventsScanned! >= 600, name);
      assert.equal(ps.EventsMatched, prunedRows.length);
      assert.ok(ps.ExecutionTimeInMillis! >= 0);
      assert.ok(ps.CreationTime instanceof Date);
      const page = await client.send(new GetQueryResultsCommand({ QueryId: pruned.QueryId!, MaxQueryResults: 1 }));
      assert.deepEqual(page.QueryStatistics, {
        ResultsCount: 1,
        TotalResultsCount: prunedRows.length,
        BytesScanned: ps.BytesScanned,
      });
    }
    // A bound outside every partition reads nothing and answers like an empty store.
    const none = await queryAll(client, `SELECT count(*) AS n FROM ${id} WHERE eventTime < '2001-01-01 00:00:00'`);
    assert.deepEqual(none.rows, [[{ n: "0" }]]);
  });
});
