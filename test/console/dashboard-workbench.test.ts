import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CloudTrailClient, CreateEventDataStoreCommand } from "@aws-sdk/client-cloudtrail";
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
import { addPrincipal } from "../helpers/principals.js";
import { pollUntil } from "../helpers/poll.js";
import { queryAll } from "../lake/lake-client.js";
import { browserMissing, launchChromium, screenshot, watchErrors, closeConsoleTest } from "./browser.js";

/**
 * The dashboard as an analyst uses it (issue #16): Insights and Sigma cards with data, empty and
 * refused; the events-over-time chart on a real time axis (one point per minute bucket, zeros
 * between sparse ones); a bucket leading to Event history over exactly that minute; in UTC and in
 * Los Angeles time with the console's zone switch on "Local".
 */
const CREDENTIALS = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const ZONE = "America/Los_Angeles";
const SOURCE = "dashboard-probe.example.com";
const missing = browserMissing();
if (missing !== undefined) process.stderr.write(`\n*** ${missing} ***\n\n`);

/** A 75-minute window two days ago (minute buckets), away from the server's own calls of today. */
const WINDOW_START_MS = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS - 2 * DAY_MS;
const WINDOW_MINUTES = 75;
const WINDOW_END_MS = WINDOW_START_MS + WINDOW_MINUTES * MINUTE_MS;
/** Sparse minutes: events at minute offset → count. Minute 74's last event is the Sigma probe. */
const PROBE_MINUTES = new Map([
  [0, 3],
  [1, 1],
  [2, 2],
  [40, 4],
  [74, 2],
]);
const SIGMA_RULE_ID = "8b2f3c1e-4d5a-4b6c-9d7e-0f1a2b3c4d5e";
const SIGMA_RULE = `title: Dashboard probe detection
id: ${SIGMA_RULE_ID}
status: test
logsource:
  product: aws
  service: cloudtrail
detection:
  selection:
    eventName: DashboardSigmaProbe
  condition: selection
level: high
`;

function probeRecords(): RawRecord[] {
  const records: RawRecord[] = [];
  for (const [minute, count] of PROBE_MINUTES) {
    const base = recentRecords(count, { accountId: TEST_ACCOUNT_ID, nowMs: WINDOW_START_MS, spreadMs: 1 });
    base.forEach((record, index) => {
      const sigma = minute === 74 && index === count - 1;
      records.push({
        ...record,
        eventSource: SOURCE,
        eventName: sigma ? "DashboardSigmaProbe" : "DashboardProbe",
        readOnly: false,
        eventTime: new Date(WINDOW_START_MS + minute * MINUTE_MS + index * 1000).toISOString().replace(".000Z", "Z"),
      });
    });
  }
  return records;
}

/** An Insight (Start and End sharing sharedEventID) about DashboardProbe calls, minutes 40 to 45. */
function insightRecords(): RawRecord[] {
  const record = (state: "Start" | "End", atMs: number): RawRecord => ({
    eventVersion: "1.07",
    eventTime: new Date(atMs).toISOString().replace(".000Z", "Z"),
    awsRegion: "us-east-1",
    eventID: `0b1c2d3e-0000-4000-8000-00000000000${state === "Start" ? 1 : 2}`,
    eventType: "AwsCloudTrailInsight",
    recipientAccountId: TEST_ACCOUNT_ID,
    sharedEventID: "0b1c2d3e-0000-4000-8000-0000000000ff",
    insightDetails: {
      state,
      eventSource: SOURCE,
      eventName: "DashboardProbe",
      insightType: "ApiCallRateInsight",
    },
    eventCategory: "Insight",
  });
  return [record("Start", WINDOW_START_MS + 40 * MINUTE_MS), record("End", WINDOW_START_MS + 45 * MINUTE_MS)];
}

/** "YYYY-MM-DDTHH:MM" of an instant in a zone: what a datetime-local input of the console holds. */
function inputText(ms: number, zone: "UTC" | typeof ZONE): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: zone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(ms));
  const part = (type: string): string => parts.find((candidate) => candidate.type === type)!.value;
  return `${part("year")}-${part("month")}-${part("day")}T${part("hour")}:${part("minute")}`;
}

