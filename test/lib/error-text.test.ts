import assert from "node:assert/strict";
import { it } from "node:test";
import { errorTextForHealth } from "../../src/lib/error-text.js";

it("keeps engine addresses, host addresses and server paths out of /health's error texts", () => {
  const text = errorTextForHealth(
    new Error(
      "PostgreSQL at postgres://cairn@db.internal:5432/audit is unavailable: connect ECONNREFUSED 10.0.0.5:5432 " +
        "(nats://nats-1.internal:4222, [fd00::1]:4222, /var/lib/cairn/lake/tmp/x.parquet)",
    ),
  );
  assert.equal(
    text,
    "PostgreSQL at postgres://… is unavailable: connect ECONNREFUSED <address> (nats://… <address>, <path>)",
  );
  assert.equal(errorTextForHealth("The journal is closed."), "The journal is closed.");
});
