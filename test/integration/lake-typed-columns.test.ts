/**
 * Issue #11 through a real server: for every typed place of the Lake's schema (each column, each
 * struct member at any depth) a value of every other JSON type goes through `/ingest`. Whatever the
 * ingest rules accept reaches the Lake store, nothing is quarantined, `/health` stays `ok`, and a
 * record sent after them all arrives too (the Lake writer keeps receiving). The two records that
 * used to be the Lake's real poison (a `creationDate` that is no time, an `onBehalfOf` that is a
 * list) are in the Lake with NULL in their typed columns and their values as sent in eventJson.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { CreateEventDataStoreCommand, type CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { removeDataDir, startServerProcess, TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";
import { pollUntil } from "../helpers/poll.js";
import { wrongTypedRecords } from "../helpers/lake-columns.js";
import { admin, lakeClient, queryAll } from "../lake/lake-client.js";

function withIdentity(base: RawRecord, members: RawRecord): RawRecord {
  return { ...base, eventID: randomUUID(), userIdentity: { ...(base["userIdentity"] as RawRecord), ...members } };
}

interface Health {
  status: string;
  reasons: Array<{ code: string }>;
  consumers: Record<string, { lagRecords: number }>;
  quarantine: { records: number };
}

describe("every typed Lake column, given a value of another JSON type through /ingest", () => {
  let server: ServerProcess;
  let client: CloudTrailClient;
  let store = "";
  const bases = recentRecords(40, { accountId: TEST_ACCOUNT_ID });
  const notADate = withIdentity(bases[0]!, {
    sessionContext: { attributes: { creationDate: "not-a-date", mfaAuthenticated: "false" } },
  });
  const listOnBehalfOf = withIdentity(bases[1]!, { onBehalfOf: ["x"] });
  const accepted = new Set<string>();

  before(async () => {
    server = await startServerProcess({ env: { CAIRN_LAKE_FLUSH_INTERVAL_MS: "100" } });
    client = lakeClient(server.url);
    store = (await client.send(new CreateEventDataStoreCommand({ Name: "typed-columns" }))).EventDataStoreArn!.split(
      "/",
    )[1]!;
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("stores every record the ingest rules accept, quarantines none, and keeps receiving", async () => {
    const records = [notADate, listOnBehalfOf, ...wrongTypedRecords(bases).map((item) => item.record)];
    for (let i = 0; i < records.length; i += 250) {
      const batch = records.slice(i, i + 250);
      const response = await sendRaw(server.url, ingestCall(batch, admin));
      assert.equal(response.status, 200, response.text.slice(0, 500));
      const failed = new Set(
        ((response.json()["failed"] as Array<{ index: number }> | undefined) ?? []).map((failure) => failure.index),
      );
      batch.forEach((record, index) => {
        if (!failed.has(index)) accepted.add(record["eventID"] as string);
      });
    }
    assert.ok(accepted.has(notADate["eventID"] as string) && accepted.has(listOnBehalfOf["eventID"] as string));
    assert.ok(accepted.size > records.length / 3, `${accepted.size} of ${records.length} accepted`);

    // Sent after all of them: it reaches the store only if the Lake writer got past every one.
    const last = recentRecords(1, { accountId: TEST_ACCOUNT_ID })[0]!;
    assert.equal((await sendRaw(server.url, ingestCall([last], admin))).status, 200);
    accepted.add(last["eventID"] as string);
    const stored = await pollUntil(
      async () => {
        const outcome = await queryAll(client, `SELECT eventID FROM ${store}`);
        assert.equal(outcome.status, "FINISHED", outcome.error);
        const ids = new Set(outcome.rows.map((row) => row[0]!["eventID"]!));
        return ids.has(last["eventID"] as string) ? ids : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, message: "the last record in the Lake store" },
    );
    // The store also holds the server's records of this test's own calls (CreateEventDataStore, …).
    // The store also holds the server's records of this test's own calls (CreateEventDataStore, …),
    // and takes only its account's management events (records moved to another are not its own).
    for (const record of records) {
      const id = record["eventID"] as string;
      const selected =
        record["recipientAccountId"] === TEST_ACCOUNT_ID && (record["eventCategory"] ?? "Management") === "Management";
      assert.equal(stored.has(id), accepted.has(id) && selected, `${id} stored: ${JSON.stringify(record)}`);
    }

    const health = await pollUntil(
      async () => {
        const body = (await (await fetch(`${server.url}/health`)).json()) as Health;
        return Object.values(body.consumers).every((consumer) => consumer.lagRecords === 0) ? body : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250, message: "every consumer at the journal head" },
    );
    assert.equal(health.status, "ok", JSON.stringify(health.reasons));
    assert.equal(health.quarantine.records, 0);
    const quarantined = await sendRaw(server.url, { ...admin, method: "GET", path: "/quarantine" });
    assert.equal(quarantined.status, 200, quarantined.text);
    assert.deepEqual(quarantined.json()["records"], []);
    assert.doesNotMatch(server.output(), /quarantined journal record|internal error/i);
  });

  it("keeps the former poison records: NULL in the typed column, the value as sent in eventJson", async () => {
    const outcome = await queryAll(
      client,
      `SELECT eventID, userIdentity.sessioncontext.attributes.creationdate AS creation,
              userIdentity.onbehalfof AS onbehalfof,
              json_extract_scalar(eventJson, '$.userIdentity.sessionContext.attributes.creationDate') AS sent,
              json_format(json_extract(eventJson, '$.userIdentity.onBehalfOf')) AS sentOnBehalfOf
       FROM ${store} WHERE eventID IN ('${String(notADate["eventID"])}', '${String(listOnBehalfOf["eventID"])}')
       ORDER BY eventID`,
    );
    assert.equal(outcome.status, "FINISHED", outcome.error);
    assert.equal(outcome.rows.length, 2, "both records are in the Lake");
    const rows = new Map(
      outcome.rows.map((row) => [row[0]!["eventID"], Object.assign({}, ...row) as Record<string, string>]),
    );
    const date = rows.get(notADate["eventID"] as string)!;
    assert.equal(date["creation"], "");
    assert.equal(date["sent"], "not-a-date");
    const onBehalfOf = rows.get(listOnBehalfOf["eventID"] as string)!;
    assert.equal(onBehalfOf["onbehalfof"], "");
    assert.equal(onBehalfOf["sentOnBehalfOf"], '["x"]');
  });
});