async function signInWith(page: Page, url: string, keys: { accessKeyId: string; secretAccessKey: string }) {
  await page.goto(`${url}/console/`);
  await page.getByLabel("Access key ID").fill(keys.accessKeyId);
  await page.getByLabel("Secret access key").fill(keys.secretAccessKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Event history" }).waitFor();
}

/** Waits until no widget is loading (the page forbids eval: no waitForFunction). */
async function settled(page: Page): Promise<Map<string, string>> {
  await page.locator(".widget[data-state]").first().waitFor();
  const loading = page.locator('.widget[data-state="loading"]');
  while ((await loading.count()) > 0) await loading.first().waitFor({ state: "detached", timeout: 60_000 });
  const states = new Map<string, string>();
  for (const widget of await page.locator(".widget[data-state]").all()) {
    const title = await widget.locator("figcaption").first().innerText();
    states.set(title, (await widget.getAttribute("data-state")) ?? "");
  }
  return states;
}

async function showRange(page: Page, startMs: number, endMs: number, zone: "UTC" | typeof ZONE): Promise<void> {
  const nav = page.getByRole("navigation", { name: "Pages" });
  await nav.getByRole("link", { name: "Dashboard" }).click();
  await page.getByRole("combobox", { name: "Event data store" }).waitFor();
  // The last 90 days load first: changing the range before they end would abandon (cancel) those queries.
  await settled(page);
  const form = page.getByRole("form", { name: "Dashboard settings" });
  await form.getByLabel("Time range").selectOption("custom");
  await form.locator('input[name="start"]').fill(inputText(startMs, zone));
  await form.locator('input[name="end"]').fill(inputText(endMs, zone));
  await form.getByRole("button", { name: "Apply" }).click();
}

function historyQuery(page: Page): URLSearchParams {
  const hash = new URL(page.url()).hash;
  return new URLSearchParams(hash.slice(hash.indexOf("?") + 1));
}

describe("dashboard: detections, time axis and click-through", { skip: missing }, () => {
  let server: ServerProcess;
  let browser: Browser;
  let client: CloudTrailClient;
  let limited: { accessKeyId: string; secretAccessKey: string };
  let policy: string | undefined;

  before(async () => {
    server = await startServerProcess();
    client = new CloudTrailClient({ endpoint: server.url, region: "us-east-1", credentials: CREDENTIALS });
    const store = await client.send(new CreateEventDataStoreCommand({ Name: "dashboard-store" }));
    const storeId = store.EventDataStoreArn!.split("/").pop()!;
    const put = await sendRaw(server.url, { ...CREDENTIALS, method: "PUT", path: "/sigma/rules", body: SIGMA_RULE });
    assert.equal(put.status, 200, put.text);
    const answer = await sendRaw(server.url, ingestCall([...probeRecords(), ...insightRecords()], CREDENTIALS));
    assert.equal(answer.status, 200, answer.text);
    const probes = [...PROBE_MINUTES.values()].reduce((sum, count) => sum + count, 0);
    await pollUntil(
      async () =>
        (await queryAll(client, `SELECT count(*) AS n FROM ${storeId} WHERE eventSource = '${SOURCE}'`)).rows[0]?.[0]?.[
          "n"
        ] === String(probes),
      { timeoutMs: 60_000, intervalMs: 500, message: "the probes in the store" },
    );
    await pollUntil(
      async () => {
        const list = await sendRaw(server.url, {
          ...CREDENTIALS,
          method: "GET",
          path: "/sigma/matches",
          query: { ruleId: SIGMA_RULE_ID },
        });
        return (list.json()["matches"] as unknown[]).length === 1;
      },
      { timeoutMs: 60_000, intervalMs: 500, message: "the Sigma match" },
    );
    policy = join(server.dataDir, "..", `${server.dataDir.split("/").pop()}-dashboard-policy.json`);
    writeFileSync(
      policy,
      JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Action: "cloudtrail:*", Resource: "*" },
          {
            Effect: "Deny",
            Action: ["cloudtrail:LookupEvents", "cloudtrail:ListSigmaMatches"],
            Resource: "*",
          },
        ],
      }),
    );
    limited = await addPrincipal(server.dataDir, {
      name: "no-detections",
      accountId: TEST_ACCOUNT_ID,
      policyArns: [],
      policyFiles: [policy],
    });
    browser = await launchChromium();
  });

  after(async () => {
    await closeConsoleTest({ browser, client, server });
    if (policy !== undefined) rmSync(policy, { force: true });
  });

  for (const zone of ["UTC", ZONE] as const) {
    it(`shows Insights, Sigma and a time axis whose buckets lead to Event history (${zone})`, async () => {
      const context: BrowserContext = await browser.newContext({
        viewport: { width: 1440, height: 900 },
        timezoneId: zone,
      });
      const page = await context.newPage();
      const watched = watchErrors(page);
      const refused: string[] = [];
      page.on("response", (response) => {
        if (response.status() >= 400)
          void response
            .text()
            .then((text) => refused.push(`${response.request().headers()["x-amz-target"] ?? response.url()} ${text}`));
      });
      try {
        await signInWith(page, server.url, CREDENTIALS);
        if (zone !== "UTC") await page.getByLabel("Time zone").selectOption("local");
        await showRange(page, WINDOW_START_MS, WINDOW_END_MS, zone);
        const states = await settled(page);
        for (const title of ["Events over time", "Top event names", "Insights", "Sigma detections"])
          assert.equal(states.get(title), "ready", `${title}: ${[...states].join(",")}`);

        // Insights: one Insight (Start and End paired), linking to its calls over minutes 40–45.
        const insights = page.getByRole("figure", { name: "Insights" });
        assert.match(await insights.innerText(), /1 Insight\b/);
        const insightLink = insights.getByRole("link", { name: /Call rate of DashboardProbe/ });
        const insightQuery = new URLSearchParams((await insightLink.getAttribute("href"))!.split("?")[1]);
        assert.equal(insightQuery.get("attribute"), "EventName");
        assert.equal(insightQuery.get("value"), "DashboardProbe");
        assert.equal(insightQuery.get("from"), new Date(WINDOW_START_MS + 40 * MINUTE_MS).toISOString());
        assert.equal(insightQuery.get("to"), new Date(WINDOW_START_MS + 45 * MINUTE_MS).toISOString());

        // Sigma: the rule with its one match, and the match leads to its event.
        const sigma = page.getByRole("figure", { name: "Sigma detections" });
        assert.match(await sigma.innerText(), /1 match\b/);
        const rules = await sigma
          .getByRole("table", { name: "Sigma matches by rule" })
          .locator("tbody tr")
          .allInnerTexts();
        assert.deepEqual(
          rules.map((row) => row.split("\t").map((cell) => cell.trim())),
          [["Dashboard probe detection", "high", "1"]],
        );

        // The time axis: one point per minute of the 75, on a numeric time scale.
        const chart = page.getByRole("figure", { name: "Events over time" });
        assert.equal(await chart.getAttribute("data-x-axis"), "time");
        const path = (await chart.locator("path.recharts-line-curve").getAttribute("d")) ?? "";
        assert.equal(path.match(/[ML]/g)?.length, WINDOW_MINUTES, "a point per bucket, zeros between sparse ones");
        // Ticks read the chosen zone's wall clock: each is a minute of the window in that zone.
        const ticks = await chart.locator(".recharts-xAxis-tick-labels text").allTextContents();
        const minutes = Array.from({ length: WINDOW_MINUTES + 1 }, (_, minute) =>
          inputText(WINDOW_START_MS + minute * MINUTE_MS, zone).slice(11),
        );
        assert.ok(ticks.length > 1, "the time axis has ticks");
        for (const tick of ticks)
          assert.ok(minutes.includes(tick), `tick ${tick} is a minute of the window in ${zone}`);

        // The buckets with events, as links: exactly the probe minutes, labelled in the chosen zone.
        await chart
          .locator("..")
          .getByText(/buckets with events, as links/)
          .click();
        const links = page.getByRole("list", { name: "Events over time by bucket" }).getByRole("link");
        assert.equal(await links.count(), PROBE_MINUTES.size);
        const label = await links.nth(3).innerText();
        assert.equal(label.slice(0, 16).replace(" ", "T"), inputText(WINDOW_START_MS + 40 * MINUTE_MS, zone));
        assert.match(label, zone === "UTC" ? /UTC$/ : /UTC−0[78]:00$/);
        await screenshot(page, `dashboard-detections-${zone === "UTC" ? "utc" : "los-angeles"}`);

        // A click on the chart at minute 40 opens Event history over that minute, reads included.
        const grid = (await chart.locator(".recharts-cartesian-grid").boundingBox())!;
        await page.mouse.move(grid.x + (grid.width * 40) / (WINDOW_MINUTES - 1), grid.y + grid.height / 2);
        await page.mouse.click(grid.x + (grid.width * 40) / (WINDOW_MINUTES - 1), grid.y + grid.height / 2);
        await page.getByRole("heading", { name: "Event history" }).waitFor();
        const query = historyQuery(page);
        assert.equal(query.get("range"), "custom");
        assert.equal(query.get("readOnly"), "all");
        assert.equal(query.get("from"), new Date(WINDOW_START_MS + 40 * MINUTE_MS).toISOString());
        assert.equal(query.get("to"), new Date(WINDOW_START_MS + 41 * MINUTE_MS - 1000).toISOString());
        await page.getByText(/^Page 1 · 4 events/).waitFor();
        await screenshot(page, `dashboard-bucket-history-${zone === "UTC" ? "utc" : "los-angeles"}`);

        // The Sigma match's link finds its one event by id.
        await page.goBack();
        await showRange(page, WINDOW_START_MS, WINDOW_END_MS, zone);
        await settled(page);
        await page
          .getByRole("figure", { name: "Sigma detections" })
          .getByRole("link", { name: "Dashboard probe detection" })
          .click();
        await page.getByText(/^Page 1 · 1 event/).waitFor();
        assert.equal(historyQuery(page).get("attribute"), "EventId");

        // A range with nothing: every card says so.
        await showRange(page, WINDOW_START_MS - 10 * DAY_MS, WINDOW_START_MS - 9 * DAY_MS, zone);
        const empty = await settled(page);
        assert.ok(
          [...empty.values()].every((state) => state === "empty"),
          `every widget empty: ${[...empty].join(",")}`,
        );
        assert.match(
          await page.getByRole("figure", { name: "Insights" }).innerText(),
          /No Insights events in this time range/,
        );
        assert.match(
          await page.getByRole("figure", { name: "Sigma detections" }).innerText(),
          /No Sigma matches in this time range/,
        );
        await screenshot(page, `dashboard-empty-${zone === "UTC" ? "utc" : "los-angeles"}`);
        assert.deepEqual(watched.errors, [], refused.join("\n"));
      } finally {
        await context.close();
      }
    });
  }

  it("says which permission is missing when Insights and Sigma matches are refused, and charts the rest", async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: "UTC" });
    const page = await context.newPage();
    const watched = watchErrors(page);
    // Event history (the first page) and the two cards are refused: 4xx loads the browser reports.
    watched.allow(/Failed to load resource: the server responded with a status of 4\d\d/);
    try {
      await signInWith(page, server.url, limited);
      await showRange(page, WINDOW_START_MS, WINDOW_END_MS, "UTC").catch(async (problem: unknown) => {
        await screenshot(page, "dashboard-detections-denied-failed");
        throw problem;
      });
      const states = await settled(page);
      assert.equal(states.get("Insights"), "denied");
      assert.equal(states.get("Sigma detections"), "denied");
      assert.equal(states.get("Events over time"), "ready");
      assert.match(await page.getByRole("figure", { name: "Insights" }).innerText(), /needs cloudtrail:LookupEvents/);
      assert.match(
        await page.getByRole("figure", { name: "Sigma detections" }).innerText(),
        /needs cloudtrail:ListSigmaMatches/,
      );
      await screenshot(page, "dashboard-detections-denied");
      assert.deepEqual(watched.errors, []);
    } finally {
      await context.close();
    }
  });
});
