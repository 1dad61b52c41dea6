/**
 * Quarantine through a real server, with real records that normalisation accepts and a real store
 * refuses: a `userIdentity.sessionContext.attributes.creationDate` that is not a timestamp, and an
 * `onBehalfOf` that is a list. DuckDB cannot write either into its typed Lake columns. Each is
 * quarantined by the Lake writer and listed by `cairn quarantine list`; every other record reaches
 * the Lake store, Event history keeps both, `/health` says degraded for exactly that reason (and the
 * node stays ready), and an import holding one completes with the rest.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import {
  CreateEventDataStoreCommand,
  GetImportCommand,
  ListImportFailuresCommand,
  StartImportCommand,
  type CloudTrailClient,
} from "@aws-sdk/client-cloudtrail";
import {
  CLI,
  removeDataDir,
  startServerProcess,
  TEST_ACCOUNT_ID,
  type ServerProcess,
} from "../helpers/server-process.js";
import { cloudTrailCall, ingestCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";
import { pollUntil } from "../helpers/poll.js";
import { addPrincipal } from "../helpers/principals.js";
import { admin, lakeClient, queryAll } from "../lake/lake-client.js";

const execFileAsync = promisify(execFile);

/** A record whose session creation date DuckDB cannot read as a TIMESTAMP. */
function badCreationDate(record: RawRecord): RawRecord {
  const identity = record["userIdentity"] as RawRecord;
  return {
    ...record,
    userIdentity: {
      ...identity,
      sessionContext: { attributes: { creationDate: "not-a-date", mfaAuthenticated: "false" } },
    },
  };
}

/** A record whose onBehalfOf DuckDB cannot read as a STRUCT. */
function listOnBehalfOf(record: RawRecord): RawRecord {
  return { ...record, userIdentity: { ...(record["userIdentity"] as RawRecord), onBehalfOf: ["x"] } };
}

interface QuarantinedAnswer {
  consumer: string;
  seq: number;
  eventId?: string;
  accountId?: string;
  error: string;
  quarantinedAt: string;
}

