import { strict as assert } from "node:assert";
import { finished, Transform, type Readable, type TransformCallback } from "node:stream";
import { ApiError } from "../lib/api-error.js";

/**
 * How many request-body bytes the server holds at once, across every caller (setting
 * `maxInflightBodyBytes`). Each route's own cap bounds one body; this bounds their sum, so that
 * many concurrent uploads cannot take the process's memory however each is sized.
 */
export class InflightBodyBudget {
  private inflightBytes = 0;

  constructor(readonly capacityBytes: number) {
    assert.ok(Number.isInteger(capacityBytes) && capacityBytes > 0, "the in-flight body budget is a positive integer");
  }

  /** Bytes held by bodies being read or handled now. */
  get heldBytes(): number {
    return this.inflightBytes;
  }

  /**
   * Reserves `bytes` or throws: 413 RequestEntityTooLargeException when a body of `totalBytes`
   * could never fit (more than the whole budget, so a retry cannot help), 503
   * ServiceUnavailableException with Retry-After when `bytes` do not fit now.
   */
  reserve(bytes: number, totalBytes: number = bytes): void {
    if (totalBytes > this.capacityBytes) {
      throw new ApiError(
        "RequestEntityTooLargeException",
        `The request body (${totalBytes} bytes or more) exceeds the server's limit of ${this.capacityBytes} bytes of request bodies in flight.`,
      );
    }
    if (this.inflightBytes + bytes > this.capacityBytes) {
      throw new ApiError(
        "ServiceUnavailableException",
        "The server is reading as many request bodies as it allows at once; nothing was done. Retry later.",
        { "retry-after": "1" },
      );
    }
    this.inflightBytes += bytes;
  }

  release(bytes: number): void {
    this.inflightBytes -= bytes;
    assert.ok(this.inflightBytes >= 0, "the in-flight body budget released more than it reserved");
  }

  /**
   * Holds `bytes` until `response` is done with (sent, failed or its connection lost), so the
   * reservation is released on every path, and only once.
   */
  holdUntilDone(response: NodeJS.WritableStream, bytes: number): void {
    this.reserve(bytes);
    finished(response, () => this.release(bytes));
  }

  /**
   * A pass-through for a body of unknown length (chunked): each chunk is reserved as it arrives,
   * and the stream fails with the refusal as soon as one does not fit. Everything reserved is
   * released when `response` is done with.
   */
  meter(body: Readable, response: NodeJS.WritableStream): Readable {
    let heldBytes = 0;
    let done = false;
    finished(response, () => {
      done = true;
      this.release(heldBytes);
    });
    const metered = new Transform({
      transform: (chunk: Buffer, _encoding, callback: TransformCallback) => {
        // The answer is out: what still arrives is discarded, never reserved (it would never be released).
        if (done) return callback();
        try {
          this.reserve(chunk.length, heldBytes + chunk.length);
        } catch (error) {
          body.unpipe(metered);
          return callback(error as Error);
        }
        heldBytes += chunk.length;
        callback(null, chunk);
      },
    });
    return body.pipe(metered);
  }
}
