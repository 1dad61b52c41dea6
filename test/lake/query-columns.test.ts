import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DuckDBInstance } from "@duckdb/node-api";
import { recordToRow } from "../../src/lake/engine/lake-schema.js";
import { sqlString, writeParquet } from "../../src/lake/engine/parquet-writer.js";
import { connectForQuery, openDuck, runQuery } from "../../src/lake/engine/query-engine.js";
import { viewNameOf } from "../../src/lake/engine/query-sql.js";
import type { IngestProvenance } from "../../src/model/provenance.js";
import type { CloudTrailRecord } from "../../src/model/record.js";

const OLD_ONLY = "0f1e2d3c-4b5a-4697-8877-665544332211";
const MIXED = "aaaabbbb-cccc-4ddd-8eee-ffff00001111";
const ALICE: IngestProvenance = {
  source: "ingest",
  principalArn: "arn:aws:iam::111122223333:user/alice",
  accessKeyId: "AKIAALICE00000000001",
};

function record(eventID: string): CloudTrailRecord {
  return {
    eventVersion: "1.08",
    userIdentity: { type: "Root", arn: "arn:aws:iam::111122223333:root", accountId: "111122223333" },
    eventTime: "2024-03-01T10:00:00Z",
    eventSource: "iam.amazonaws.com",
    eventName: "CreateAccessKey",
    awsRegion: "us-east-1",
    eventID,
    recipientAccountId: "111122223333",
  } as CloudTrailRecord;
}

/**
 * Stores written before cairnIngestedBy existed: a query naming the column reads NULL from their
 * files, whether every file of the store predates it or only some.
 */
describe("Lake columns a store's files predate", () => {
  let dir: string;
  let duck: DuckDBInstance;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "cairn-query-columns-"));
    duck = await openDuck(dir);
  });

  after(() => {
    duck?.closeSync();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes a file of today's schema, and for `old`, rewrites it without cairnIngestedBy (a file of an older Cairn). */
  async function writeFile(store: string, name: string, eventID: string, old: boolean): Promise<void> {
    const json = JSON.stringify(record(eventID));
    const target = { lakeDir: dir, edsId: store, eventDate: "2024-03-01", name };
    const path = await writeParquet(duck, target, [recordToRow(record(eventID), json, ALICE)]);
    if (!old) return;
    const connection = await duck.connect();
    try {
      const oldPath = path.replace(/\.parquet$/, ".old");
      await connection.run(
        `COPY (SELECT * EXCLUDE ("cairnIngestedBy") FROM read_parquet(${sqlString(path)})) TO ${sqlString(oldPath)} (FORMAT parquet)`,
      );
      rmSync(path);
      await connection.run(
        `COPY (SELECT * FROM read_parquet(${sqlString(oldPath)})) TO ${sqlString(path)} (FORMAT parquet)`,
      );
      rmSync(oldPath);
    } finally {
      connection.closeSync();
    }
  }

  async function rows(store: string, sql: string): Promise<string[][]> {
    const { connection } = await connectForQuery(duck, dir, [store]);
    try {
      return (await runQuery(connection, sql.replace("$store", viewNameOf(store)))).rows;
    } finally {
      connection.closeSync();
    }
  }

  it("reads NULL from a store whose every file predates the column", async () => {
    await writeFile(OLD_ONLY, "old-1", "e-old-1", true);
    await writeFile(OLD_ONLY, "old-2", "e-old-2", true);
    assert.deepEqual(await rows(OLD_ONLY, `SELECT eventID, cairnIngestedBy FROM $store ORDER BY 1`), [
      ["e-old-1", ""],
      ["e-old-2", ""],
    ]);
    assert.deepEqual(await rows(OLD_ONLY, `SELECT count(*) FROM $store WHERE cairnIngestedBy.principalArn IS NULL`), [
      ["2"],
    ]);
  });

  it("reads NULL from the older files and the value from the newer ones of one store", async () => {
    await writeFile(MIXED, "old", "e-old", true);
    await writeFile(MIXED, "new", "e-new", false);
    assert.deepEqual(
      await rows(MIXED, `SELECT eventID, cairnIngestedBy.principalArn, cairnIngestedBy.source FROM $store ORDER BY 1`),
      [
        ["e-new", ALICE.principalArn!, "ingest"],
        ["e-old", "", ""],
      ],
    );
  });
});
