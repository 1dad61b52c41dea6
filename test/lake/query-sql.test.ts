import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { publicErrorMessage, rewriteLakeSql } from "../../src/lake/engine/query-sql.js";

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

  it("replaces a store's name after FROM or JOIN, bare or quoted, and nothing else of that name", () => {
    const names = new Map([["all-events", ID]]);
    const sql = `SELECT 'all-events' AS x, t.e AS "all-events" FROM all-events t JOIN "all-events" u ON true`;
    const out = rewriteLakeSql(sql, names);
    const view = `"eds_${ID.replaceAll("-", "_")}"`;
    assert.equal(out.sql, `SELECT 'all-events' AS x, t.e AS "all-events" FROM ${view} t JOIN ${view} u ON true`);
    assert.deepEqual(out.storeIds, [ID]);
    assert.equal(out.labels.get(view.slice(1, -1)), "all-events");
    assert.deepEqual(rewriteLakeSql("SELECT * FROM other-store", names).storeIds, []);
  });

  it("says whether the statement needs the caller's store names (not for ids, ARNs or quoted columns)", () => {
    assert.equal(rewriteLakeSql(`SELECT "all-events" FROM ${ID} JOIN "${ID}" u ON true`).looksUpNames, false);
    assert.equal(rewriteLakeSql(`SELECT * FROM ${ID} JOIN all-events u ON true`).looksUpNames, true);
    assert.equal(rewriteLakeSql(`SELECT * FROM "all-events"`).looksUpNames, true);
  });

  it("names the store in engine errors as the statement did, never the internal view or macros", () => {
    const out = rewriteLakeSql(`SELECT foo FROM all-events`, new Map([["all-events", ID]]));
    const view = `eds_${ID.replaceAll("-", "_")}`;
    const binder = `Binder Error: Referenced column "foo" not found in FROM clause!\nCandidate bindings: "errorCode"\n\nLINE 1: SELECT foo FROM "${view}"\n               ^`;
    assert.equal(
      publicErrorMessage(binder, out.labels),
      'Binder Error: Referenced column "foo" not found in FROM clause!\nCandidate bindings: "errorCode"',
    );
    assert.equal(
      publicErrorMessage(`syntax error at or near ""${view}""`, out.labels),
      'syntax error at or near "all-events"',
    );
    assert.equal(
      publicErrorMessage(
        'Catalog Error: Table with name nothere does not exist!\nDid you mean "pg_indexes"?',
        out.labels,
      ),
      "Catalog Error: Table with name nothere does not exist!",
    );
    assert.equal(
      publicErrorMessage("Binder Error: Macro cairn_element_at() does not support the supplied arguments.", out.labels),
      "Binder Error: Macro element_at() does not support the supplied arguments.",
    );
  });
});
