import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords } from "../helpers/sample-records.js";
import { browserMissing, launchChromium, screenshot, watchErrors, signIn, closeConsoleTest } from "./browser.js";

const CREDENTIALS = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const DAY_MS = 86_400_000;
const ZONE = "America/Los_Angeles";
const missing = browserMissing();
if (missing !== undefined) process.stderr.write(`\n*** ${missing} ***\n\n`);

/** 12:27:00Z two days ago: inside LookupEvents' 90 days, and a different calendar hour in Los Angeles. */
const PROBE_MS = Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS + (12 * 60 + 27) * 60_000;
const PROBE_DAY = new Date(PROBE_MS).toISOString().slice(0, 10);

/** What Los Angeles' wall clock reads at an instant, as "HH:MM" (the test computes it with Node's own zone data). */
function losAngeles(ms: number, withDate = false): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: ZONE,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(ms));
  const part = (type: string): string => parts.find((candidate) => candidate.type === type)!.value;
  const time = `${part("hour")}:${part("minute")}`;
  return withDate ? `${part("year")}-${part("month")}-${part("day")}T${time}` : time;
}

function timeCells(page: Page): Promise<string[]> {
  return page.locator('table[aria-label="Events"] tbody tr td:nth-child(2)').allInnerTexts();
}

function nameCells(page: Page): Promise<string[]> {
  return page.locator('table[aria-label="Events"] tbody tr td:nth-child(3)').allInnerTexts();
}

function query(page: Page): URLSearchParams {
  const hash = new URL(page.url()).hash;
  return new URLSearchParams(hash.slice(hash.indexOf("?") + 1));
}

