import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { neutralizeFormula, toCsv } from "../../src/lib/csv.js";
import { parseCsv } from "../helpers/csv.js";

/** The console's CSV downloads (console/src/api/download.ts re-exports toCsv), without a browser. */
describe("CSV export against spreadsheet formula injection", () => {
  it("prefixes cells that a spreadsheet would evaluate with a single quote", () => {
    for (const text of [
      '=HYPERLINK("http://evil.example","x")',
      "+cmd|' /C calc'!A0",
      "-2+3+cmd|' /C calc'!A0",
      "@SUM(1+1)",
      "\t=1+1",
      "\r=1+1",
      "=",
      "-",
    ]) {
      assert.equal(neutralizeFormula(text), `'${text}`, JSON.stringify(text));
    }
  });

  it("leaves ordinary text and plain numbers alone", () => {
    for (const text of ["", "ConsoleLogin", "aws-cli/2.15.0", "a=b", "x-1", "'quoted", "-5", "+1.5e3", "-0.25", "42"]) {
      assert.equal(neutralizeFormula(text), text, JSON.stringify(text));
    }
  });

  it("writes RFC 4180 that reads back to the neutralised cells, quotes and line breaks intact", () => {
    const rows = [
      ["=1+1", 'say "hi", then\r\nleave', null, { a: 1 }, -7],
      ["@me", "plain", undefined, ["x"], "-x"],
    ];
    const csv = toCsv(["f1", "f2", "f3", "f4", "f5"], rows);
    assert.ok(csv.endsWith("\r\n"));
    assert.deepEqual(parseCsv(csv), [
      ["f1", "f2", "f3", "f4", "f5"],
      ["'=1+1", 'say "hi", then\r\nleave', "", '{"a":1}', "-7"],
      ["'@me", "plain", "", '["x"]', "'-x"],
    ]);
  });
});
