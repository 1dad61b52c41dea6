import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  CloudTrailClient,
  GetTrailStatusCommand,
  GetEventDataStoreCommand,
  ListEventDataStoresCommand,
  ListQueriesCommand,
  LookupEventsCommand,
} from "@aws-sdk/client-cloudtrail";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";
import { browserMissing, launchChromium, screenshot, watchErrors, closeConsoleTest } from "./browser.js";
import { parseCsv } from "../helpers/csv.js";
import { pollUntil } from "../helpers/poll.js";
import { queryAll } from "../lake/lake-client.js";
import { savedQueryClient } from "../lake/saved-query-client.js";

const CREDENTIALS = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const missing = browserMissing();
if (missing !== undefined) process.stderr.write(`\n*** ${missing} ***\n\n`);

/** datetime-local text of a moment in UTC (the browser context runs in UTC). */
function localInput(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16);
}

describe("web console in a real browser", { skip: missing }, () => {
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let watched: ReturnType<typeof watchErrors>;
  let client: CloudTrailClient;
  let recent: RawRecord[];
  let old: RawRecord[];
  let chosenName: string;

  before(async () => {
    server = await startServerProcess();
    client = new CloudTrailClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: CREDENTIALS,
      maxAttempts: 1,
    });
    const nowMs = Date.now();
    recent = recentRecords(120, { accountId: TEST_ACCOUNT_ID, nowMs, spreadMs: 3_600_000 });
    // Three days back: outside "last 24 hours", inside a custom range around it.
    old = recentRecords(5, { accountId: TEST_ACCOUNT_ID, nowMs: nowMs - 3 * 86_400_000, spreadMs: 60_000 }).map(
      (record) => ({ ...record, eventName: "CairnConsoleOldProbe", eventSource: "console-test.example.com" }),
    );
    const answer = await sendRaw(server.url, ingestCall([...recent, ...old], CREDENTIALS));
    assert.equal(answer.status, 200, answer.text);
    const counts = new Map<string, number>();
    for (const record of recent) {
      if (record["eventSource"] === "cloudtrail.amazonaws.com") continue;
      const name = String(record["eventName"]);
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    chosenName = [...counts].sort((a, b) => b[1] - a[1])[0]![0];
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

  it("refuses wrong credentials with a clear message", async () => {
    // The refused signed call is a 4xx the browser reports as a failed resource load; nothing else may fail.
    watched.allow(/Failed to load resource: the server responded with a status of 4\d\d/);
    await page.goto(`${server.url}/console/`);
    await page.getByText(`Account ${TEST_ACCOUNT_ID}`).waitFor();
    await page.getByLabel("Access key ID").fill(TEST_ACCESS_KEY_ID);
    await page.getByLabel("Secret access key").fill("not-the-secret");
    await page.getByRole("button", { name: "Sign in" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match(await alert.innerText(), /did not accept these credentials/);
    await screenshot(page, "sign-in-wrong-credentials");
  });

  it("signs in with the keyboard and shows the newest events", async () => {
    await page.getByLabel("Secret access key").fill("");
    await page.getByLabel("Access key ID").focus();
    await page.keyboard.press("Control+A");
    await page.keyboard.type(TEST_ACCESS_KEY_ID);
    await page.keyboard.press("Tab");
    await page.keyboard.type(TEST_SECRET_ACCESS_KEY);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Event history" }).waitFor();
    // Write events only by default, as in the AWS console: one click shows reads too.
    assert.equal(await page.getByLabel("Read-only").inputValue(), "false");
    await page.getByRole("button", { name: "Show all events (reads too)" }).click();
    const table = page.getByRole("table", { name: "Events" });
    await table.waitFor();
    // 50 per page, newest first: the first page is full and a next page exists.
    await page.getByText(/Page 1 · 50 events/).waitFor();
    assert.equal(await page.getByRole("button", { name: "Next →" }).isEnabled(), true);
    await screenshot(page, "event-history");
  });

  it("filters by event name, matching LookupEvents", async () => {
    await page.getByLabel("Lookup attribute").selectOption("EventName");
    await page.getByLabel("Value").fill(chosenName);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText(new RegExp(`EventName = ${chosenName}`)).waitFor();
    const expected = await client.send(
      new LookupEventsCommand({ LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: chosenName }] }),
    );
    const names = await page.locator('table[aria-label="Events"] tbody tr td:nth-child(3)').allInnerTexts();
    assert.ok(names.length > 0);
    assert.equal(names.length, expected.Events!.length);
    assert.ok(
      names.every((name) => name === chosenName),
      names.join(","),
    );
  });

  it("expands a row to its full record as JSON", async () => {
    // With the keyboard: the disclosure is a real button.
    await page.getByRole("button", { name: "Show details" }).first().focus();
    await page.keyboard.press("Enter");
    const pre = page.locator('pre[aria-label^="Event record"]').first();
    await pre.waitFor();
    const record = JSON.parse(await pre.innerText()) as RawRecord;
    assert.equal(record["eventName"], chosenName);
    const original = recent.find((candidate) => candidate["eventID"] === record["eventID"]);
    assert.ok(original, "the expanded record is one the test ingested");
    assert.equal(record["eventSource"], original["eventSource"]);
    assert.equal(record["eventTime"], original["eventTime"]);
    await page.getByRole("button", { name: "Copy JSON" }).first().waitFor();
    await screenshot(page, "event-history-expanded");
  });

  it("downloads the result as CSV with the rows on screen", async () => {
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("button", { name: "Download CSV" }).click(),
    ]);
    const rows = parseCsv(readFileSync(await download.path(), "utf8"));
    assert.deepEqual(rows[0]!.slice(0, 4), ["eventTime", "eventName", "username", "eventSource"]);
    const body = rows.slice(1);
    const expectedIds = recent.filter((r) => r["eventName"] === chosenName).map((r) => r["eventID"]);
    assert.equal(body.length, expectedIds.length);
    assert.deepEqual(new Set(body.map((row) => row[9])), new Set(expectedIds));
    assert.ok(body.every((row) => row[1] === chosenName));
  });

  it("filters by time: last 24 hours excludes older events, a custom range finds them", async () => {
    await page.getByLabel("Value").fill("CairnConsoleOldProbe");
    await page.getByLabel("Time range").selectOption("24h");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText("No events match").waitFor();
    await page.getByLabel("Time range").selectOption("custom");
    const nowMs = Date.now();
    await page.getByLabel(/^From \(UTC\)/).fill(localInput(nowMs - 4 * 86_400_000));
    await page.getByLabel(/^To \(UTC\)/).fill(localInput(nowMs - 2 * 86_400_000));
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText(/Page 1 · 5 events/).waitFor();
    const names = await page.locator('table[aria-label="Events"] tbody tr td:nth-child(3)').allInnerTexts();
    assert.deepEqual(names, Array(5).fill("CairnConsoleOldProbe"));
  });

  it("live mode shows new events as they are journaled", async () => {
    await page.getByLabel("Lookup attribute").selectOption("");
    await page.getByLabel("Time range").selectOption("1h");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByLabel("Live").check();
    await page.getByText("Live: new events appear as they are recorded").waitFor();
    const [probe] = recentRecords(1, { accountId: TEST_ACCOUNT_ID }).map((record) => ({
      ...record,
      eventName: "CairnConsoleLiveProbe",
      eventSource: "console-test.example.com",
    }));
    const answer = await sendRaw(server.url, ingestCall([probe], CREDENTIALS));
    assert.equal(answer.status, 200, answer.text);
    await page.locator('table[aria-label="Events"] tbody tr', { hasText: "CairnConsoleLiveProbe" }).waitFor();
    await page.getByLabel("Live").uncheck();
  });

  it("creates a trail that is logging, stops it and deletes it", async () => {
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Trails" }).click();
    await page.getByText("No trails yet").waitFor();
    await screenshot(page, "trails-empty");
    await page.getByRole("button", { name: "Create trail" }).click();
    await page.getByLabel("Trail name").fill("console-trail");
    await page.getByLabel("S3 bucket").fill("console-trail-bucket");
    await page.getByLabel("Log file prefix (optional)").fill("audit");
    await page.getByLabel("S3 data events (one ARN per line; arn:aws:s3 for all buckets)").fill("arn:aws:s3");
    await screenshot(page, "trail-form");
    await page.getByRole("button", { name: "Create trail" }).click();
    await page.getByText("Trail console-trail created and logging.").waitFor();
    const row = page.locator('tr[data-trail="console-trail"]');
    await row.getByText("Logging", { exact: true }).waitFor();
    assert.match(await row.innerText(), /console-trail-bucket\/audit/);
    const status = await client.send(new GetTrailStatusCommand({ Name: "console-trail" }));
    assert.equal(status.IsLogging, true);
    await screenshot(page, "trails");

    await page.getByRole("button", { name: "Stop logging console-trail" }).click();
    await row.getByText("Not logging").waitFor();
    assert.equal((await client.send(new GetTrailStatusCommand({ Name: "console-trail" }))).IsLogging, false);

    await page.getByRole("button", { name: "Delete console-trail" }).click();
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    await dialog.getByRole("button", { name: "Delete trail" }).click();
    await page.getByText("No trails yet").waitFor();
  });

  it("creates an event data store, runs a SQL query and shows its table and chart", async () => {
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Lake" }).click();
    await page.getByText("No event data stores yet").waitFor();
    await page.getByRole("textbox", { name: "Name" }).fill("console-store");
    await page.getByRole("button", { name: "Create event data store" }).click();
    await page.getByText("Created event data store console-store.").waitFor();
    const stores = await client.send(new ListEventDataStoresCommand({}));
    const store = stores.EventDataStores!.find((candidate) => candidate.Name === "console-store");
    assert.ok(store?.EventDataStoreArn);
    const storeId = store.EventDataStoreArn.split("/").pop()!;

    // Events journaled after the store exists land in it; the expected counts are known here.
    const expected: [string, number][] = [
      ["LakeProbeAlpha", 5],
      ["LakeProbeBeta", 3],
      ["LakeProbeGamma", 2],
    ];
    const probes = expected.flatMap(([eventName, n]) =>
      recentRecords(n, { accountId: TEST_ACCOUNT_ID }).map((record) => ({
        ...record,
        eventName,
        eventSource: "console-lake.example.com",
      })),
    );
    const answer = await sendRaw(server.url, ingestCall(probes, CREDENTIALS));
    assert.equal(answer.status, 200, answer.text);

    const sql =
      `SELECT eventName, count(*) AS n FROM ${storeId} WHERE eventSource = 'console-lake.example.com' ` +
      "GROUP BY eventName ORDER BY n DESC";
    const editor = page.getByRole("textbox", { name: "SQL query" });
    const table = page.getByRole("table", { name: "Query results" });
    let rows: string[][] = [];
    // Lake makes events queryable within seconds of acknowledgement: run again until all have landed.
    for (let attempt = 0; attempt < 30; attempt++) {
      await editor.click();
      await page.keyboard.press("Control+A");
      await page.keyboard.insertText(sql);
      const status = page.getByRole("status", { name: "Query status" });
      const previous = (await status.count()) > 0 ? await status.innerText() : "";
      await page.getByRole("button", { name: "Run", exact: true }).click();
      // Finished, and a new query id (an earlier run's FINISHED does not count).
      for (let waited = 0; ; waited += 100) {
        const text = (await status.count()) > 0 ? await status.innerText() : "";
        if (/FINISHED/.test(text) && text !== previous) break;
        assert.ok(waited < 30_000 && !/FAILED|CANCELLED|TIMED_OUT/.test(text), `query status: ${text}`);
        await page.waitForTimeout(100);
      }
      rows = [];
      for (const tr of await table.locator("tbody tr").all()) {
        rows.push((await tr.locator("td").allInnerTexts()).map((text) => text.trim()));
      }
      if (JSON.stringify(rows) === JSON.stringify(expected.map(([name, n]) => [name, String(n)]))) break;
      await page.waitForTimeout(500);
    }
    assert.deepEqual(
      rows,
      expected.map(([name, n]) => [name, String(n)]),
    );
    await page.locator('figure[aria-label^="Result chart:"]').waitFor();
    assert.equal(await page.locator("figure.chart .recharts-bar-rectangle").count(), 3);
    // The editor and its results come first, within the first screen; the stores have their own section below.
    await page.evaluate("window.scrollTo(0, 0)");
    const resultsBox = await page.getByRole("heading", { name: "Results", exact: true }).boundingBox();
    const storesBox = await page.getByRole("heading", { name: /^Event data stores/ }).boundingBox();
    assert.ok(resultsBox !== null && storesBox !== null);
    assert.ok(resultsBox.y < 800, `results start at ${resultsBox.y}px, below the 800px screen`);
    assert.ok(storesBox.y > resultsBox.y, "the stores section is below the results");
    await screenshot(page, "lake");

    // A query the engine refuses: the user sees the server's reason, not a blank table.
    await editor.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.insertText(`SELECT no_such_column FROM ${storeId}`);
    await page.getByRole("button", { name: "Run", exact: true }).click();
    const failure = page.getByRole("alert").filter({ hasText: /Query (failed|FAILED)/ });
    await failure.waitFor();
    assert.match(await failure.innerText(), /no_such_column/);
    // The internal view never shows, and a failed query has no scan statistics to show.
    assert.doesNotMatch(await page.locator("main").innerText(), /eds_[0-9a-f]/);
    await page.getByRole("status", { name: "Query status" }).getByText("FAILED").waitFor();
    assert.equal(await page.getByText("Events scanned").count(), 0);
    await screenshot(page, "lake-failed-query");

    // Cairn extension: the store's name in FROM.
    await editor.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.insertText(
      "SELECT count(*) AS n FROM console-store WHERE eventSource = 'console-lake.example.com'",
    );
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await table.getByRole("cell", { name: "10", exact: true }).waitFor();
    await page.getByText("Events scanned").waitFor();
  });

  it("saves the editor's query on the server, opens it again and deletes it", async () => {
    const editor = page.getByRole("textbox", { name: "SQL query" });
    const statement = "SELECT eventName, count(*) AS n FROM console-store GROUP BY 1";
    await editor.click();
    // The editor shows the console's focus ring while it has the focus.
    const ring = await page.evaluate(
      "(() => { const s = getComputedStyle(document.querySelector('.sql-editor')); return [s.outlineStyle, s.outlineWidth]; })()",
    );
    assert.deepEqual(ring, ["solid", "3px"]);
    await page.keyboard.press("Control+A");
    await page.keyboard.insertText(statement);
    await page.getByRole("textbox", { name: "Save as" }).fill("probe counts");
    await page.getByRole("button", { name: "Save query" }).click();
    const open = page.getByRole("button", { name: "Open saved query probe counts" });
    await open.waitFor();
    // Stored on the server for this user, not in the browser.
    const api = savedQueryClient(server.url, CREDENTIALS);
    assert.deepEqual(
      (await api.list()).SavedQueries.map((q) => [q.Name, q.QueryStatement]),
      [["probe counts", statement]],
    );
    await screenshot(page, "lake-saved-queries");
    await editor.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.insertText("SELECT 1");
    await open.click();
    assert.equal(await page.locator(".sql-editor .cm-content").innerText(), statement);
    await page.getByRole("button", { name: "Delete saved query probe counts" }).click();
    await open.waitFor({ state: "detached" });
    assert.deepEqual((await api.list()).SavedQueries, []);
  });

  it("lists the store's past queries and opens one, with its results, without running it again", async () => {
    const stores = await client.send(new ListEventDataStoresCommand({}));
    const storeId = stores
      .EventDataStores!.find((s) => s.Name === "console-store")!
      .EventDataStoreArn!.split("/")
      .pop()!;
    const listed = (await client.send(new ListQueriesCommand({ EventDataStore: storeId, MaxResults: 10 }))).Queries!;
    await page.locator("summary", { hasText: "Query history" }).click();
    const history = page.getByRole("list", { name: "Query history" });
    await history.locator("li").first().waitFor();
    const items = history.locator("li");
    assert.equal(await items.count(), listed.length);
    assert.deepEqual(
      await history.locator(".badge").allInnerTexts(),
      listed.map((q) => q.QueryStatus),
    );
    const failed = items.filter({ hasText: "no_such_column" });
    assert.equal(await failed.locator(".badge").innerText(), "FAILED");
    await failed.getByRole("button", { name: /^Open query / }).click();
    assert.match(await page.locator(".sql-editor .cm-content").innerText(), /^SELECT no_such_column FROM /);
    // Two finished queries with different results, one after the other: each shows its own rows.
    const results = page.getByRole("table", { name: "Query results" });
    const grouped = items.filter({ hasText: "GROUP BY eventName ORDER BY n DESC" }).first();
    await grouped.getByRole("button", { name: /^Open query / }).click();
    await results.getByRole("cell", { name: "LakeProbeAlpha", exact: true }).waitFor();
    assert.equal(await results.locator("tbody tr").count(), 3);
    const counted = items.filter({ hasText: "FROM console-store WHERE" }).first();
    await counted.getByRole("button", { name: /^Open query / }).click();
    await results.getByRole("cell", { name: "10", exact: true }).waitFor();
    assert.equal(await results.locator("tbody tr").count(), 1);
    await screenshot(page, "lake-history");
  });

  it("draws a time series on a real time axis, with straight segments between the points", async () => {
    const editor = page.getByRole("textbox", { name: "SQL query" });
    await editor.click();
    await page.keyboard.press("Control+A");
    // Four days, the last four days after the third: on a time axis that gap is four times the others.
    await page.keyboard.insertText(
      "SELECT CAST(d AS TIMESTAMP) AS day, n FROM (VALUES (DATE '2026-01-01', 1), (DATE '2026-01-02', 3), " +
        "(DATE '2026-01-03', 2), (DATE '2026-01-07', 5)) AS v(d, n) CROSS JOIN (SELECT count(*) AS c FROM console-store) s",
    );
    await page.getByRole("button", { name: "Run", exact: true }).click();
    const chart = page.locator('figure[data-chart-kind="line"][data-x-axis="time"]');
    await chart.waitFor();
    const path = (await chart.locator("path.recharts-line-curve").getAttribute("d")) ?? "";
    assert.doesNotMatch(path, /C/, `a smoothed curve: ${path}`);
    const xs = [...path.matchAll(/[ML]\s*([\d.]+)[ ,]/g)].map((match) => Number(match[1]));
    assert.equal(xs.length, 4, path);
    const ratio = (xs[3]! - xs[2]!) / (xs[1]! - xs[0]!);
    assert.ok(Math.abs(ratio - 4) < 0.05, `gap ratio ${ratio}, expected 4: ${path}`);
    assert.deepEqual(await chart.locator(".recharts-cartesian-axis-tick-value").first().textContent(), "2026-01-01");
    await screenshot(page, "lake-time-series");
  });

  it("shows structs and maps as JSON, keeping Lake's text in the tooltip", async () => {
    const editor = page.getByRole("textbox", { name: "SQL query" });
    await editor.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.insertText(
      "SELECT userIdentity, MAP(['k'], ['v, w']) AS m FROM console-store WHERE eventSource = 'console-lake.example.com' LIMIT 1",
    );
    await page.getByRole("button", { name: "Run", exact: true }).click();
    const cells = page.getByRole("table", { name: "Query results" }).locator("tbody tr").first().locator("td");
    await page.getByRole("columnheader", { name: "m", exact: true }).waitFor();
    const [identity, map] = (await cells.allInnerTexts()).map((text) => text.trim());
    const parsed = JSON.parse(identity!) as Record<string, unknown>;
    assert.equal(typeof parsed["type"], "string");
    assert.equal(parsed["accountid"], TEST_ACCOUNT_ID);
    assert.deepEqual(JSON.parse(map!), { k: "v, w" });
    assert.match((await cells.nth(0).locator("code").getAttribute("title")) ?? "", /^\{type=/);
    await screenshot(page, "lake-struct-json");
  });

  it("shortens long bar labels in a result chart, keeping the full label as a tooltip", async () => {
    const editor = page.getByRole("textbox", { name: "SQL query" });
    await editor.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.insertText(
      "SELECT 'arn:aws:iam::111122223333:user/' || eventName AS who, count(*) AS n FROM console-store " +
        "WHERE eventSource = 'console-lake.example.com' GROUP BY 1 ORDER BY n DESC",
    );
    await page.getByRole("button", { name: "Run", exact: true }).click();
    const ticks = page.locator('figure[data-chart-kind="bar"] text[data-full-label^="arn:aws:iam::"]');
    await ticks.first().waitFor();
    assert.equal(await ticks.count(), 3);
    const titles = await ticks.locator("title").allTextContents();
    assert.deepEqual(
      titles,
      ["LakeProbeAlpha", "LakeProbeBeta", "LakeProbeGamma"].map((name) => `arn:aws:iam::111122223333:user/${name}`),
    );
    for (const text of await ticks.allTextContents()) assert.ok(text.length < titles[0]!.length * 2, text);
    const shown = (await ticks.first().textContent())!.replace(titles[0]!, "");
    assert.match(shown, /…$/);
  });

  it("draws the dashboard's charts for the store", async () => {
    const storeId = (
      await client.send(new ListEventDataStoresCommand({}))
    ).EventDataStores![0]!.EventDataStoreArn!.split("/")[1]!;
    const signals = securitySignals();
    const answer = await sendRaw(server.url, ingestCall(signals, CREDENTIALS));
    assert.equal(answer.status, 200, answer.text);
    const signal = `FROM ${storeId} WHERE eventSource = 'console-signals.example.com' OR eventName = 'ConsoleLogin'`;
    await pollUntil(
      async () => (await queryAll(client, `SELECT count(*) AS n ${signal}`)).rows[0]?.[0]?.["n"] === "12",
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        message: "the sign-in, denied and root probes in the store",
      },
    );
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Dashboard" }).click();
    await page.getByRole("combobox", { name: "Event data store" }).waitFor();
    await page.locator(".widget[data-state]").first().waitFor();
    // The page's policy forbids eval, so the wait polls from here rather than with waitForFunction.
    for (let waited = 0; (await page.locator('.widget[data-state="loading"]').count()) > 0; waited += 250) {
      assert.ok(waited < 60_000, "the dashboard's queries finish within a minute");
      await page.waitForTimeout(250);
    }
    for (const title of ["Events over time", "Top event names", "Top users", "Top event sources"]) {
      const figure = page.getByRole("figure", { name: title });
      await figure.waitFor();
    }
    const states = new Map<string, string | null>();
    for (const widget of await page.locator(".widget[data-state]").all())
      states.set(await widget.locator("figcaption").first().innerText(), await widget.getAttribute("data-state"));
    assert.ok(states.size >= 4);
    // This server has no Insights and no Sigma rule: those two cards say so; every Lake chart has data.
    assert.equal(states.get("Insights"), "empty");
    assert.equal(states.get("Sigma detections"), "empty");
    const lake = [...states].filter(([title]) => title !== "Insights" && title !== "Sigma detections");
    assert.ok(
      lake.every(([, state]) => state === "ready"),
      `every Lake widget has data: ${lake.join(",")}`,
    );
    const topNames = await page.getByRole("figure", { name: "Top event names" }).innerText();
    assert.match(topNames, /LakeProbeAlpha/);
    const signIns = await page.getByRole("figure", { name: "Console sign-ins" }).innerText();
    for (const kind of ["With MFA", "Without MFA", "Failed"]) assert.match(signIns, new RegExp(kind));
    assert.match(await page.getByRole("figure", { name: "Access denied, by user" }).innerText(), /mallory/);
    assert.match(await page.getByRole("figure", { name: "Root user activity" }).innerText(), /CreateAccessKey/);
    // The two root calls above, and this test's own calls: its admin key is the account's root.
    const rootCalls = Number(
      (await page.getByRole("group", { name: "Root user calls" }).locator(".stat").innerText()).replace(/\D/g, ""),
    );
    assert.ok(rootCalls >= 2, `root user calls: ${rootCalls}`);
    await screenshot(page, "dashboard");

    // Cut labels keep their full text as a tooltip; event names lead to their events over the same range.
    const userTitles = await page
      .getByRole("figure", { name: "Top users" })
      .locator(".recharts-yAxis-tick-labels title")
      .allTextContents();
    assert.ok(userTitles.length > 0, "the user labels have tooltips");
    // Users are named as Event history names them (user name, role, `root`), never by ARN.
    assert.ok(userTitles.includes("mallory"), userTitles.join(","));
    assert.ok(
      userTitles.every((title) => title !== "" && !title.startsWith("arn:")),
      userTitles.join(","),
    );
    await page.getByRole("figure", { name: "Top event names" }).locator('a[href*="value=LakeProbeAlpha"]').click();
    await page.getByText("EventName = LakeProbeAlpha").waitFor();
    const names = await page.locator('table[aria-label="Events"] tbody tr td:nth-child(3)').allInnerTexts();
    assert.deepEqual(names, Array(5).fill("LakeProbeAlpha"));
  });

  it("creates an event data store that leaves out CloudTrail's own reads, by selector", async () => {
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Lake" }).click();
    const form = page.getByRole("form", { name: "Create event data store" });
    if (!(await form.isVisible())) await page.locator(".stores-section > summary").click();
    await form.getByRole("textbox", { name: "Name" }).fill("without-reads");
    await form.getByRole("checkbox", { name: /Leave out CloudTrail's own read calls/ }).check();
    await form.getByRole("button", { name: "Create event data store" }).click();
    await page.getByText("Created event data store without-reads.").waitFor();
    const stores = await client.send(new ListEventDataStoresCommand({}));
    const store = stores.EventDataStores!.find((candidate) => candidate.Name === "without-reads")!;
    const selectors = (
      await client.send(new GetEventDataStoreCommand({ EventDataStore: store.EventDataStoreArn }))
    ).AdvancedEventSelectors!.map((selector) =>
      selector.FieldSelectors!.map((field) => [field.Field, field.Equals ?? [], field.NotEquals ?? []]),
    );
    assert.deepEqual(selectors, [
      [
        ["eventCategory", ["Management"], []],
        ["eventSource", [], ["cloudtrail.amazonaws.com"]],
      ],
      [
        ["eventCategory", ["Management"], []],
        ["eventSource", ["cloudtrail.amazonaws.com"], []],
        ["readOnly", ["false"], []],
      ],
    ]);
  });

  it("fits a phone screen (390×844) without sideways scrolling", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Event history" }).click();
    await page.getByRole("table", { name: "Events" }).waitFor();
    // A string, because the test's own TypeScript has no DOM types.
    const overflow = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await screenshot(page, "event-history-390");
    for (const [link, name] of [
      ["Lake", "lake-390"],
      ["Dashboard", "dashboard-390"],
      ["Trails", "trails-390"],
    ] as const) {
      await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: link }).click();
      await page.getByRole("heading", { name: link }).waitFor();
      await page.waitForLoadState("networkidle");
      const wide = (await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")) as number;
      assert.ok(wide <= 0, `${link} is ${wide}px wider than the screen`);
      await screenshot(page, name);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it("says so when the server is down", async () => {
    // The refused connections are the point here; the browser logs them as failed loads.
    watched.allow(/Failed to load resource: net::ERR_CONNECTION_REFUSED/);
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Event history" }).click();
    await page.getByRole("table", { name: "Events" }).waitFor();
    await server.stop();
    await page.getByRole("button", { name: "Search" }).click();
    const alert = page.getByRole("alert").filter({ hasText: "Lookup failed" });
    await alert.waitFor();
    assert.match(await alert.innerText(), /not reachable/);
    await screenshot(page, "server-down");
  });

  it("reports no browser errors", () => {
    assert.deepEqual(watched.errors, []);
  });
});

/** Sign-ins with and without MFA and a failed one, refused calls by one user, and root calls: 12 records. */
function securitySignals(): RawRecord[] {
  const base = recentRecords(12, { accountId: TEST_ACCOUNT_ID });
  const user = (name: string) => ({
    type: "IAMUser",
    principalId: `AIDA${name.toUpperCase()}`,
    arn: `arn:aws:iam::${TEST_ACCOUNT_ID}:user/${name}`,
    accountId: TEST_ACCOUNT_ID,
    userName: name,
  });
  const signIn = (mfa: string, outcome: string) => ({
    eventSource: "signin.amazonaws.com",
    eventName: "ConsoleLogin",
    userIdentity: user("carol"),
    additionalEventData: { MFAUsed: mfa, LoginTo: "https://console.aws.amazon.com/" },
    responseElements: { ConsoleLogin: outcome },
  });
  const shapes = [
    ...Array.from({ length: 3 }, () => signIn("Yes", "Success")),
    ...Array.from({ length: 2 }, () => signIn("No", "Success")),
    signIn("No", "Failure"),
    ...Array.from({ length: 4 }, () => ({
      eventSource: "console-signals.example.com",
      eventName: "GetSecretValue",
      userIdentity: user("mallory"),
      errorCode: "AccessDenied",
      errorMessage: "User: mallory is not authorized",
    })),
    ...Array.from({ length: 2 }, () => ({
      eventSource: "console-signals.example.com",
      eventName: "CreateAccessKey",
      userIdentity: {
        type: "Root",
        principalId: TEST_ACCOUNT_ID,
        arn: `arn:aws:iam::${TEST_ACCOUNT_ID}:root`,
        accountId: TEST_ACCOUNT_ID,
      },
    })),
  ];
  return shapes.map((shape, i) => ({ ...base[i]!, ...shape }));
}
