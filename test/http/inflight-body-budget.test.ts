import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { PassThrough, Writable } from "node:stream";
import { InflightBodyBudget } from "../../src/http/inflight-body-budget.js";
import { ApiError } from "../../src/lib/api-error.js";

/** Stands in for a ServerResponse: a writable that is done once ended or destroyed. */
function response(): Writable {
  return new Writable({ write: (_chunk, _encoding, callback) => callback() });
}

function refusalCode(action: () => void): string | undefined {
  try {
    action();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return error.code;
  }
}

describe("InflightBodyBudget", () => {
  it("refuses what does not fit now with 503, and what could never fit with 413", () => {
    const budget = new InflightBodyBudget(1000);
    budget.reserve(600);
    assert.equal(
      refusalCode(() => budget.reserve(500)),
      "ServiceUnavailableException",
    );
    assert.equal(
      refusalCode(() => budget.reserve(1001)),
      "RequestEntityTooLargeException",
    );
    budget.release(600);
    budget.reserve(1000);
    assert.equal(budget.heldBytes, 1000);
    const unavailable = (() => {
      try {
        budget.reserve(1);
      } catch (error) {
        return error as ApiError;
      }
      return undefined;
    })();
    assert.equal(unavailable?.status, 503);
    assert.equal(unavailable?.headers["retry-after"], "1");
  });

  it("holds a declared body until its response is done, whether sent or torn down", async () => {
    const budget = new InflightBodyBudget(1000);
    const sent = response();
    const lost = response();
    budget.holdUntilDone(sent, 400);
    budget.holdUntilDone(lost, 500);
    assert.equal(budget.heldBytes, 900);
    sent.end();
    await once(sent, "finish");
    lost.destroy();
    await once(lost, "close");
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(budget.heldBytes, 0);
  });

  it("meters a chunked body as it arrives and fails it once it does not fit", async () => {
    const budget = new InflightBodyBudget(1000);
    budget.reserve(500);
    const body = new PassThrough();
    const done = response();
    const metered = budget.meter(body, done);
    const received: Buffer[] = [];
    metered.on("data", (chunk: Buffer) => received.push(chunk));
    const failed = once(metered, "error");
    body.write(Buffer.alloc(300));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(budget.heldBytes, 800);
    body.write(Buffer.alloc(300));
    const [error] = (await failed) as [ApiError];
    assert.equal(error.code, "ServiceUnavailableException");
    assert.equal(Buffer.concat(received).length, 300, "what did not fit was not passed on");
    done.destroy();
    await once(done, "close");
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(budget.heldBytes, 500, "the metered body's bytes are released; the other reservation stays");
  });
});
