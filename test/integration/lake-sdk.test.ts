import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CancelQueryCommand,
  CreateEventDataStoreCommand,
  DeleteEventDataStoreCommand,
  DescribeQueryCommand,
  GetEventDataStoreCommand,
  GetQueryResultsCommand,
  ListEventDataStoresCommand,
  ListQueriesCommand,
  RestoreEventDataStoreCommand,
  StartEventDataStoreIngestionCommand,
  StartQueryCommand,
  StopEventDataStoreIngestionCommand,
  UpdateEventDataStoreCommand,
  type CloudTrailClient,
} from "@aws-sdk/client-cloudtrail";
import { startServerProcess, removeDataDir, TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";
import { pollUntil } from "../helpers/poll.js";
import { addPrincipal } from "../helpers/principals.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords } from "../helpers/sample-records.js";
import { admin, lakeClient, queryAll, refuses } from "../lake/lake-client.js";

describe("Lake event data stores and queries through @aws-sdk/client-cloudtrail", () => {
  let server: ServerProcess;
  let east: CloudTrailClient;

  before(async () => {
    server = await startServerProcess();
    east = lakeClient(server.url);
  });

  after(async () => {
    east?.destroy();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("creates, reads, lists, updates, protects, deletes and restores a store", async () => {
    const created = await east.send(
      new CreateEventDataStoreCommand({ Name: "all-events", TagsList: [{ Key: "t", Value: "v" }] }),
    );
    assert.match(
      created.EventDataStoreArn!,
      new RegExp(`^arn:aws:cloudtrail:us-east-1:${TEST_ACCOUNT_ID}:eventdatastore/[0-9a-f-]{36}$`),
    );
    assert.equal(created.Status, "CREATED");
    assert.equal(created.TerminationProtectionEnabled, true);
    assert.equal(created.MultiRegionEnabled, true);
    assert.equal(created.RetentionPeriod, 366);
    assert.deepEqual(created.AdvancedEventSelectors?.[0]?.FieldSelectors, [
      { Field: "eventCategory", Equals: ["Management"] },
    ]);
    const id = created.EventDataStoreArn!.split("/")[1]!;
    const got = await east.send(new GetEventDataStoreCommand({ EventDataStore: id }));
    assert.equal(got.Status, "ENABLED");
    assert.equal(got.Name, "all-events");
    await refuses(
      east.send(new CreateEventDataStoreCommand({ Name: "all-events" })),
      "EventDataStoreAlreadyExistsException",
    );
    await refuses(
      east.send(new CreateEventDataStoreCommand({ Name: "x", RetentionPeriod: 5 })),
      "InvalidParameterException",
    );
    await refuses(
      east.send(new CreateEventDataStoreCommand({ Name: "bad-ret", RetentionPeriod: 4000 })),
      "InvalidParameterException",
    );
    await refuses(
      east.send(
        new CreateEventDataStoreCommand({
          Name: "bad-sel",
          AdvancedEventSelectors: [{ FieldSelectors: [{ Field: "nope", Equals: ["x"] }] }],
        }),
      ),
      "InvalidEventSelectorsException",
    );
    await refuses(
      east.send(new GetEventDataStoreCommand({ EventDataStore: "00000000-0000-4000-8000-000000000000" })),
      "EventDataStoreNotFoundException",
    );
    await refuses(
      east.send(new GetEventDataStoreCommand({ EventDataStore: "not-an-id" })),
      "EventDataStoreARNInvalidException",
    );
    const listed = await east.send(new ListEventDataStoresCommand({}));
    assert.deepEqual(
      listed.EventDataStores?.map((s) => s.Name),
      ["all-events"],
    );

    // Accounts are isolated: another account neither sees nor reaches the store.
    const other = await addPrincipal(server.dataDir, { accountId: "999988887777", name: "eve" });
    const eve = lakeClient(server.url, "us-east-1", other);
    assert.deepEqual((await eve.send(new ListEventDataStoresCommand({}))).EventDataStores, []);
    await refuses(eve.send(new GetEventDataStoreCommand({ EventDataStore: id })), "EventDataStoreNotFoundException");
    eve.destroy();

    await refuses(
      east.send(new StartEventDataStoreIngestionCommand({ EventDataStore: id })),
      "InvalidEventDataStoreStatusException",
    );
    await east.send(new StopEventDataStoreIngestionCommand({ EventDataStore: id }));
    assert.equal((await east.send(new GetEventDataStoreCommand({ EventDataStore: id }))).Status, "STOPPED_INGESTION");
    await east.send(new StartEventDataStoreIngestionCommand({ EventDataStore: created.EventDataStoreArn! }));
    await refuses(east.send(new UpdateEventDataStoreCommand({ EventDataStore: id })), "InvalidParameterException");
    await refuses(
      east.send(new DeleteEventDataStoreCommand({ EventDataStore: id })),
      "EventDataStoreTerminationProtectedException",
    );
    const updated = await east.send(
      new UpdateEventDataStoreCommand({ EventDataStore: id, TerminationProtectionEnabled: false, RetentionPeriod: 90 }),
    );
    assert.equal(updated.RetentionPeriod, 90);
    await east.send(new DeleteEventDataStoreCommand({ EventDataStore: id }));
    assert.equal((await east.send(new GetEventDataStoreCommand({ EventDataStore: id }))).Status, "PENDING_DELETION");
    await refuses(
      east.send(new StartQueryCommand({ QueryStatement: `SELECT count(*) FROM ${id}` })),
      "InactiveEventDataStoreException",
    );
    await refuses(
      east.send(new DeleteEventDataStoreCommand({ EventDataStore: id })),
      "InactiveEventDataStoreException",
    );
    const restored = await east.send(new RestoreEventDataStoreCommand({ EventDataStore: id }));
    assert.equal(restored.Status, "ENABLED");
    await refuses(
      east.send(new RestoreEventDataStoreCommand({ EventDataStore: id })),
      "InvalidEventDataStoreStatusException",
    );
  });

  it("makes ingested events queryable within seconds, and refuses bad statements", async () => {
    const created = await east.send(
      new CreateEventDataStoreCommand({ Name: "live", TerminationProtectionEnabled: false }),
    );
    const id = created.EventDataStoreArn!.split("/")[1]!;
    const records = recentRecords(200, { accountId: TEST_ACCOUNT_ID });
    const ackedAt = Date.now();
    const response = await sendRaw(server.url, ingestCall(records, admin));
    assert.equal(response.status, 200, response.text);
    let count = 0;
    await pollUntil(
      async () => {
        const result = await queryAll(
          east,
          `SELECT count(*) AS n FROM ${id} WHERE eventSource <> 'cloudtrail.amazonaws.com'`,
        );
        count = Number(result.rows[0]?.[0]?.["n"]);
        return count >= 200;
      },
      // 5 s from the acknowledgement, as before.
      { timeoutMs: Math.max(0, ackedAt + 5000 - Date.now()), intervalMs: 100, message: "200 events queryable" },
    );
    const freshnessMs = Date.now() - ackedAt;
    process.stdout.write(`# live freshness: ${freshnessMs} ms from ack to all 200 events queryable\n`);
    assert.equal(count, 200);

    const expected = new Map<string, number>();
    for (const r of records) expected.set(String(r["eventName"]), (expected.get(String(r["eventName"])) ?? 0) + 1);
    const byName = await queryAll(
      east,
      `SELECT eventName, count(*) AS n, max(userIdentity.accountId) AS acct FROM ${created.EventDataStoreArn} ` +
        `WHERE eventTime > '2000-01-01 00:00:00' AND eventSource <> 'cloudtrail.amazonaws.com' GROUP BY eventName ORDER BY n DESC, eventName`,
    );
    assert.deepEqual(new Map(byName.rows.map((row) => [row[0]!["eventName"]!, Number(row[1]!["n"])])), expected);
    assert.equal(byName.rows[0]![2]!["acct"], TEST_ACCOUNT_ID);
    const timeRow = await queryAll(
      east,
      `SELECT eventTime, element_at(requestParameters, 'nope') AS missing FROM ${id} LIMIT 1`,
    );
    assert.match(timeRow.rows[0]![0]!["eventTime"]!, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);

    // Paging: 200 rows in pages of 75.
    const { QueryId } = await east.send(
      new StartQueryCommand({
        QueryStatement: `SELECT eventID FROM ${id} WHERE eventSource <> 'cloudtrail.amazonaws.com'`,
      }),
    );
    await queryAll(east, `SELECT 1 AS x FROM ${id} LIMIT 1`);
    let pages = 0;
    let total = 0;
    let token: string | undefined;
    for (;;) {
      const nextToken = token;
      const page = await pollUntil(
        async () => {
          const got = await east.send(
            new GetQueryResultsCommand({
              QueryId,
              MaxQueryResults: 75,
              ...(nextToken ? { NextToken: nextToken } : {}),
            }),
          );
          return got.QueryStatus === "FINISHED" ? got : undefined;
        },
        // Unbounded as before: the test's timeout applies.
        { timeoutMs: Number.POSITIVE_INFINITY, intervalMs: 20, message: `query ${QueryId} to finish` },
      );
      pages++;
      total += page.QueryResultRows!.length;
      assert.equal(page.QueryStatistics?.TotalResultsCount, 200);
      token = page.NextToken;
      if (!token) break;
    }
    assert.deepEqual([pages, total], [3, 200]);
    const listed = await east.send(new ListQueriesCommand({ EventDataStore: id }));
    assert.ok(listed.Queries!.some((q) => q.QueryId === QueryId && q.QueryStatus === "FINISHED"));
    await refuses(east.send(new CancelQueryCommand({ QueryId })), "InactiveQueryException");

    await refuses(
      east.send(new StartQueryCommand({ QueryStatement: `DELETE FROM ${id}` })),
      "InvalidQueryStatementException",
      /Only SELECT/,
    );
    await refuses(
      east.send(new StartQueryCommand({ QueryStatement: `DROP TABLE ${id}` })),
      "InvalidQueryStatementException",
      /Only SELECT/,
    );
    await refuses(
      east.send(new StartQueryCommand({ QueryStatement: `SELEC eventName FROM ${id}` })),
      "InvalidQueryStatementException",
    );
    await refuses(
      east.send(new StartQueryCommand({ QueryStatement: `SELECT 1; SELECT 2 FROM ${id}` })),
      "InvalidQueryStatementException",
    );
    await refuses(
      east.send(new StartQueryCommand({ QueryStatement: "SELECT 1" })),
      "InvalidQueryStatementException",
      /event data store/,
    );
    await refuses(
      east.send(new StartQueryCommand({ QueryStatement: `SELECT * FROM read_text('/etc/passwd'), ${id}` })),
      "InvalidQueryStatementException",
      /not allowed/,
    );
    await refuses(
      east.send(new StartQueryCommand({ QueryStatement: "SELECT * FROM 00000000-0000-4000-8000-000000000000" })),
      "EventDataStoreNotFoundException",
    );
    const failed = await queryAll(east, `SELECT no_such_column FROM ${id}`);
    assert.equal(failed.status, "FAILED");
    assert.match(failed.error ?? "", /no_such_column/);
    assert.doesNotMatch(failed.error ?? "", /eds_|cairn_/);
    const failedId = (await east.send(new ListQueriesCommand({ EventDataStore: id, QueryStatus: "FAILED" })))
      .Queries![0]!.QueryId;
    const described = await east.send(new DescribeQueryCommand({ QueryId: failedId }));
    assert.equal(described.QueryStatistics?.EventsScanned, 0);
    await refuses(
      east.send(new StartQueryCommand({ QueryStatement: `SELECT * FORM ${id}` })),
      "InvalidQueryStatementException",
      new RegExp(`^(?!.*eds_).*near "${id}"`, "s"),
    );

    // Cairn extension: the store's name in FROM (Lake takes its id or ARN only).
    const byStoreName = await queryAll(
      east,
      `SELECT count(*) AS n FROM live WHERE eventSource <> 'cloudtrail.amazonaws.com'`,
    );
    assert.equal(byStoreName.rows[0]?.[0]?.["n"], "200");
    const joined = await queryAll(east, `SELECT count(*) AS n FROM "live" a JOIN ${id} b ON a.eventID = b.eventID`);
    assert.ok(Number(joined.rows[0]?.[0]?.["n"]) >= 200);
    const nameFailed = await queryAll(east, `SELECT nope FROM live`);
    assert.equal(nameFailed.status, "FAILED");
    assert.doesNotMatch(nameFailed.error ?? "", /eds_/);
    await refuses(
      east.send(new StartQueryCommand({ QueryStatement: "SELECT * FROM no-such-store" })),
      "InvalidQueryStatementException",
      /event data store/,
    );
  });

  it("limits an account to 10 concurrent queries and cancels a running one", async () => {
    const created = await east.send(new CreateEventDataStoreCommand({ Name: "busy" }));
    const id = created.EventDataStoreArn!.split("/")[1]!;
    // A slow query: a large cross product of a range (DuckDB runs it on its own threads).
    const slow = `WITH s AS (SELECT count(*) AS c FROM ${id}) SELECT count(*) FROM range(20000000000) a, s WHERE a.range % 7 = 3 + s.c`;
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await east.send(new StartQueryCommand({ QueryStatement: slow }))).QueryId!);
    await refuses(east.send(new StartQueryCommand({ QueryStatement: slow })), "MaxConcurrentQueriesException");
    for (const queryId of ids) {
      try {
        const cancelled = await east.send(new CancelQueryCommand({ QueryId: queryId }));
        assert.equal(cancelled.QueryStatus, "CANCELLED");
      } catch (error) {
        assert.equal((error as Error).name, "InactiveQueryException");
      }
    }
  });

  it("holds DescribeQuery and GetQueryResults for a running query until it ends, at most a second", async () => {
    const created = await east.send(new CreateEventDataStoreCommand({ Name: "waiting" }));
    const id = created.EventDataStoreArn!.split("/")[1]!;
    // A quick query: every answer before its end was held about a second, and the end brings the rows.
    const { QueryId: quick } = await east.send(
      new StartQueryCommand({ QueryStatement: `SELECT 7 AS n FROM ${id} LIMIT 1` }),
    );
    for (;;) {
      const asked = performance.now();
      const page = await east.send(new GetQueryResultsCommand({ QueryId: quick }));
      if (page.QueryStatus === "FINISHED") break;
      assert.ok(["QUEUED", "RUNNING"].includes(page.QueryStatus!), page.QueryStatus);
      assert.ok(performance.now() - asked >= 950, "a RUNNING answer comes only after the wait");
    }
    // A slow one: DescribeQuery holds its RUNNING answer about a second, and answers its end when it comes.
    const slow = `WITH s AS (SELECT count(*) AS c FROM ${id}) SELECT count(*) FROM range(20000000000) a, s WHERE a.range % 7 = 3 + s.c`;
    const { QueryId } = await east.send(new StartQueryCommand({ QueryStatement: slow }));
    const asked = performance.now();
    const running = await east.send(new DescribeQueryCommand({ QueryId }));
    assert.ok(["QUEUED", "RUNNING"].includes(running.QueryStatus!), running.QueryStatus);
    assert.ok(performance.now() - asked >= 950, "held about a second");
    const describing = east.send(new DescribeQueryCommand({ QueryId }));
    await new Promise((resolve) => setTimeout(resolve, 200));
    await east.send(new CancelQueryCommand({ QueryId }));
    assert.equal((await describing).QueryStatus, "CANCELLED", "the held answer is the query's end");
  });
});
