import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createHttpApp } from "../../src/http/http-app.js";
import { storeUnavailableAnswer } from "../../src/http/store-unavailable.js";
import { StoreUnavailableError, TransientError } from "../../src/lib/transient-error.js";

const DOWN = new StoreUnavailableError("PostgreSQL at postgres://cairn@db.internal:5432/cairn is unavailable: refused");

describe("a store that cannot be reached is answered 503 with Retry-After", () => {
  it("finds the store's failure as the error or among its causes, and nothing else", () => {
    for (const error of [DOWN, new Error("applying a batch failed", { cause: DOWN })]) {
      const answer = storeUnavailableAnswer(error);
      assert.equal(answer?.code, "ServiceUnavailableException");
      assert.equal(answer?.status, 503);
      assert.doesNotMatch(answer.message, /db\.internal|postgres/, "no address of the store");
    }
    for (const error of [new Error("bug"), new TransientError("busy"), "text", undefined])
      assert.equal(storeUnavailableAnswer(error), undefined);
  });

  it("answers a route that fails on an unreachable store 503, not 500, and logs no internal error", async () => {
    const internal: unknown[] = [];
    const app = createHttpApp(
      async () => undefined,
      (error) => internal.push(error),
    );
    app.get("/needs-database", async () => {
      throw DOWN;
    });
    try {
      const reply = await app.inject({ method: "GET", url: "/needs-database" });
      assert.equal(reply.statusCode, 503);
      assert.equal(reply.headers["retry-after"], "1");
      assert.match(reply.body, /ServiceUnavailableException/);
      assert.doesNotMatch(reply.body, /db\.internal/);
      assert.deepEqual(internal, []);
    } finally {
      await app.close();
    }
  });
});
