import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { errorPageMessage, statusErrorCode } from "../../src/lib/http-status-error.js";

describe("errorCode and errorMessage of an answer without an AWS error", () => {
  it("names the status in PascalCase, HTTP<status> when it has no name", () => {
    assert.equal(statusErrorCode(500), "InternalServerError");
    assert.equal(statusErrorCode(503), "ServiceUnavailable");
    assert.equal(statusErrorCode(404), "NotFound");
    assert.equal(statusErrorCode(599), "HTTP599");
  });

  it("quotes the page title without markup, decoded, on one line, bounded", () => {
    assert.equal(errorPageMessage(500, "<TITLE lang=en>A &lt;b&gt; &#x41;\n\tB</TITLE>"), "A <b> A B");
    assert.equal(errorPageMessage(500, "<title><img src=x onerror=alert(1)>Down</title>"), "Down");
    // Case folding that changes a string's length does not shift where the title is cut.
    assert.equal(errorPageMessage(500, "\u0130\u0130<TITLE>Kap\u0131 kapal\u0131</Title>"), "Kap\u0131 kapal\u0131");
    // Code points that cannot stand alone are dropped, not turned into broken text.
    assert.equal(errorPageMessage(500, "<title>x&#xD800;&#0;y</title>"), "xy");
    const long = errorPageMessage(500, `<title>${"z".repeat(10_000)}</title>`);
    assert.equal(long.length, 256);
    assert.ok(long.endsWith("…"));
  });

  it("falls back to the status text, then HTTP <status>", () => {
    assert.equal(errorPageMessage(502, "<html><title>  </title></html>"), "Bad Gateway");
    assert.equal(errorPageMessage(500, ""), "Internal Server Error");
    assert.equal(errorPageMessage(500, "<title>never closed"), "Internal Server Error");
    assert.equal(errorPageMessage(599, "{}"), "HTTP 599");
    // A title beyond the page's first 64 KiB is not looked for; a body of unclosed tags is not either.
    assert.equal(errorPageMessage(500, `${" ".repeat(70_000)}<title>late</title>`), "Internal Server Error");
    assert.equal(errorPageMessage(500, "<title x".repeat(200_000)), "Internal Server Error");
  });
});
