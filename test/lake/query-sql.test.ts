import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { rewriteLakeSql } from "../../src/lake/engine/query-sql.js";

const ID = "0f1e2d3c-4b5a-4968-8776-655443322110";

describe("Lake SQL rewriting", () => {
  it("replaces store ids and ARNs in FROM, not inside literals or comments", () => {
    const sql = `SELECT '${ID}' AS s -- ${ID}\nFROM arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/${ID} a JOIN "${ID.toUpperCase()}" b ON a.eventID = b.eventID`;
    const out = rewriteLakeSql(sql);
    assert.deepEqual(out.storeIds, [ID]);
    assert.equal(out.firstKeyword, "SELECT");
    const view = `"eds_${ID.replaceAll("-", "_")}"`;
    assert.equal(out.sql, `SELECT '${ID}' AS s -- ${ID}\nFROM ${view} a JOIN ${view} b ON a.eventID = b.eventID`);
  });

  it("renames Trino functions whose DuckDB namesake differs", () => {
    const out = rewriteLakeSql(`select element_at(requestParameters, 'x'), date_add('day', 1, eventTime) from ${ID}`);
    assert.match(out.sql, /cairn_element_at\(requestParameters, 'x'\), cairn_date_add\('day', 1, eventTime\)/);
  });

  it("reports the first keyword of non-queries", () => {
    assert.equal(rewriteLakeSql(`/* c */ DELETE FROM ${ID}`).firstKeyword, "DELETE");
  });
});
