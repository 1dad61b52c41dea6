import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Browser, Page } from "playwright-core";
import {
  AddTagsCommand,
  CreateTrailCommand,
  GetTrailStatusCommand,
  PutInsightSelectorsCommand,
  StartLoggingCommand,
  type CloudTrailClient,
} from "@aws-sdk/client-cloudtrail";
import { startServerProcess, TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";
import { ensureTrailBucket } from "../helpers/test-backend.js";
import { pollUntil } from "../helpers/poll.js";
import { lakeClient } from "../lake/lake-client.js";
import { browserMissing, launchChromium, screenshot, watchErrors, signIn, closeConsoleTest } from "./browser.js";

const missing = browserMissing();
if (missing !== undefined) process.stderr.write(`\n*** ${missing} ***\n\n`);

/** The text of a fact ("Last log file", …) on the trail's page. */
function fact(page: Page, card: string, term: string): Promise<string> {
  return page
    .getByRole("region", { name: card })
    .locator("dt", { hasText: new RegExp(`^${term}$`) })
    .locator("xpath=following-sibling::dd[1]")
    .innerText();
}

describe("console trail page", { skip: missing }, () => {
  let server: ServerProcess;
  let client: CloudTrailClient;
  let browser: Browser;
  const bucket = "console-trail-detail";

  before(async () => {
    server = await startServerProcess({ env: { CAIRN_DELIVERY_INTERVAL_SECONDS: "1" } });
    client = lakeClient(server.url);
    await ensureTrailBucket(server.dataDir, bucket);
    await client.send(
      new CreateTrailCommand({
        Name: "audit",
        S3BucketName: bucket,
        S3KeyPrefix: "org",
        EnableLogFileValidation: true,
        IsMultiRegionTrail: true,
      }),
    );
    await client.send(new StartLoggingCommand({ Name: "audit" }));
    await client.send(
      new AddTagsCommand({
        ResourceId: `arn:aws:cloudtrail:us-east-1:${TEST_ACCOUNT_ID}:trail/audit`,
        TagsList: [{ Key: "team", Value: "security" }],
      }),
    );
    await client.send(
      new PutInsightSelectorsCommand({ TrailName: "audit", InsightSelectors: [{ InsightType: "ApiCallRateInsight" }] }),
    );
    // The calls above are management events: the trail delivers them in its first file.
    await pollUntil(
      async () => (await client.send(new GetTrailStatusCommand({ Name: "audit" }))).LatestDeliveryTime !== undefined,
      { timeoutMs: 60_000, intervalMs: 250, message: "the trail's first log file" },
    );
    browser = await launchChromium();
  });
  after(async () => {
    await closeConsoleTest({ browser, client, server });
  });

  it("opens from the list with where its files are, delivery, selectors, Insights and tags; its URL is shareable", async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const watched = watchErrors(page);
    await signIn(page, `${server.url}/console/`);
    await page.getByRole("link", { name: "Trails" }).click();
    await page.getByRole("table", { name: "Trails list" }).getByRole("link", { name: "audit", exact: true }).click();
    await page.getByRole("region", { name: "Delivery" }).waitFor();
    const accountPath = `s3://${bucket}/org/AWSLogs/${TEST_ACCOUNT_ID}`;
    assert.equal(await fact(page, "Configuration", "Log files"), `${accountPath}/CloudTrail/us-east-1/`);
    assert.equal(await fact(page, "Configuration", "Digest files"), `${accountPath}/CloudTrail-Digest/us-east-1/`);
    assert.equal(await fact(page, "Configuration", "Multi-region"), "Yes");
    assert.equal(await fact(page, "Delivery", "Status"), "Logging");
    assert.match(await fact(page, "Delivery", "Last log file"), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/);
    assert.match(await page.getByLabel("Selectors as JSON").innerText(), /"ReadWriteType": "All"/);
    assert.match(await page.getByRole("region", { name: "Selectors" }).innerText(), /ApiCallRateInsight/);
    const tags = await page.getByRole("table", { name: "Trail tags" }).innerText();
    assert.match(tags, /team\s+security/);
    await screenshot(page, "trail-detail");
    // The URL names the trail: reloading (or a colleague opening it) shows the same page.
    const url = page.url();
    assert.match(decodeURIComponent(url), /#\/trails\?trail=arn:aws:cloudtrail:us-east-1:\d{12}:trail\/audit$/);
    await page.reload();
    await page.getByRole("region", { name: "Delivery" }).waitFor();
    // Its activity is one click away, in Event history by the trail's name.
    await page.getByRole("link", { name: "Changes to this trail" }).click();
    await page.getByRole("heading", { name: "Event history" }).waitFor();
    await page.locator('table[aria-label="Events"] tbody tr', { hasText: "StartLogging" }).first().waitFor();
    await page.goBack();
    await page.getByRole("link", { name: "← All trails" }).click();
    await page.getByRole("table", { name: "Trails list" }).waitFor();
    assert.deepEqual(watched.errors, []);
    await page.close();
  });
});
