import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { REJECTION_CODES, REJECTION_REASONS, reject } from "../../src/normalize/reasons.js";

test("every rejection code is documented in docs/reference/ingest-rules.md", () => {
  const doc = readFileSync("docs/reference/ingest-rules.md", "utf8");
  for (const code of REJECTION_CODES) assert.ok(doc.includes(`\`${code}\``), `${code} missing from ingest-rules.md`);
});

test("codes are snake_case and templates are sentences", () => {
  for (const code of REJECTION_CODES) {
    assert.match(code, /^[a-z]+(_[a-z]+)*$/);
    assert.match(REJECTION_REASONS[code].template, /^[A-Za-z{].*\.$/);
  }
});

test("reject fills placeholders and leaves unknown ones visible", () => {
  assert.deepEqual(reject("missing_field", { field: "eventTime", hint: "send it" }), {
    ok: false,
    errorCode: "missing_field",
    message: "Required field eventTime is missing; send it.",
  });
  assert.match(reject("missing_field").message, /\{field\}/);
});
