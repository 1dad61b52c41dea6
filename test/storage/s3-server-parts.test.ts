import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bucketNameProblem, objectKeyProblem } from "../../src/stores/objects/names.js";
import { parseRange } from "../../src/http/s3-server/object-response.js";
import { resolveTarget } from "../../src/http/s3-server/resolve-target.js";
import { S3RequestError } from "../../src/http/s3-server/s3-errors.js";
import { escapeXml } from "../../src/lib/xml-text.js";
import { urlEncodeKey, xmlTimestamp } from "../../src/http/s3-server/xml.js";
import { compareUtf8 } from "../../src/stores/objects/utf8-order.js";

describe("resolveTarget", () => {
  const cases: [string | undefined, string, string | undefined, string | undefined][] = [
    ["127.0.0.1:7681", "/", undefined, undefined],
    ["127.0.0.1:7681", "/trail-bucket", "trail-bucket", undefined],
    ["127.0.0.1:7681", "/trail-bucket/", "trail-bucket", undefined],
    ["127.0.0.1:7681", "/trail-bucket?list-type=2", "trail-bucket", undefined],
    ["127.0.0.1:7681", "/trail-bucket/a%20b+c/%C3%BC?x-id=GetObject", "trail-bucket", "a b+c/ü"],
    ["127.0.0.1:7681", "/trail-bucket//double", "trail-bucket", "/double"],
    ["localhost:7681", "/trail-bucket/k", "trail-bucket", "k"],
    ["trail-bucket.localhost:7681", "/", "trail-bucket", undefined],
    ["Trail.Bucket.LOCALHOST", "/AWSLogs/k", "trail.bucket", "AWSLogs/k"],
    ["[::1]:7681", "/b/k", "b", "k"],
    [undefined, "/b/k", "b", "k"],
  ];
  for (const [host, url, bucket, key] of cases) {
    it(`${host ?? "(no host)"} ${url}`, () => {
      const target = resolveTarget(host, url);
      assert.equal(target.bucket, bucket);
      assert.equal(target.key, key);
    });
  }
  it("keeps the query apart", () => {
    const target = resolveTarget("127.0.0.1", "/b?location");
    assert.ok(target.query.has("location"));
    assert.equal(resolveTarget("127.0.0.1", "/b?prefix=a%2Bb+c").query.get("prefix"), "a+b c");
  });
  it("refuses broken percent-encoding", () => {
    assert.throws(
      () => resolveTarget("127.0.0.1", "/b/%E0%A4%A"),
      (error: unknown) => error instanceof S3RequestError && error.code === "InvalidURI",
    );
  });
});

describe("parseRange", () => {
  it("reads one bytes= range the way S3 does", () => {
    assert.deepEqual(parseRange("bytes=0-1", 10), { first: 0, last: 1 });
    assert.deepEqual(parseRange("bytes=5-", 10), { first: 5, last: 9 });
    assert.deepEqual(parseRange("bytes=-3", 10), { first: 7, last: 9 });
    assert.deepEqual(parseRange("bytes=-30", 10), { first: 0, last: 9 });
    assert.deepEqual(parseRange("bytes=8-100", 10), { first: 8, last: 9 });
    for (const ignored of [undefined, "bytes=0-1,3-4", "items=0-1", "bytes=5-2", "bytes=-", "garbage"]) {
      assert.equal(parseRange(ignored, 10), undefined, String(ignored));
    }
    for (const unsatisfiable of ["bytes=10-", "bytes=-0"]) {
      assert.throws(
        () => parseRange(unsatisfiable, 10),
        (error: unknown) => error instanceof S3RequestError && error.code === "InvalidRange",
      );
    }
    assert.throws(() => parseRange("bytes=0-0", 0), S3RequestError);
  });
});

describe("XML and URL encoding", () => {
  it("escapes markup and keeps whitespace controls as character references", () => {
    assert.equal(escapeXml(`a&b<c>d"e'f`), "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    assert.equal(escapeXml("line\r\nnext\ttab"), "line&#13;&#10;next&#9;tab");
    assert.equal(escapeXml("ü😀"), "ü😀");
  });
  it("writes S3 timestamps with milliseconds, truncated to the second", () => {
    assert.equal(xmlTimestamp(Date.UTC(2026, 10, 20, 10, 0, 0, 999)), "2026-11-20T10:00:00.000Z");
  });
  it("url-encodes keys so unquote_plus gives them back", () => {
    assert.equal(urlEncodeKey("a b+c/ü&"), "a%20b%2Bc/%C3%BC%26");
  });
});

describe("names and ordering", () => {
  it("compares in UTF-8 byte order", () => {
    assert.ok(compareUtf8("\uFF61", "\u{1F600}") < 0);
    assert.ok("\uFF61" > "\u{1F600}", "UTF-16 order disagrees, which is why compareUtf8 exists");
    assert.ok(compareUtf8("a-c", "a/b") < 0);
    assert.equal(compareUtf8("x", "x"), 0);
  });
  it("explains bad bucket names and keys", () => {
    assert.equal(bucketNameProblem("cairn-trail-111122223333"), undefined);
    assert.equal(bucketNameProblem("amzn-s3-demo-bucket"), undefined);
    assert.match(bucketNameProblem("Upper") ?? "", /lowercase/);
    assert.match(bucketNameProblem("10.0.0.1") ?? "", /IP address/);
    assert.match(bucketNameProblem("xn--bucket") ?? "", /reserved prefix/);
    assert.equal(objectKeyProblem("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/x.json.gz"), undefined);
    assert.match(objectKeyProblem("a/../b") ?? "", /'\.\.' path segment/);
  });
});