describe("console time zones and shareable searches", { skip: missing }, () => {
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let watched: ReturnType<typeof watchErrors>;
  let pageTwoUrl = "";

  before(async () => {
    server = await startServerProcess();
    const probe = recentRecords(1, { accountId: TEST_ACCOUNT_ID, nowMs: PROBE_MS + 1000 }).map((record) => ({
      ...record,
      eventName: "CairnZoneProbe",
      readOnly: false,
      eventSource: "console-test.example.com",
    }));
    // More than one page (50) of recent events, for the paging links (the console's own calls add more).
    const recent = recentRecords(70, { accountId: TEST_ACCOUNT_ID, spreadMs: 600_000 });
    const answer = await sendRaw(server.url, ingestCall([...probe, ...recent], CREDENTIALS));
    assert.equal(answer.status, 200, answer.text);
    browser = await launchChromium();
    // The browser runs in Los Angeles: the console must still show and read UTC unless told otherwise.
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: ZONE });
    page = await context.newPage();
    watched = watchErrors(page);
  });

  after(async () => {
    await closeConsoleTest({ context, browser, server });
  });

  it("searches 12:00–13:00 UTC from a Los Angeles browser and finds the 12:27Z event", async () => {
    await signIn(page, `${server.url}/console/`);
    assert.equal(await page.getByLabel("Time zone").inputValue(), "utc");
    await page.getByLabel("Lookup attribute").selectOption("EventName");
    await page.getByLabel("Value").fill("CairnZoneProbe");
    await page.getByLabel("Time range").selectOption("custom");
    await page.getByLabel(/^From \(UTC\)/).fill(`${PROBE_DAY}T12:00`);
    await page.getByLabel(/^To \(UTC\)/).fill(`${PROBE_DAY}T13:00`);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText(/Page 1 · 1 event\b/).waitFor();
    assert.deepEqual(await timeCells(page), [`${PROBE_DAY} 12:27:00 UTC`]);
    // The URL holds the instants in UTC, whatever the display zone.
    assert.equal(query(page).get("from"), `${PROBE_DAY}T12:00:00.000Z`);
    assert.equal(query(page).get("to"), `${PROBE_DAY}T13:00:00.000Z`);
    await page.getByRole("button", { name: "Show details" }).first().click();
    await page.locator(".key-fields").getByText(`${PROBE_DAY} 12:27:00 UTC`).waitFor();
    await screenshot(page, "zone-utc-in-los-angeles");
  });

  it("switches every time, typed or shown, to local time and keeps the choice", async () => {
    await page.getByLabel("Time zone").selectOption("local");
    const [cell] = await timeCells(page);
    assert.match(cell!, new RegExp(`^${losAngeles(PROBE_MS, true).replace("T", " ")}:00 UTC−0[78]:00$`));
    await page
      .locator(".key-fields")
      .getByText(`${losAngeles(PROBE_MS)}:00 UTC−0`)
      .waitFor();
    // The same instants, now in Los Angeles time.
    assert.equal(
      await page.getByLabel(/^From \(UTC−0[78]:00\)/).inputValue(),
      losAngeles(Date.parse(`${PROBE_DAY}T12:00Z`), true),
    );
    assert.equal(
      await page.getByLabel(/^To \(UTC−0[78]:00\)/).inputValue(),
      losAngeles(Date.parse(`${PROBE_DAY}T13:00Z`), true),
    );
    await screenshot(page, "zone-local-los-angeles");

    // Typed times are local now: 12:20–12:30Z typed as Los Angeles wall-clock times.
    await page.getByLabel(/^From \(UTC/).fill(losAngeles(Date.parse(`${PROBE_DAY}T12:20Z`), true));
    await page.getByLabel(/^To \(UTC/).fill(losAngeles(Date.parse(`${PROBE_DAY}T12:30Z`), true));
    await page.getByRole("button", { name: "Search" }).click();
    await page.waitForURL((url) => url.hash.includes(encodeURIComponent(`${PROBE_DAY}T12:20:00.000Z`)));
    await page.getByText(/Page 1 · 1 event\b/).waitFor();
    assert.deepEqual(await nameCells(page), ["CairnZoneProbe"]);

    await page.reload();
    await page.getByRole("table", { name: "Events" }).waitFor();
    assert.equal(await page.getByLabel("Time zone").inputValue(), "local");
    await page.getByLabel("Time zone").selectOption("utc");
    assert.deepEqual(await timeCells(page), [`${PROBE_DAY} 12:27:00 UTC`]);
  });

  it("keeps the search in the URL: back and forward restore it, paging included", async () => {
    await page.getByLabel("Lookup attribute").selectOption("");
    await page.getByLabel("Read-only").selectOption("all");
    await page.getByLabel("Time range").selectOption("24h");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText(/Page 1 · 50 events/).waitFor();
    assert.equal(query(page).get("range"), "24h");
    assert.equal(query(page).get("attribute"), null);
    await page.getByRole("button", { name: "Next →" }).click();
    await page.getByText(/Page 2 · \d+ events?/).waitFor();
    assert.equal(query(page).get("page"), "2");

    await page.goBack();
    await page.getByText(/Page 1 · 50 events/).waitFor();
    await page.goBack();
    // The probe search again: form and result.
    await page.getByText(/Page 1 · 1 event\b.*EventName = CairnZoneProbe/).waitFor();
    assert.equal(await page.getByLabel("Lookup attribute").inputValue(), "EventName");
    assert.equal(await page.getByLabel("Value").inputValue(), "CairnZoneProbe");
    assert.equal(await page.getByLabel("Time range").inputValue(), "custom");
    assert.equal(await page.getByLabel(/^From \(UTC\)/).inputValue(), `${PROBE_DAY}T12:20`);
    await page.goForward();
    await page.getByText(/Page 1 · 50 events/).waitFor();
    assert.equal(await page.getByLabel("Time range").inputValue(), "24h");
    await page.goForward();
    await page.getByText(/Page 2 · \d+ events?/).waitFor();
    pageTwoUrl = page.url();
  });

  it("opens a copied URL in a new tab with the same search, after signing in", async () => {
    await page.getByLabel("Read-only").selectOption("false");
    await page.getByLabel("Time range").selectOption("7d");
    await page.getByLabel("Lookup attribute").selectOption("EventName");
    await page.getByLabel("Value").fill("CairnZoneProbe");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText(/EventName = CairnZoneProbe and ReadOnly = false/).waitFor();
    const shown = await page.getByRole("status").filter({ hasText: /^Page/ }).innerText();
    const rows = await nameCells(page);
    const copied = page.url();

    const other = await context.newPage();
    const otherWatched = watchErrors(other);
    await signIn(other, copied);
    await other.getByText(/EventName = CairnZoneProbe and ReadOnly = false/).waitFor();
    assert.equal(await other.getByRole("status").filter({ hasText: /^Page/ }).innerText(), shown);
    assert.deepEqual(await nameCells(other), rows);
    assert.equal(await other.getByLabel("Read-only").inputValue(), "false");
    assert.deepEqual(rows, ["CairnZoneProbe"]);
    assert.equal(await other.getByLabel("Time range").inputValue(), "7d");
    await screenshot(other, "shared-search-url");

    // A link to a later page: loaded fresh, the console walks to it from the first page.
    await other.goto(pageTwoUrl);
    await other.reload();
    await other.getByText(/Page 2 · \d+ events?/).waitFor();
    assert.equal(await other.getByLabel("Time range").inputValue(), "24h");
    await other.close();
    assert.deepEqual(otherWatched.errors, []);
  });

  it("returns to the same search after visiting another page through the menu", async () => {
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Trails" }).click();
    await page.getByRole("heading", { name: "Trails" }).waitFor();
    await page.getByRole("navigation", { name: "Pages" }).getByRole("link", { name: "Event history" }).click();
    await page.getByText(/EventName = CairnZoneProbe and ReadOnly = false/).waitFor();
    assert.equal(await page.getByLabel("Value").inputValue(), "CairnZoneProbe");
    assert.deepEqual(await nameCells(page), ["CairnZoneProbe"]);
  });

  it("pivots on a clicked user name, keeping the range", async () => {
    await page.getByLabel("Lookup attribute").selectOption("");
    await page.getByLabel("Read-only").selectOption("all");
    await page.getByLabel("Time range").selectOption("7d");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText(/^Page 1 · 50 events$/).waitFor();
    const link = page.locator('table[aria-label="Events"] tbody tr td:nth-child(4) a.pivot').first();
    const user = (await link.innerText()).trim();
    await link.click();
    await page.getByText(`Username = ${user}`).waitFor();
    assert.equal(query(page).get("attribute"), "Username");
    assert.equal(query(page).get("value"), user);
    assert.equal(query(page).get("range"), "7d");
    assert.equal(await page.getByLabel("Lookup attribute").inputValue(), "Username");
    const users = await page.locator('table[aria-label="Events"] tbody tr td:nth-child(4)').allInnerTexts();
    assert.ok(users.length > 0);
    assert.ok(
      users.every((name) => name.trim() === user),
      users.join(","),
    );
    await screenshot(page, "pivot-user");
  });

  it("live mode keeps to a past range: new events stay out, a late one inside the range comes in", async () => {
    await page.getByLabel("Lookup attribute").selectOption("");
    await page.getByLabel("Read-only").selectOption("all");
    await page.getByLabel("Time range").selectOption("custom");
    await page.getByLabel(/^From \(UTC\)/).fill(`${PROBE_DAY}T12:00`);
    await page.getByLabel(/^To \(UTC\)/).fill(`${PROBE_DAY}T13:00`);
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByText(/^Page 1 · 1 event$/).waitFor();
    await page.getByLabel("Live").check();
    await page.getByText("Live: new events appear as they are recorded (only those inside the chosen range)").waitFor();
    const named = (eventName: string, nowMs?: number) =>
      recentRecords(1, { accountId: TEST_ACCOUNT_ID, ...(nowMs !== undefined ? { nowMs } : {}) }).map((record) => ({
        ...record,
        eventName,
        eventSource: "console-test.example.com",
      }));
    // One batch, journaled in order: when the late event (12:28Z) shows, the new one was already seen and left out.
    const batch = [...named("CairnLiveOutside"), ...named("CairnLiveInside", PROBE_MS + 61_000)];
    const answer = await sendRaw(server.url, ingestCall(batch, CREDENTIALS));
    assert.equal(answer.status, 200, answer.text);
    await page.locator('table[aria-label="Events"] tbody tr', { hasText: "CairnLiveInside" }).waitFor();
    assert.deepEqual(await nameCells(page), ["CairnLiveInside", "CairnZoneProbe"]);
    await page.getByLabel("Live").uncheck();
  });

  it("reports no browser errors", () => {
    assert.deepEqual(watched.errors, []);
  });
});
