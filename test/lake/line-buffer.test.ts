/**
 * The import worker's LineBuffer: lines of any size and any UTF-8 width come back byte for byte at
 * their offsets, across growth, in a buffer of its own (safe to transfer to the main thread).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MessageChannel, receiveMessageOnPort } from "node:worker_threads";
import { LineBuffer } from "../../src/control-plane/lake/import/line-buffer.js";

const LINES = [
  '{"j":"ascii"}',
  '{"j":"\u00e9t\u00e9 \u2603 \ud83d\ude00"}', // two-, three- and four-byte characters
  "",
  `{"j":"${"x".repeat(5000)}"}`, // larger than the whole initial buffer: grows
  '{"j":"\ufffd"}',
];

describe("import LineBuffer", () => {
  it("returns every line, newline-terminated, at its offsets after growing", () => {
    const buffer = new LineBuffer(16);
    for (const line of LINES) buffer.push(line);
    assert.equal(buffer.count, LINES.length);
    const { lines, offsets } = buffer.finish();
    assert.equal(offsets.length, LINES.length + 1);
    assert.equal(offsets[LINES.length], lines.byteLength);
    const bytes = Buffer.from(lines.buffer, lines.byteOffset, lines.byteLength);
    assert.equal(bytes.toString("utf8"), LINES.map((line) => `${line}\n`).join(""));
    LINES.forEach((line, i) => {
      assert.equal(bytes.subarray(offsets[i]!, offsets[i + 1]!).toString("utf8"), `${line}\n`);
    });
  });

  it("owns its memory, so transferring it moves only its own lines", () => {
    const buffer = new LineBuffer(4096);
    buffer.push('{"j":"one"}');
    const { lines, offsets } = buffer.finish();
    assert.equal(lines.byteOffset, 0, "not a slice of Node's shared pool");
    const { port1, port2 } = new MessageChannel();
    port1.postMessage({ lines, offsets }, [lines.buffer as ArrayBuffer, offsets.buffer as ArrayBuffer]);
    assert.equal(lines.byteLength, 0, "the sender's view is detached by the transfer");
    const received = receiveMessageOnPort(port2)?.message as { lines: Uint8Array; offsets: Uint32Array };
    assert.equal(Buffer.from(received.lines).toString("utf8"), '{"j":"one"}\n');
    assert.deepEqual([...received.offsets], [0, 12]);
    port1.close();
  });
});
