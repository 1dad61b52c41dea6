/**
 * No record the ingest rules accept is one DuckDB refuses (issue #11): for every typed place of the
 * Lake's schema and a value of every other JSON type there, the records normalisation accepts are
 * written by both real writers (the Lake writer's recordToRow + writeParquet, the import's rowLine +
 * writeImportChunk) into the same rows, with the value NULL in its typed column and as sent in
 * eventJson. Two real shapes are checked by name: an `onBehalfOf` that is not an object, and
 * `creationDate` strings (CloudTrail's basic ISO-8601 form among them).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { writeImportChunk } from "../../src/control-plane/lake/import/bulk-writer.js";
import { rowLine } from "../../src/control-plane/lake/import/import-rows.js";
import { recordToRow } from "../../src/lake/engine/lake-schema.js";
import { writeParquet } from "../../src/lake/engine/parquet-writer.js";
import { normalizeIngestedRecord } from "../../src/normalize/pipeline.js";
import type { CloudTrailRecord } from "../../src/model/record.js";
import { lakePlaces, wrongTypedRecords, type WrongTypedRecord } from "../helpers/lake-columns.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";

interface Accepted {
  readonly record: CloudTrailRecord;
  readonly json: string;
  readonly source: WrongTypedRecord | undefined;
}

function normalized(raw: RawRecord, source?: WrongTypedRecord): Accepted | undefined {
  const result = normalizeIngestedRecord(raw, { receivedAtMs: Date.now() });
  return result.ok ? { record: result.record, json: result.json, source } : undefined;
}

/** A base record with `userIdentity` members replaced, in CloudTrail's own spelling. */
function withIdentity(base: RawRecord, members: RawRecord): RawRecord {
  return {
    ...base,
    eventID: crypto.randomUUID(),
    userIdentity: { ...(base["userIdentity"] as RawRecord), ...members },
  };
}

function withCreationDate(base: RawRecord, creationDate: unknown): RawRecord {
  return withIdentity(base, { sessionContext: { attributes: { creationDate, mfaAuthenticated: "false" } } });
}

