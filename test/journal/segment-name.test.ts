import assert from "node:assert/strict";
import { it } from "node:test";
import { parseSegmentFileName, segmentFileName, sidecarFileName } from "../../src/journal/segment-name.js";

it("names segments by first seq, in lexical = seq order, and parses them back", () => {
  const cases: Array<[number, string]> = [
    [1, "0000000000000001.seg"],
    [1_000_001, "0000000001000001.seg"],
    [Number.MAX_SAFE_INTEGER, "9007199254740991.seg"],
  ];
  for (const [seq, name] of cases) {
    assert.equal(segmentFileName(seq), name);
    assert.equal(parseSegmentFileName(name), seq);
  }
  assert.equal(sidecarFileName(7), "0000000000000007.idx");
  assert.ok(segmentFileName(9) < segmentFileName(10));
  for (const bad of [
    "1.seg",
    "0000000000000000.seg",
    "0000000000000001.idx",
    "0000000000000001.seg.tmp",
    "dedup.sqlite",
  ]) {
    assert.equal(parseSegmentFileName(bad), null, bad);
  }
  assert.throws(() => segmentFileName(0), RangeError);
  assert.throws(() => segmentFileName(1.5), RangeError);
});
