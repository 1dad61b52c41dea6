import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { removeDataDir, startServerProcess, type ServerProcess } from "../helpers/server-process.js";

/** What the server itself does for the console, checked without a browser (runs where chromium is absent too). */
describe("console route", () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess();
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
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
