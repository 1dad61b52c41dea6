import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CloudTrailClient,
  CreateEventDataStoreCommand,
  LookupEventsCommand,
  StartQueryCommand,
  type Event as SdkEvent,
  type LookupAttribute,
} from "@aws-sdk/client-cloudtrail";
import type { Browser, BrowserContext, Download, Page } from "playwright-core";
import {
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";
import { browserMissing, launchChromium, screenshot, watchErrors, signIn, closeConsoleTest } from "./browser.js";
import { parseCsv } from "../helpers/csv.js";
import { readFileSync } from "node:fs";

const CREDENTIALS = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const SOURCE = "workbench.example.com";
const WRITES = 70;
const READS = 60;
const missing = browserMissing();
if (missing !== undefined) process.stderr.write(`\n*** ${missing} ***\n\n`);

/** The texts of one column of the Events table, by its header. */
async function column(page: Page, header: string): Promise<string[]> {
  const table = page.locator('table[aria-label="Events"]');
  const headers = await table.locator("thead th").allInnerTexts();
  const index = headers.findIndex((text) => text.replace(/[▲▼]/g, "").trim() === header);
  assert.ok(index >= 0, `no ${header} column in ${headers.join("|")}`);
  return table.locator(`tbody tr:not(.details) td:nth-child(${index + 1})`).allInnerTexts();
}

function query(page: Page): URLSearchParams {
  const hash = new URL(page.url()).hash;
  return new URLSearchParams(hash.slice(hash.indexOf("?") + 1));
}

/** Every event LookupEvents returns for these attributes, walking all pages. */
async function lookupAll(client: CloudTrailClient, attributes: LookupAttribute[], start: Date): Promise<SdkEvent[]> {
  const events: SdkEvent[] = [];
  let token: string | undefined;
  do {
    const answer = await client.send(
      new LookupEventsCommand({
        LookupAttributes: attributes,
        StartTime: start,
        EndTime: new Date(),
        MaxResults: 50,
        ...(token ? { NextToken: token } : {}),
      }),
    );
    events.push(...(answer.Events ?? []));
    token = answer.NextToken;
  } while (token);
  return events;
}

function agentOf(event: SdkEvent): string {
  return String((JSON.parse(event.CloudTrailEvent ?? "{}") as RawRecord)["userAgent"] ?? "");
}

describe("Event history as an analyst's workbench", { skip: missing }, () => {
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let watched: ReturnType<typeof watchErrors>;
  let client: CloudTrailClient;
  const startedAt = new Date(Date.now() - 2 * 3_600_000);

  before(async () => {
    server = await startServerProcess();
    client = new CloudTrailClient({ endpoint: server.url, region: "us-east-1", credentials: CREDENTIALS });
    // Writes and reads of one source, more than two pages of each, all inside the last hour.
    const records = recentRecords(WRITES + READS, { accountId: TEST_ACCOUNT_ID, spreadMs: 3_000_000 }).map(
      (record, index) => ({
        ...record,
        eventSource: SOURCE,
        eventName: index < WRITES ? "WorkbenchWrite" : "WorkbenchRead",
        readOnly: index >= WRITES,
        errorCode: index % 10 === 0 ? "AccessDenied" : undefined,
      }),
    );
    const [probe] = recentRecords(1, { accountId: TEST_ACCOUNT_ID, nowMs: Date.now() - 3 * 3_600_000 });
    const jsonProbe = {
      ...probe!,
      eventName: "WorkbenchJsonProbe",
      eventSource: "json-probe.example.com",
      readOnly: false,
      userIdentity: {
        type: "AssumedRole",
        principalId: "AROAEXAMPLE:probe",
        arn: `arn:aws:sts::${TEST_ACCOUNT_ID}:assumed-role/Probe/probe`,
        accountId: TEST_ACCOUNT_ID,
        accessKeyId: "ASIAEXAMPLEPROBE",
        sessionContext: {
          sessionIssuer: {
            type: "Role",
            principalId: "AROAEXAMPLE",
            arn: `arn:aws:iam::${TEST_ACCOUNT_ID}:role/Probe`,
            accountId: TEST_ACCOUNT_ID,
            userName: "Probe",
          },
          attributes: { creationDate: "2026-01-01T00:00:00Z", mfaAuthenticated: "false" },
        },
      },
      requestParameters: { bucketName: "probe-bucket", "x-amz-acl": "private", count: 3, versioned: true },
      resources: [{ accountId: TEST_ACCOUNT_ID, type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::probe-bucket" }],
    };
    const answer = await sendRaw(server.url, ingestCall([...records, jsonProbe], CREDENTIALS));
    assert.equal(answer.status, 200, answer.text);
    browser = await launchChromium();
    context = await browser.newContext({
      viewport: { width: 1280, height: 800 },
      timezoneId: "UTC",
      acceptDownloads: true,
    });
    page = await context.newPage();
    watched = watchErrors(page);
  });

  after(async () => {
    await closeConsoleTest({ context, browser, server });
  });

  it("shows write events only by default, as the AWS console does, and all events with one click", async () => {
    await signIn(page, `${server.url}/console/#/history?range=1h`);
    assert.equal(await page.getByLabel("Read-only").inputValue(), "false");
    await page.getByText(/^Page 1 · 50 events · ReadOnly = false$/).waitFor();
    const names = await column(page, "Event name");
    assert.equal(names.length, 50);
    assert.ok(
      names.every((name) => name === "WorkbenchWrite"),
      names.join(","),
    );
    await screenshot(page, "history-write-only-default");

    await page.getByRole("button", { name: "Show all events (reads too)" }).click();
    await page.waitForURL((url) => url.hash.includes("readOnly=all"));
    await page.getByText(/^Page 1 · 50 events$/).waitFor();
    assert.equal(await page.getByLabel("Read-only").inputValue(), "all");
    // The console's own LookupEvents (reads) are newest: they come first now.
    assert.ok((await column(page, "Event name")).includes("LookupEvents"));
    assert.equal(await page.getByRole("button", { name: "Show all events (reads too)" }).count(), 0);
  });

  it("hides the console's own reads but never a StopLogging made from the console", async () => {
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Trails" }).click();
    await page.getByRole("button", { name: "Create trail" }).click();
    await page.getByLabel("Trail name").fill("workbench-trail");
    await page.getByLabel("S3 bucket").fill("workbench-bucket");
    await page.getByRole("button", { name: "Create trail" }).click();
    await page.getByText("Trail workbench-trail created and logging.").waitFor();
    await page.getByRole("button", { name: "Stop logging workbench-trail" }).click();
    await page.locator('tr[data-trail="workbench-trail"]').getByText("Not logging").waitFor();

    // The server recorded the console's StopLogging with the console's user agent, as a write.
    const [stop] = await lookupAll(client, [{ AttributeKey: "EventName", AttributeValue: "StopLogging" }], startedAt);
    assert.ok(stop);
    assert.match(agentOf(stop), /(^|\s)cairn-console\/1(\s|$)/);
    assert.equal(stop.ReadOnly, "false");
    // A LookupEvents of another client (the Node SDK: the one above and two more) is not the
    // console's and stays visible.
    const otherLookups = 3;
    await lookupAll(client, [{ AttributeKey: "EventName", AttributeValue: "NoSuchEvent" }], startedAt);
    await lookupAll(client, [{ AttributeKey: "EventName", AttributeValue: "NoSuchEvent" }], startedAt);

    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Event history" }).click();
    await page.getByLabel("Lookup attribute").selectOption("EventSource");
    await page.getByLabel("Value").fill("cloudtrail.amazonaws.com");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText(/EventSource = cloudtrail\.amazonaws\.com$/).waitFor();
    const shown = await column(page, "Event name");
    assert.ok(shown.filter((name) => name === "LookupEvents").length > otherLookups, shown.join(","));

    await page.getByLabel("Hide this console's own reads and queries").check();
    await page.getByText(/ hidden \(this console's own reads and queries\)$/).waitFor();
    assert.equal(query(page).get("own"), "hide");
    assert.equal(query(page).get("readOnly"), "all");
    const kept = await column(page, "Event name");
    assert.ok(kept.includes("StopLogging"), kept.join(","));
    assert.ok(kept.includes("CreateTrail"), kept.join(","));
    assert.equal(kept.filter((name) => name === "LookupEvents").length, otherLookups, kept.join(","));
    for (const read of ["DescribeTrails", "GetTrailStatus", "ListTrails"]) assert.ok(!kept.includes(read), read);
    const hidden = Number(
      /(\d+) hidden \(this console's/.exec(await page.getByRole("status").filter({ hasText: /^Page/ }).innerText())![1],
    );
    assert.ok(hidden > 0);
    await screenshot(page, "history-hide-own-reads");

    // The choice is in the URL: a reload keeps it.
    await page.reload();
    await page.getByText(/ hidden \(this console's own reads and queries\)$/).waitFor();
    assert.equal(await page.getByLabel("Hide this console's own reads and queries").isChecked(), true);
    assert.ok((await column(page, "Event name")).includes("StopLogging"));
    await page.getByLabel("Hide this console's own reads and queries").uncheck();
    await page.waitForURL((url) => !url.hash.includes("own=hide"));
    assert.ok((await column(page, "Event name")).filter((name) => name === "LookupEvents").length > otherLookups);
  });

  it("hides the Lake queries the console starts (StartQuery), not another client's, nor any other write", async () => {
    const store = await client.send(new CreateEventDataStoreCommand({ Name: "workbench-store" }));
    const storeId = store.EventDataStoreArn!.split("/").pop()!;
    await client.send(new StartQueryCommand({ QueryStatement: `SELECT eventID FROM ${storeId} LIMIT 1` }));
    // The dashboard starts its Lake queries (four), from the console.
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Dashboard" }).click();
    await page.locator(".widget[data-state]").first().waitFor();
    while ((await page.locator('.widget[data-state="loading"]').count()) > 0) {
      await page.locator('.widget[data-state="loading"]').first().waitFor({ state: "detached" });
    }
    const [consoleQuery] = (
      await lookupAll(client, [{ AttributeKey: "EventName", AttributeValue: "StartQuery" }], startedAt)
    ).filter((event) => /cairn-console\//.test(agentOf(event)));
    assert.equal(consoleQuery?.ReadOnly, "false", "CloudTrail records StartQuery as not read-only");

    // Write events only (the default), so the page holds every write of the hour.
    await page.goto(`${server.url}/console/#/history?attribute=EventSource&value=cloudtrail.amazonaws.com&range=1h`);
    await page
      .getByText(/^Page 1 · \d+ events · EventSource = cloudtrail\.amazonaws\.com and ReadOnly = false$/)
      .waitFor();
    const writes = await column(page, "Event name");
    assert.ok(writes.filter((name) => name === "StartQuery").length > 1, writes.join(","));
    await page.getByLabel("Hide this console's own reads and queries").check();
    await page.getByText(/ hidden \(this console's own reads and queries\)$/).waitFor();
    const kept = await column(page, "Event name");
    assert.deepEqual(
      kept.filter((name) => name === "StartQuery"),
      ["StartQuery"],
      "only the Node SDK's StartQuery stays",
    );
    for (const write of ["CreateEventDataStore", "StopLogging", "StartLogging", "CreateTrail", "PutEventSelectors"]) {
      assert.ok(kept.includes(write), `${write} in ${kept.join(",")}`);
    }
    assert.equal(kept.length, writes.length - writes.filter((name) => name === "StartQuery").length + 1);
    await page.getByLabel("Hide this console's own reads and queries").uncheck();
    await page.waitForURL((url) => !url.hash.includes("own=hide"));
  });

  it("adds and removes columns with the chooser, and keeps the choice", async () => {
    const defaults = await page.locator('table[aria-label="Events"] thead th').allInnerTexts();
    assert.deepEqual(
      defaults.map((text) => text.replace(/[▲▼]/g, "").trim()),
      [
        "Details",
        "Event time",
        "Event name",
        "User name",
        "Event source",
        "Resource type",
        "Resource name",
        "Error code",
      ],
    );
    await page.getByText("Columns", { exact: true }).click();
    const chooser = page.getByRole("group", { name: /Columns shown/ });
    for (const name of ["Source IP address", "Region", "AWS access key", "User agent", "Event ID"]) {
      await chooser.getByLabel(`${name} column`).check();
    }
    await chooser.getByLabel("Resource type column").uncheck();
    await page.getByText("Columns", { exact: true }).click();
    await screenshot(page, "history-columns");
    const headers = (await page.locator('table[aria-label="Events"] thead th').allInnerTexts()).map((text) =>
      text.replace(/[▲▼]/g, "").trim(),
    );
    assert.ok(!headers.includes("Resource type"));
    // Each added cell holds the field of that event's record, checked against LookupEvents.
    const ids = await column(page, "Event ID");
    const ips = await column(page, "Source IP address");
    const regions = await column(page, "Region");
    const agents = await column(page, "User agent");
    const keys = await column(page, "AWS access key");
    assert.ok(ids.length > 0);
    for (const [index, id] of ids.slice(0, 5).entries()) {
      const [event] = await lookupAll(client, [{ AttributeKey: "EventId", AttributeValue: id }], startedAt);
      const record = JSON.parse(event!.CloudTrailEvent!) as RawRecord;
      assert.equal(ips[index], record["sourceIPAddress"]);
      assert.equal(regions[index], record["awsRegion"]);
      assert.equal(agents[index], record["userAgent"] ?? "");
      assert.equal(keys[index], event!.AccessKeyId ?? "");
    }
    // Kept in localStorage: a reload shows the same columns.
    await page.reload();
    await page.getByRole("table", { name: "Events" }).waitFor();
    const again = (await page.locator('table[aria-label="Events"] thead th').allInnerTexts()).map((text) =>
      text.replace(/[▲▼]/g, "").trim(),
    );
    assert.deepEqual(again, headers);
    await page.getByText("Columns", { exact: true }).click();
    await chooser.getByRole("button", { name: "Default columns" }).click();
    await page.getByText("Columns", { exact: true }).click();
    const reset = await page.locator('table[aria-label="Events"] thead th').allInnerTexts();
    assert.deepEqual(reset, defaults);
  });

  it("shows a record as a collapsible JSON tree whose keys copy their path", async () => {
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.url });
    await page.goto(
      `${server.url}/console/#/history?attribute=EventName&value=WorkbenchJsonProbe&readOnly=all&range=24h`,
    );
    await page.getByText(/^Page 1 · 1 event · EventName = WorkbenchJsonProbe$/).waitFor();
    await page.getByRole("button", { name: "Show details" }).click();
    const pre = page.locator('pre[aria-label^="Event record"]');
    const [stored] = await lookupAll(
      client,
      [{ AttributeKey: "EventName", AttributeValue: "WorkbenchJsonProbe" }],
      new Date(Date.now() - 86_400_000),
    );
    // Fully expanded, the tree reads as the stored record's JSON.
    assert.deepEqual(JSON.parse(await pre.innerText()), JSON.parse(stored!.CloudTrailEvent!));
    assert.ok((await pre.locator(".json-string").count()) > 10);
    assert.ok((await pre.locator(".json-boolean").count()) >= 1);

    const clipboard = () => page.evaluate<string>("navigator.clipboard.readText()");
    for (const path of [
      "userIdentity.sessionContext.sessionIssuer.arn",
      "resources[0].ARN",
      'requestParameters["x-amz-acl"]',
    ]) {
      await pre.getByRole("button", { name: `Copy path ${path}`, exact: true }).click();
      await page.getByText(`Copied ${path}`, { exact: true }).waitFor();
      assert.equal(await clipboard(), path);
    }
    // With the keyboard too: the keys are buttons.
    await pre.getByRole("button", { name: "Copy path eventName", exact: true }).focus();
    await page.keyboard.press("Enter");
    await page.getByText("Copied eventName", { exact: true }).waitFor();
    assert.equal(await clipboard(), "eventName");
    await screenshot(page, "history-json-tree");

    const toggle = pre.getByRole("button", { name: "Collapse userIdentity", exact: true });
    await toggle.click();
    const expand = pre.getByRole("button", { name: "Expand userIdentity", exact: true });
    assert.equal(await expand.getAttribute("aria-expanded"), "false");
    const text = await pre.innerText();
    assert.ok(!text.includes("sessionIssuer"));
    const identity = (JSON.parse(stored!.CloudTrailEvent!) as { userIdentity: object }).userIdentity;
    assert.ok(text.includes(`…} ${Object.keys(identity).length} keys`), text);
    assert.ok(text.includes('"eventName"'));
    await screenshot(page, "history-json-collapsed");
    await expand.click();
    assert.deepEqual(JSON.parse(await pre.innerText()), JSON.parse(stored!.CloudTrailEvent!));
  });

  it("keeps LookupEvents exact but suggests seen values and the spelling a wrong case missed", async () => {
    await page.goto(`${server.url}/console/#/history?readOnly=false&range=1h`);
    await page.getByText(/^Page 1 · 50 events · ReadOnly = false$/).waitFor();
    await page.getByLabel("Lookup attribute").selectOption("EventName");
    // Names seen in the results are offered while typing.
    const options = await page
      .locator("datalist#history-value-suggestions option")
      .evaluateAll((nodes) => nodes.map((node) => node.getAttribute("value")));
    assert.ok(options.includes("WorkbenchWrite"), options.join(","));
    await page.getByLabel("Value").fill("workbenchwrite");
    await page.getByRole("button", { name: "Search" }).click();
    // The API stays exact, as in AWS: the lower-case name finds nothing...
    await page.getByText("No events match").waitFor();
    assert.equal(query(page).get("value"), "workbenchwrite");
    // ...and the console offers the spelling it has seen.
    const hint = page.locator("#history-value-hint");
    await hint.getByText("did you mean").waitFor();
    await screenshot(page, "history-case-hint");
    await hint.getByRole("button", { name: "WorkbenchWrite" }).click();
    assert.equal(await page.getByLabel("Value").inputValue(), "WorkbenchWrite");
    assert.equal(await hint.getByText("did you mean").count(), 0);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText(/^Page 1 · 50 events · EventName = WorkbenchWrite and ReadOnly = false$/).waitFor();
  });

  describe("export of every matching event, from a browser in Kolkata", () => {
    let kolkata: BrowserContext;
    let tab: Page;
    let tabWatched: ReturnType<typeof watchErrors>;
    let expected: Map<string, RawRecord>;
    const url = () => `${server.url}/console/#/history?attribute=EventSource&value=${SOURCE}&readOnly=all&range=1h`;

    before(async () => {
      const events = await lookupAll(client, [{ AttributeKey: "EventSource", AttributeValue: SOURCE }], startedAt);
      expected = new Map(events.map((event) => [event.EventId!, JSON.parse(event.CloudTrailEvent!) as RawRecord]));
      assert.equal(expected.size, WRITES + READS);
      kolkata = await browser.newContext({
        viewport: { width: 1280, height: 800 },
        timezoneId: "Asia/Kolkata",
        acceptDownloads: true,
      });
      tab = await kolkata.newPage();
      tabWatched = watchErrors(tab);
      await signIn(tab, url());
      await tab.getByText(/^Page 1 · 50 events · EventSource = workbench/).waitFor();
      await tab.getByLabel("Time zone").selectOption("local");
    });

    after(async () => {
      await kolkata?.close().catch(() => undefined);
    });

    /** Starts an export and reads the file the browser saved from the server's stream. */
    async function exportAs(format: string): Promise<string> {
      const saved = await exportDownload(format);
      return readFileSync(await saved.path(), "utf8");
    }

    async function exportDownload(format: string): Promise<Download> {
      await tab.getByLabel("Export format").selectOption(format);
      const [download] = await Promise.all([
        tab.waitForEvent("download"),
        tab.getByRole("button", { name: "Export all matching events" }).click(),
      ]);
      await tab.getByText(`Export started as ${format.toUpperCase()}:`).waitFor();
      assert.match(download.suggestedFilename(), new RegExp(`^cairn-events-.*\\.${format}$`));
      await download.path();
      assert.equal(await download.failure(), null);
      return download;
    }

    it("exports CSV with every matching event across all pages, times in UTC", async () => {
      const rows = parseCsv(await exportAs("csv"));
      const header = rows[0]!;
      const body = rows.slice(1);
      assert.equal(body.length, expected.size);
      const at = (name: string) => header.indexOf(name);
      assert.deepEqual(new Set(body.map((row) => row[at("eventId")])), new Set(expected.keys()));
      for (const row of body) {
        const record = expected.get(row[at("eventId")]!)!;
        assert.equal(row[at("eventTime")], new Date(String(record["eventTime"])).toISOString());
        assert.match(row[at("eventTime")]!, /Z$/);
        assert.equal(row[at("eventName")], record["eventName"]);
        assert.equal(row[at("sourceIPAddress")], record["sourceIPAddress"]);
      }
      await screenshot(tab, "history-export-done");
    });

    it("exports JSON and NDJSON with the records as stored", async () => {
      const json = JSON.parse(await exportAs("json")) as { Records: RawRecord[] };
      assert.equal(json.Records.length, expected.size);
      for (const record of json.Records) assert.deepEqual(record, expected.get(String(record["eventID"])));
      const lines = (await exportAs("ndjson")).split("\n").filter((line) => line !== "");
      assert.equal(lines.length, expected.size);
      const ids = lines.map((line) => String((JSON.parse(line) as RawRecord)["eventID"]));
      assert.deepEqual(new Set(ids), new Set(expected.keys()));
    });

    it("downloads through a presigned URL valid five minutes that holds no secret, and keeps hiding own reads", async () => {
      const download = await exportDownload("ndjson");
      const url = new URL(download.url());
      assert.equal(url.pathname, "/export-events");
      assert.equal(url.searchParams.get("X-Amz-Expires"), "300");
      assert.match(
        url.searchParams.get("X-Amz-Credential") ?? "",
        new RegExp(`^${TEST_ACCESS_KEY_ID}/\\d{8}/us-east-1/cloudtrail/aws4_request$`),
      );
      assert.ok(
        !download.url().includes(encodeURIComponent(TEST_SECRET_ACCESS_KEY)) &&
          !download.url().includes(TEST_SECRET_ACCESS_KEY),
      );
      assert.deepEqual(url.searchParams.getAll("attribute"), [`EventSource:${SOURCE}`]);
      assert.equal(url.searchParams.get("hideOwn"), "false");
      await screenshot(tab, "history-export-started");
      // The console's own reads of this source: hidden from the file once the view hides them.
      await tab.getByRole("checkbox", { name: "Hide this console's own reads and queries" }).check();
      const hidden = await exportDownload("ndjson");
      assert.equal(new URL(hidden.url()).searchParams.get("hideOwn"), "true");
      const lines = readFileSync(await hidden.path(), "utf8")
        .split("\n")
        .filter((line) => line !== "");
      assert.equal(lines.length, expected.size, "none of this source's events is the console's");
      assert.deepEqual(tabWatched.errors, []);
    });
  });

  it("reports no browser errors", () => {
    assert.deepEqual(watched.errors, []);
  });
});
