import { it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { API_ERRORS } from "../../src/lib/api-error.js";
import { REPO_ROOT } from "../helpers/server-process.js";

it("docs/reference/errors.md lists every API error with its status, and nothing else", () => {
  const doc = readFileSync(join(REPO_ROOT, "docs/reference/errors.md"), "utf8");
  const rows = new Map([...doc.matchAll(/^\|\s*`(\w+)`\s*\|\s*(\d{3})\s*\|/gm)].map((m) => [m[1]!, Number(m[2])]));
  assert.deepEqual([...rows.keys()].sort(), Object.keys(API_ERRORS).sort());
  for (const [code, status] of Object.entries(API_ERRORS)) assert.equal(rows.get(code), status, code);
});

it("maps every error the CloudTrail model declares for the implemented operations", () => {
  // botocore's LookupEvents errors (spec §4.4): each must be in the catalogue.
  const lookupEventsErrors = [
    "InvalidLookupAttributesException",
    "InvalidTimeRangeException",
    "InvalidMaxResultsException",
    "InvalidNextTokenException",
    "InvalidEventCategoryException",
    "UnsupportedOperationException",
    "OperationNotPermittedException",
  ];
  for (const code of lookupEventsErrors) assert.ok(code in API_ERRORS, code);
});