describe("Lake rows: every typed column takes a value of any JSON type", () => {
  const lakeDir = mkdtempSync(join(tmpdir(), "cairn-lake-row-types-"));
  let duck: DuckDBInstance;
  const bases = recentRecords(50, { accountId: "123456789012" });
  const named = {
    onBehalfOfList: withIdentity(bases[0]!, { onBehalfOf: ["x"] }),
    onBehalfOfString: withIdentity(bases[1]!, { onBehalfOf: "d-9067642ac7" }),
    notADate: withCreationDate(bases[2]!, "not-a-date"),
    basicForm: withCreationDate(bases[3]!, "20131102T010628Z"),
    offset: withCreationDate(bases[4]!, "2023-07-19T21:11:57.25+02:00"),
    extended: withCreationDate(bases[5]!, "2023-07-19T21:11:57Z"),
  };
  const accepted: Accepted[] = [];
  let offered = 0;

  before(async () => {
    duck = await DuckDBInstance.create(":memory:");
    for (const [name, raw] of Object.entries(named)) {
      const result = normalized(raw);
      assert.ok(result !== undefined, `${name} is accepted by the ingest rules`);
      accepted.push(result);
    }
    for (const source of wrongTypedRecords(bases)) {
      offered++;
      const result = normalized(source.record, source);
      if (result !== undefined) accepted.push(result);
    }
  });
  after(() => {
    duck?.closeSync();
    rmSync(lakeDir, { recursive: true, force: true });
  });

  /** The places whose rows DuckDB refuses one by one, to name them when the whole write fails. */
  async function refusedPlaces(): Promise<string[]> {
    const refused: string[] = [];
    for (const item of accepted)
      await writeParquet(duck, { lakeDir, edsId: "probe", eventDate: "x", name: "one" }, [
        recordToRow(item.record, item.json),
      ]).catch((error: Error) =>
        refused.push(`${item.source?.place.path.join(".")} = ${JSON.stringify(item.source?.value)}: ${error.message}`),
      );
    return refused;
  }

  it("the Lake writer writes every accepted record", async () => {
    assert.ok(lakePlaces().length > 60, "the schema's places are enumerated, struct members included");
    process.stdout.write(`# ${offered} wrong-typed records, ${accepted.length} accepted by the ingest rules\n`);
    assert.ok(accepted.length > offered / 3, "enough of them reach the Lake for the test to mean something");
    const rows = accepted.map((item) => recordToRow(item.record, item.json));
    try {
      await writeParquet(duck, { lakeDir, edsId: "live", eventDate: "all", name: "live" }, rows);
    } catch (error) {
      assert.fail(`DuckDB refused rows: ${(error as Error).message}\n${(await refusedPlaces()).join("\n")}`);
    }
  });

  it("the import's bulk writer writes the same rows", async () => {
    const lines = accepted.map((item) => Buffer.from(`${rowLine(item.record, item.json)}\n`));
    const dates = accepted.map((item) => item.record.eventTime.slice(0, 10));
    await writeImportChunk(duck, { lakeDir, edsId: "import", name: "import" }, lines, dates);
    const connection = await duck.connect();
    try {
      const glob = (store: string): string =>
        `read_parquet('${join(lakeDir, store, "*", "*.parquet")}', hive_partitioning = false)`;
      const count = async (sql: string): Promise<number> =>
        Number((await connection.runAndReadAll(sql)).getRowObjects()[0]!["n"]);
      assert.equal(await count(`SELECT count(*) AS n FROM ${glob("import")}`), accepted.length);
      for (const [a, b] of [
        ["live", "import"],
        ["import", "live"],
      ])
        assert.equal(
          await count(`SELECT count(*) AS n FROM (SELECT * FROM ${glob(a!)} EXCEPT ALL SELECT * FROM ${glob(b!)})`),
          0,
          `rows in ${a} and not in ${b}`,
        );
    } finally {
      connection.closeSync();
    }
  });

  it("stores what its column cannot hold as NULL there and as sent in eventJson", async () => {
    const connection = await duck.connect();
    try {
      const row = async (raw: RawRecord): Promise<Record<string, unknown>> => {
        const rows = (
          await connection.runAndReadAll(
            `SELECT CAST(userIdentity.onbehalfof AS VARCHAR) AS onbehalfof,
                    strftime(userIdentity.sessioncontext.attributes.creationdate, '%Y-%m-%d %H:%M:%S.%f') AS creation,
                    eventJson
             FROM read_parquet('${join(lakeDir, "live", "*", "*.parquet")}') WHERE eventID = '${String(raw["eventID"])}'`,
          )
        ).getRowObjects();
        assert.equal(rows.length, 1, String(raw["eventID"]));
        return rows[0]!;
      };
      const identityInJson = (found: Record<string, unknown>): RawRecord =>
        (JSON.parse(String(found["eventJson"])) as { userIdentity: RawRecord }).userIdentity;
      for (const raw of [named.onBehalfOfList, named.onBehalfOfString]) {
        const found = await row(raw);
        assert.equal(found["onbehalfof"], null);
        assert.deepEqual(identityInJson(found)["onBehalfOf"], (raw["userIdentity"] as RawRecord)["onBehalfOf"]);
      }
      const notADate = await row(named.notADate);
      assert.equal(notADate["creation"], null);
      assert.deepEqual(identityInJson(notADate)["sessionContext"], {
        attributes: { creationDate: "not-a-date", mfaAuthenticated: "false" },
      });
      assert.equal((await row(named.basicForm))["creation"], "2013-11-02 01:06:28.000000");
      assert.equal((await row(named.offset))["creation"], "2023-07-19 19:11:57.250000");
      assert.equal((await row(named.extended))["creation"], "2023-07-19 21:11:57.000000");
    } finally {
      connection.closeSync();
    }
  });
});
