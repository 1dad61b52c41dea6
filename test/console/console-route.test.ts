import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { get, type IncomingMessage } from "node:http";
import { brotliDecompressSync } from "node:zlib";
import { startServerProcess, type ServerProcess } from "../helpers/server-process.js";
import { closeConsoleTest } from "./browser.js";

/** What the server itself does for the console, checked without a browser (runs where chromium is absent too). */
describe("console route", () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess();
  });
  after(async () => {
    await closeConsoleTest({ server });
  });

  it("serves the built console under /console/ with a same-origin content security policy", async () => {
    const response = await fetch(`${server.url}/console/`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /text\/html/);
    assert.match(response.headers.get("content-security-policy") ?? "", /default-src 'self'/);
    assert.match(response.headers.get("content-security-policy") ?? "", /connect-src 'self'/);
    assert.equal(response.headers.get("cache-control"), "no-cache");
    const html = await response.text();
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, "index.html loads a fingerprinted script");
    const asset = await fetch(`${server.url}${script}`);
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get("cache-control") ?? "", /immutable/);
  });

  it("sends assets compressed as the build left them, and no source maps", async () => {
    const html = await (await fetch(`${server.url}/console/`)).text();
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const plain = await rawGet(`${server.url}${script}`, "identity");
    assert.equal(plain.response.headers["content-encoding"], undefined);
    const brotli = await rawGet(`${server.url}${script}`, "gzip, deflate, br");
    assert.equal(brotli.response.headers["content-encoding"], "br");
    assert.match(brotli.response.headers["content-type"] ?? "", /javascript/);
    assert.match(String(brotli.response.headers["vary"]), /accept-encoding/i);
    assert.ok(brotli.body.length < plain.body.length / 2, `${brotli.body.length} of ${plain.body.length} bytes`);
    assert.deepEqual(brotliDecompressSync(brotli.body), plain.body);
    const gzip = await rawGet(`${server.url}${script}`, "gzip");
    assert.equal(gzip.response.headers["content-encoding"], "gzip");
    assert.equal((await fetch(`${server.url}${script}.map`)).status, 404);
    assert.doesNotMatch(plain.body.subarray(-200).toString(), /sourceMappingURL/);
  });

  it("redirects /console and a browser's GET / to the console; API clients get JSON", async () => {
    const bare = await fetch(`${server.url}/console`, { redirect: "manual" });
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.get("location"), "/console/");
    const browser = await fetch(`${server.url}/`, { redirect: "manual", headers: { accept: "text/html" } });
    assert.equal(browser.status, 302);
    assert.equal(browser.headers.get("location"), "/console/");
    const api = await fetch(`${server.url}/`, { headers: { accept: "application/json" } });
    assert.equal(api.status, 404);
    assert.match(((await api.json()) as { message: string }).message, /POST \//);
  });

  it("answers 404 for files the console does not have, without leaking paths outside it", async () => {
    assert.equal((await fetch(`${server.url}/console/no-such-file.js`)).status, 404);
    const escape = await fetch(`${server.url}/console/..%2f..%2fpackage.json`);
    assert.notEqual(escape.status, 200);
  });
});

/** A GET that leaves the body as sent (fetch would decode it). */
function rawGet(url: string, acceptEncoding: string): Promise<{ response: IncomingMessage; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers: { "accept-encoding": acceptEncoding } }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () => resolve({ response, body: Buffer.concat(chunks) }));
    }).on("error", reject);
  });
}
