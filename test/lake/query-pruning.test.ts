import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { checkStatement, connectForQuery, openDuck, runQuery } from "../../src/lake/engine/query-engine.js";
import { csvFiles, deliveryFolder, parseDeliveryUri } from "../../src/control-plane/lake/query-delivery.js";
import { partitionInRange, partitionRanges, type DateRange } from "../../src/lake/engine/query-pruning.js";
import { rewriteLakeSql } from "../../src/lake/engine/query-sql.js";

const A = "0f1e2d3c-4b5a-4697-8877-665544332211";
const B = "aaaabbbb-cccc-4ddd-8eee-ffff00001111";
const VIEW_A = `eds_${A.replaceAll("-", "_")}`;
const VIEW_B = `eds_${B.replaceAll("-", "_")}`;

describe("Lake partition pruning, value text and delivery helpers", () => {
  let dir: string;
  let duck: DuckDBInstance;
  let connection: DuckDBConnection;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "cairn-query-"));
    duck = await openDuck(dir);
    connection = await duck.connect();
  });

  after(() => {
    connection?.closeSync();
    duck?.closeSync();
    rmSync(dir, { recursive: true, force: true });
  });

  async function ranges(sql: string): Promise<Map<string, DateRange | undefined>> {
    const tree = await checkStatement(connection, rewriteLakeSql(sql).sql);
    return partitionRanges(tree, [VIEW_A, VIEW_B]);
  }

  it("bounds a store by literal eventTime comparisons, widened by a day", async () => {
    const cases: Array<[string, DateRange | undefined]> = [
      [`SELECT * FROM ${A}`, undefined],
      [`SELECT * FROM ${A} WHERE eventTime > '2024-03-10 12:00:00'`, { from: "2024-03-09" }],
      [`SELECT * FROM ${A} WHERE eventTime <= '2024-03-10'`, { to: "2024-03-11" }],
      [`SELECT * FROM ${A} WHERE '2024-03-10' < eventTime`, { from: "2024-03-09" }],
      [
        `SELECT * FROM ${A} WHERE eventTime = TIMESTAMP '2024-03-10 01:00:00'`,
        { from: "2024-03-09", to: "2024-03-11" },
      ],
      [
        `SELECT * FROM ${A} WHERE eventName = 'x' AND eventTime BETWEEN '2024-03-01' AND from_iso8601_timestamp('2024-03-05T00:00:00Z')`,
        { from: "2024-02-29", to: "2024-03-06" },
      ],
      [
        `SELECT * FROM ${A} WHERE eventTime >= '2024-03-01' AND eventTime >= '2024-03-04' AND eventTime < '2024-03-08'`,
        { from: "2024-03-03", to: "2024-03-09" },
      ],
      [`SELECT * FROM ${A} t WHERE t.eventTime > '2024-03-10'`, { from: "2024-03-09" }],
      [`SELECT * FROM ${A} WHERE eventTime > '2024-03-10' OR eventName = 'x'`, undefined],
      // DuckDB's parser already reads NOT (t > x) as t <= x.
      [`SELECT * FROM ${A} WHERE NOT (eventTime > '2024-03-10')`, { to: "2024-03-11" }],
      [`SELECT * FROM ${A} WHERE eventTime > date_add('day', -7, now())`, undefined],
      [`SELECT * FROM ${A} WHERE eventTime > '2024-03-10' UNION ALL SELECT * FROM ${A}`, undefined],
      [
        `SELECT * FROM ${A} WHERE eventTime > '2024-03-10' UNION ALL SELECT * FROM ${A} WHERE eventTime BETWEEN '2024-01-01' AND '2024-01-02'`,
        { from: "2023-12-31" },
      ],
      [
        `WITH recent AS (SELECT * FROM ${A} WHERE eventTime >= '2024-03-10') SELECT count(*) FROM recent`,
        { from: "2024-03-09" },
      ],
      [`SELECT * FROM (SELECT * FROM ${A}) s WHERE s.eventTime > '2024-03-10'`, undefined],
      [`SELECT * FROM ${A} CROSS JOIN UNNEST(resources) AS r(x) WHERE eventTime > '2024-03-10'`, undefined],
      [
        `SELECT * FROM ${A} a CROSS JOIN UNNEST(resources) AS r(x) WHERE a.eventTime > '2024-03-10'`,
        { from: "2024-03-09" },
      ],
    ];
    for (const [sql, expected] of cases) assert.deepEqual((await ranges(sql)).get(VIEW_A), expected, sql);
  });

  it("bounds each store of a join by its own qualified column only", async () => {
    const result = await ranges(
      `SELECT * FROM ${A} a JOIN ${B} b ON a.eventID = b.eventID WHERE a.eventTime > '2024-03-10' AND eventName = 'x'`,
    );
    assert.deepEqual(result.get(VIEW_A), { from: "2024-03-09" });
    assert.equal(result.get(VIEW_B), undefined);
    assert.ok(partitionInRange("2024-03-09", { from: "2024-03-09" }));
    assert.ok(!partitionInRange("2024-03-08", { from: "2024-03-09" }));
    assert.ok(partitionInRange("1999-01-01", undefined));
  });

  it("writes values as Lake does: NULL as an empty string, null inside maps, rows and arrays", async () => {
    const result = await runQuery(
      connection,
      `SELECT NULL AS n, true AS b, 42::BIGINT AS i, 2.0::DOUBLE AS d, avg(x) AS a, 1e20::DOUBLE AS big, 2.50 AS dec,
        TIMESTAMP '2024-01-02 03:04:05.6789' AS t, '2024-01-02T03:04:05Z'::TIMESTAMPTZ AS tz, DATE '2024-01-02' AS day,
        [1, NULL] AS arr, MAP {'k': NULL, 'j': 'v'} AS m,
        {'type': 'IAMUser', 'arn': NULL, 'at': TIMESTAMP '2024-01-02 00:00:00'} AS s,
        [{'arn': 'a', 'type': NULL}] AS resources, INTERVAL 90 MINUTE AS iv
       FROM (VALUES (1), (2)) v(x)`,
    );
    assert.deepEqual(result.columns.slice(0, 3), ["n", "b", "i"]);
    assert.deepEqual(result.rows, [
      [
        "",
        "true",
        "42",
        "2.0",
        "1.5",
        "1.0E20",
        "2.50",
        "2024-01-02 03:04:05.678",
        "2024-01-02 03:04:05.000",
        "2024-01-02",
        "[1, null]",
        "{k=null, j=v}",
        "{type=IAMUser, arn=null, at=2024-01-02 00:00:00.000}",
        "[{arn=a, type=null}]",
        "0 01:30:00.000",
      ],
    ]);
  });

  it("reads a store's files in the selected partitions, whether their schemas agree or not", async () => {
    const writer = await DuckDBInstance.create(":memory:");
    const w = await writer.connect();
    const file = (date: string, name: string): string => {
      mkdirSync(join(dir, A, `eventdate=${date}`), { recursive: true });
      return join(dir, A, `eventdate=${date}`, name);
    };
    await w.run(
      `COPY (SELECT 'a' AS eventName, TIMESTAMP '2024-03-01 10:00:00' AS eventTime) TO '${file("2024-03-01", "1.parquet")}'`,
    );
    await w.run(
      `COPY (SELECT 'b' AS eventName, TIMESTAMP '2024-03-05 10:00:00' AS eventTime) TO '${file("2024-03-05", "2.parquet")}'`,
    );
    const read = async (sql: string): Promise<{ rows: string[][]; events: number }> => {
      const rewritten = rewriteLakeSql(sql).sql;
      const tree = await checkStatement(connection, rewritten);
      const { connection: c, scan } = await connectForQuery(duck, dir, [A], partitionRanges(tree, [VIEW_A]));
      try {
        return { rows: (await runQuery(c, rewritten)).rows, events: scan.eventsScanned };
      } finally {
        c.closeSync();
      }
    };
    const all = `SELECT eventName, eventdate FROM ${A} ORDER BY 1`;
    assert.deepEqual(await read(all), {
      rows: [
        ["a", "2024-03-01"],
        ["b", "2024-03-05"],
      ],
      events: 2,
    });
    assert.deepEqual(await read(`SELECT eventName FROM ${A} WHERE eventTime > '2024-03-04'`), {
      rows: [["b"]],
      events: 1,
    });
    // A file written before a column existed: read by name, the missing column NULL.
    await w.run(
      `COPY (SELECT TIMESTAMP '2024-03-05 11:00:00' AS eventTime, 'c' AS eventName, true AS readOnly) TO '${file("2024-03-05", "3.parquet")}'`,
    );
    assert.deepEqual(await read(`SELECT eventName, readOnly FROM ${A} ORDER BY 1`), {
      rows: [
        ["a", ""],
        ["b", ""],
        ["c", "true"],
      ],
      events: 3,
    });
    w.closeSync();
    writer.closeSync();
  });

  it("parses DeliveryS3Uri and lays out the result files", () => {
    assert.deepEqual(parseDeliveryUri("s3://my-bucket"), { bucket: "my-bucket", prefix: "" });
    assert.deepEqual(parseDeliveryUri("s3://my.bucket/a/b/"), { bucket: "my.bucket", prefix: "a/b" });
    assert.throws(() => parseDeliveryUri("s3://B"), { name: "ApiError" });
    assert.equal(
      deliveryFolder({ bucket: "b", prefix: "p" }, "111122223333", "q-id", Date.UTC(2024, 0, 2, 3)),
      "p/AWSLogs/111122223333/CloudTrail-Lake/Query/2024/01/02/q-id/",
    );
    const files = csvFiles({
      columns: ["a", "b"],
      rows: [
        ["x,y", 'say "hi"'],
        ["", "line\nbreak"],
      ],
    });
    assert.deepEqual(
      files.map((f) => f.toString()),
      ['a,b\n"x,y","say ""hi"""\n,"line\nbreak"\n'],
    );
    const split = csvFiles({ columns: ["a"], rows: [["1"], ["2"], ["3"]] }, 6);
    assert.deepEqual(
      split.map((f) => f.toString()),
      ["a\n1\n2\n", "a\n3\n"],
    );
  });
});