describe("quarantine of records a real store refuses, through a real server", () => {
  let server: ServerProcess;
  let client: CloudTrailClient;
  let liveStore: string;
  const archive = mkdtempSync(join(tmpdir(), "cairn-quarantine-archive-"));
  const [before1, before2, creation, onBehalf, after1, after2] = recentRecords(6, { accountId: TEST_ACCOUNT_ID });
  const refused = [badCreationDate(creation!), listOnBehalfOf(onBehalf!)];
  const good = [before1!, before2!, after1!, after2!];
  const idOf = (record: RawRecord): string => record["eventID"] as string;

  async function cairn(args: string[], credentials = admin): Promise<{ stdout: string; stderr: string }> {
    return execFileAsync(process.execPath, [CLI, ...args, "--endpoint-url", server.url, "--region", "us-east-1"], {
      env: {
        PATH: process.env["PATH"] ?? "",
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      },
    });
  }

  before(async () => {
    server = await startServerProcess({
      env: { CAIRN_LAKE_FLUSH_INTERVAL_MS: "100", CAIRN_IMPORT_ALLOWED_DIRS: archive },
    });
    client = lakeClient(server.url);
    const created = await client.send(new CreateEventDataStoreCommand({ Name: "quarantine-live" }));
    liveStore = created.EventDataStoreArn!.split("/")[1]!;
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
    rmSync(archive, { recursive: true, force: true });
  });

  it("quarantines the refused records for the Lake writer; every other record reaches Lake SQL", async () => {
    const response = await sendRaw(server.url, ingestCall([before1!, before2!, ...refused, after1!, after2!], admin));
    assert.equal(response.status, 200, response.text);
    assert.equal(response.json()["accepted"], 6, "normalisation accepts all six");

    const ids = [...good, ...refused].map(idOf);
    const sql = `SELECT eventID FROM ${liveStore} WHERE eventID IN (${ids.map((id) => `'${id}'`).join(",")})`;
    const stored = await pollUntil(
      async () => {
        const outcome = await queryAll(client, sql);
        assert.equal(outcome.status, "FINISHED", outcome.error);
        return outcome.rows.length >= good.length ? outcome.rows.map((row) => row[0]!["eventID"]) : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: "the good records in Lake" },
    );
    assert.deepEqual(new Set(stored), new Set(good.map(idOf)));

    // Event history's store takes them: quarantine is per consumer.
    for (const record of refused) {
      const found = await sendRaw(
        server.url,
        cloudTrailCall(
          "LookupEvents",
          { LookupAttributes: [{ AttributeKey: "EventId", AttributeValue: idOf(record) }] },
          admin,
        ),
      );
      assert.equal((found.json()["Events"] as unknown[]).length, 1, `${idOf(record)} in Event history`);
    }
  });

  it("cairn quarantine list shows them (JSON and table), without server paths", async () => {
    const listed = await pollUntil(
      async () => {
        const records = JSON.parse((await cairn(["quarantine", "list", "--json"])).stdout) as QuarantinedAnswer[];
        return records.length >= refused.length ? records : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, message: "both records in the quarantine" },
    );
    assert.deepEqual(
      listed.map((record) => [record.consumer, record.eventId, record.accountId]),
      refused.map((record) => ["lake-writer", idOf(record), TEST_ACCOUNT_ID]),
    );
    assert.ok(listed[0]!.seq < listed[1]!.seq, "in journal order");
    assert.match(listed[0]!.error, /timestamp/i);
    assert.match(listed[1]!.error, /OBJECT|STRUCT|ARRAY/i);
    for (const record of listed) {
      assert.ok(!record.error.includes(server.dataDir), `no server path: ${record.error}`);
      assert.ok(Number.isFinite(Date.parse(record.quarantinedAt)));
    }
    const table = (await cairn(["quarantine", "list"])).stdout;
    for (const record of refused) assert.ok(table.includes(idOf(record)), table);
    assert.match(table, /lake-writer/);
    const onlyHistory = JSON.parse(
      (await cairn(["quarantine", "list", "--json", "--consumer", "event-history"])).stdout,
    ) as unknown[];
    assert.deepEqual(onlyHistory, []);
  });

  it("shows another account's caller none of them", async () => {
    const other = await addPrincipal(server.dataDir, { name: "other", accountId: "444455556666" });
    const records = JSON.parse((await cairn(["quarantine", "list", "--json"], other)).stdout) as unknown[];
    assert.deepEqual(records, []);
  });

  it("says degraded for exactly that reason, and stays ready", async () => {
    const health = (await (await fetch(`${server.url}/health`)).json()) as {
      status: string;
      reasons: Array<{ code: string; message: string }>;
      quarantine: { records: number };
    };
    assert.equal(health.status, "degraded");
    assert.deepEqual(
      health.reasons.map((reason) => reason.code),
      ["records_quarantined"],
    );
    assert.equal(health.quarantine.records, refused.length);
    assert.equal((await fetch(`${server.url}/health/ready`)).status, 200);
  });

  it("an import holding a refused record completes with every other record", async () => {
    const records = recentRecords(5, { accountId: TEST_ACCOUNT_ID });
    const poisoned = badCreationDate(recentRecords(1, { accountId: TEST_ACCOUNT_ID })[0]!);
    const day = join(archive, "AWSLogs", TEST_ACCOUNT_ID, "CloudTrail", "us-east-1", "2024", "01", "01");
    mkdirSync(day, { recursive: true });
    const name = `${TEST_ACCOUNT_ID}_CloudTrail_us-east-1_20240101T0000Z_quarantine.json.gz`;
    writeFileSync(
      join(day, name),
      gzipSync(JSON.stringify({ Records: [...records.slice(0, 2), poisoned, ...records.slice(2)] })),
    );
    const store = (
      await client.send(new CreateEventDataStoreCommand({ Name: "quarantine-import", StartIngestion: false }))
    ).EventDataStoreArn!.split("/")[1]!;
    const started = await client.send(
      new StartImportCommand({
        Destinations: [store],
        ImportSource: {
          S3: { S3LocationUri: pathToFileURL(archive).href, S3BucketRegion: "us-east-1", S3BucketAccessRoleArn: "" },
        },
      }),
    );
    const done = await pollUntil(
      async () => {
        const got = await client.send(new GetImportCommand({ ImportId: started.ImportId }));
        return got.ImportStatus === "IN_PROGRESS" || got.ImportStatus === "INITIALIZING" ? undefined : got;
      },
      { timeoutMs: 60_000, intervalMs: 100, message: "the import to end" },
    );
    assert.equal(done.ImportStatus, "COMPLETED");
    assert.equal(done.ImportStatistics?.EventsCompleted, records.length);
    assert.equal(done.ImportStatistics?.FailedEntries, 1);
    const failures = await client.send(new ListImportFailuresCommand({ ImportId: started.ImportId }));
    assert.equal(failures.Failures?.length, 1);
    assert.equal(failures.Failures?.[0]?.ErrorType, "unwritable");
    assert.match(failures.Failures?.[0]?.Location ?? "", /_quarantine\.json\.gz#2$/);
    assert.ok(!(failures.Failures?.[0]?.ErrorMessage ?? "").includes(server.dataDir));
    const outcome = await queryAll(client, `SELECT eventID FROM ${store}`);
    assert.equal(outcome.status, "FINISHED", outcome.error);
    assert.deepEqual(new Set(outcome.rows.map((row) => row[0]!["eventID"])), new Set(records.map(idOf)));
  });

  it("logged each quarantine once, and no internal error", () => {
    const lines = server
      .output()
      .split("\n")
      .filter((line) => line.includes("quarantined journal record"));
    assert.equal(lines.length, refused.length, lines.join("\n"));
    assert.doesNotMatch(server.output(), /internal error/i);
  });
});
