import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Browser, Page, Request } from "playwright-core";
import { CreateEventDataStoreCommand, CreateTrailCommand, type CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { startServerProcess, TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";
import { ensureTrailBucket } from "../helpers/test-backend.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords } from "../helpers/sample-records.js";
import { lakeClient, admin } from "../lake/lake-client.js";
import { browserMissing, launchChromium, watchErrors, signIn, closeConsoleTest } from "./browser.js";

const missing = browserMissing();
if (missing !== undefined) process.stderr.write(`\n*** ${missing} ***\n\n`);

/** How long a page is watched once its own loading is done: no page of the console refreshes by itself. */
const IDLE_MS = 5_000;

/** The API operation of a console request (`X-Amz-Target`), or its path for anything else. */
function operationOf(request: Request): string {
  const target = request.headers()["x-amz-target"];
  return target ? target.split(".").pop()! : `${request.method()} ${new URL(request.url()).pathname}`;
}

/** The console's requests from now on, by operation. */
function recordRequests(page: Page): { calls: string[]; stop: () => void } {
  const calls: string[] = [];
  const listener = (request: Request): void => {
    if (request.resourceType() === "fetch" || request.resourceType() === "xhr") calls.push(operationOf(request));
  };
  page.on("request", listener);
  return { calls, stop: () => page.off("request", listener) };
}

/** Every widget's query has ended (the page's policy forbids eval, so this polls from here). */
async function dashboardLoaded(page: Page): Promise<void> {
  await page.locator(".widget[data-state]").first().waitFor();
  for (let waited = 0; (await page.locator('.widget[data-state="loading"]').count()) > 0; waited += 250) {
    assert.ok(waited < 60_000, "the dashboard's queries end within a minute");
    await page.waitForTimeout(250);
  }
}

describe("console requests", { skip: missing }, () => {
  let server: ServerProcess;
  let client: CloudTrailClient;
  let browser: Browser;

  before(async () => {
    server = await startServerProcess();
    client = lakeClient(server.url);
    await client.send(new CreateEventDataStoreCommand({ Name: "idle-store" }));
    await ensureTrailBucket(server.dataDir, "idle-trail-bucket");
    await client.send(new CreateTrailCommand({ Name: "idle", S3BucketName: "idle-trail-bucket" }));
    const answer = await sendRaw(server.url, ingestCall(recentRecords(30, { accountId: TEST_ACCOUNT_ID }), admin));
    assert.equal(answer.status, 200, answer.text);
    browser = await launchChromium();
  });
  after(async () => {
    await closeConsoleTest({ browser, client, server });
  });

  it("makes no request the user did not cause once a page has loaded", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const watched = watchErrors(page);
    await signIn(page, `${server.url}/console/`);
    const pages: Array<[string, () => Promise<void>]> = [
      ["Event history", () => page.getByRole("table", { name: "Events" }).waitFor()],
      ["Trails", () => page.getByRole("table", { name: "Trails list" }).waitFor()],
      ["Lake", () => page.getByRole("textbox", { name: "SQL query" }).waitFor()],
      ["Dashboard", () => dashboardLoaded(page)],
    ];
    for (const [name, loaded] of pages) {
      await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name, exact: true }).click();
      await loaded();
      await page.waitForLoadState("networkidle");
      const idle = recordRequests(page);
      await page.waitForTimeout(IDLE_MS);
      idle.stop();
      assert.deepEqual(idle.calls, [], `${name} made requests while the user did nothing: ${idle.calls.join(", ")}`);
    }
    assert.deepEqual(watched.errors, []);
    await page.close();
  });
});
