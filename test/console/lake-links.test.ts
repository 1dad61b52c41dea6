import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { CreateEventDataStoreCommand, type CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import type { Browser, Page } from "playwright-core";
import {
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";
import { pollUntil } from "../helpers/poll.js";
import { lakeClient, queryAll } from "../lake/lake-client.js";
import { browserMissing, launchChromium, screenshot, signIn, watchErrors, closeConsoleTest } from "./browser.js";

const CREDENTIALS = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const SOURCE = "lake-links.example.com";
const missing = browserMissing();
if (missing !== undefined) process.stderr.write(`\n*** ${missing} ***\n\n`);

interface Probe {
  readonly user: string;
  readonly key: string;
  readonly eventName: string;
}

/** Two users, three events: each link's filter matches a known subset. */
const PROBES: readonly Probe[] = [
  { user: "link-alice", key: "AKIALINKALICE0000001", eventName: "LinkProbeA" },
  { user: "link-alice", key: "AKIALINKALICE0000001", eventName: "LinkProbeB" },
  { user: "link-bob", key: "AKIALINKBOB000000002", eventName: "LinkProbeA" },
];

function probeRecords(): RawRecord[] {
  const base = recentRecords(PROBES.length, { accountId: TEST_ACCOUNT_ID, spreadMs: 600_000 });
  return PROBES.map((probe, index) => ({
    ...base[index]!,
    eventID: randomUUID(),
    eventName: probe.eventName,
    eventSource: SOURCE,
    readOnly: index === 1,
    sourceIPAddress: "198.51.100.7",
    userIdentity: {
      type: "IAMUser",
      principalId: `AIDA${probe.user.toUpperCase().replace(/-/g, "")}`,
      arn: `arn:aws:iam::${TEST_ACCOUNT_ID}:user/${probe.user}`,
      accountId: TEST_ACCOUNT_ID,
      accessKeyId: probe.key,
      userName: probe.user,
    },
  }));
}

/** The Event history rows on screen: [event name, user name] of each, once the search has answered. */
async function historyRows(page: Page, summary: string): Promise<string[][]> {
  await page.getByRole("status").filter({ hasText: summary }).waitFor();
  const rows = page.locator('table[aria-label="Events"] tbody tr:not(.details)');
  const out: string[][] = [];
  for (const row of await rows.all()) {
    const cells = (await row.locator("td").allInnerTexts()).map((text) => text.trim());
    out.push([cells[2]!, cells[3]!]);
  }
  return out.sort();
}

describe("Lake results link to Event history", { skip: missing }, () => {
  let server: ServerProcess;
  let browser: Browser;
  let page: Page;
  let client: CloudTrailClient;
  let watched: ReturnType<typeof watchErrors>;
  let records: RawRecord[];
  let storeId: string;

  before(async () => {
    server = await startServerProcess();
    client = lakeClient(server.url);
    const store = await client.send(new CreateEventDataStoreCommand({ Name: "links-store" }));
    storeId = store.EventDataStoreArn!.split("/").pop()!;
    records = probeRecords();
    const answer = await sendRaw(server.url, ingestCall(records, CREDENTIALS));
    assert.equal(answer.status, 200, answer.text);
    // Lake makes events queryable within seconds of acknowledgement.
    await pollUntil(
      async () => {
        const outcome = await queryAll(client, `SELECT eventID FROM ${storeId} WHERE eventSource = '${SOURCE}'`);
        return outcome.rows.length === records.length ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, message: "the probes in Lake" },
    );
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: "UTC" });
    page = await context.newPage();
    watched = watchErrors(page);
    await signIn(page, `${server.url}/console/`);
  });

  after(async () => {
    await closeConsoleTest({ browser, server });
  });

  /** Runs the query in the Lake page and waits for its results table. */
  async function runInLake(): Promise<void> {
    await page.goto(`${server.url}/console/#/lake`);
    const editor = page.getByRole("textbox", { name: "SQL query" });
    await editor.click();
    await page.keyboard.press("Control+A");
    await page.keyboard.insertText(
      "SELECT eventTime, eventID, eventName, eventSource, userIdentity.arn, userIdentity.accessKeyId, sourceIPAddress,\n" +
        "  COALESCE(userIdentity.arn, userIdentity.principalId) AS principal\n" +
        `FROM ${storeId} WHERE eventSource = '${SOURCE}' ORDER BY eventTime`,
    );
    await page.getByRole("button", { name: "Run", exact: true }).click();
    await page
      .getByRole("table", { name: "Query results" })
      .locator("tbody tr")
      .nth(records.length - 1)
      .waitFor();
  }

  function resultCell(value: string) {
    return page.getByRole("table", { name: "Query results" }).getByRole("cell", { name: value, exact: true });
  }

  it("links an event ID to that event, reached with the keyboard", async () => {
    await runInLake();
    const bob = records[2]!;
    const link = resultCell(String(bob["eventID"])).getByRole("link");
    const href = await link.getAttribute("href");
    assert.match(href ?? "", /^#\/history\?/);
    const query = new URLSearchParams(href!.slice(href!.indexOf("?") + 1));
    assert.equal(query.get("attribute"), "EventId");
    assert.equal(query.get("value"), bob["eventID"]);
    assert.equal(query.get("readOnly"), "all");
    // A window around the event's own time, whatever its age.
    const eventMs = Date.parse(String(bob["eventTime"]));
    assert.ok(Date.parse(query.get("from")!) < eventMs && Date.parse(query.get("to")!) > eventMs, href!);
    await screenshot(page, "lake-result-links");
    await link.focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Event history" }).waitFor();
    assert.deepEqual(await historyRows(page, `EventId = ${String(bob["eventID"])}`), [["LinkProbeA", "link-bob"]]);
  });

  it("links a user's ARN, access key, event name and source to Event history filtered by them", async () => {
    const cases: { cell: string; summary: string; expected: string[][] }[] = [
      {
        cell: `arn:aws:iam::${TEST_ACCOUNT_ID}:user/link-alice`,
        summary: "Username = link-alice",
        expected: [
          ["LinkProbeA", "link-alice"],
          ["LinkProbeB", "link-alice"],
        ],
      },
      {
        cell: "AKIALINKBOB000000002",
        summary: "AccessKeyId = AKIALINKBOB000000002",
        expected: [["LinkProbeA", "link-bob"]],
      },
      {
        cell: "LinkProbeA",
        summary: "EventName = LinkProbeA",
        expected: [
          ["LinkProbeA", "link-alice"],
          ["LinkProbeA", "link-bob"],
        ],
      },
      {
        cell: SOURCE,
        summary: `EventSource = ${SOURCE}`,
        expected: [
          ["LinkProbeA", "link-alice"],
          ["LinkProbeA", "link-bob"],
          ["LinkProbeB", "link-alice"],
        ],
      },
    ];
    for (const { cell, summary, expected } of cases) {
      await runInLake();
      await resultCell(cell).first().getByRole("link").click();
      assert.deepEqual(await historyRows(page, summary), expected, cell);
    }
  });

  it("leaves values Event history cannot search by as plain text", async () => {
    await runInLake();
    assert.equal(await resultCell("198.51.100.7").first().getByRole("link").count(), 0);
    // eventID, eventName, eventSource, arn, accessKeyId and principal (an ARN here) of each row.
    assert.equal(
      await page.getByRole("table", { name: "Query results" }).getByRole("link").count(),
      6 * records.length,
    );
    const principal = page.getByRole("table", { name: "Query results" }).locator("tbody tr td:nth-child(8) a");
    assert.deepEqual(
      new Set((await principal.evaluateAll((links) => links.map((link) => link.getAttribute("href")))).map(String)),
      new Set(
        ["link-alice", "link-bob"].map((user) => `#/history?attribute=Username&value=${user}&readOnly=all&range=90d`),
      ),
    );
    assert.deepEqual(watched.errors, []);
  });
});
