/**
 * Quarantine through a real server and the real CLI, from a record a consumer's store refuses to
 * `cairn quarantine dismiss`. Since the Lake takes every record the ingest rules accept
 * (lake-typed-columns.test.ts), the poison here is records journaled without today's ingest rules,
 * as a journal an older Cairn wrote may hold them: a `userIdentity` that is `null` (the rules now
 * drop it), which Event history's index cannot derive its keys from. They are written into the data
 * directory's journal before the server starts; nothing in the server is made to fail for the test.
 * Event history quarantines them and indexes every other record, `cairn quarantine list` shows them,
 * `/health` is degraded for exactly that reason until they are dismissed, and dismissing is
 * authorised (`cloudtrail:DismissQuarantinedRecords`), scoped to the caller's account, recorded and
 * logged, and refused while the journal's disk is full (a tmpfs; needs root, else skipped loudly).
 * The in-process tests with a fault injected for one record are quarantine-fault.test.ts.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { isDeepStrictEqual, promisify } from "node:util";
import { openFileJournal, type Journal } from "../../src/journal/index.js";
import { openJetStreamJournal } from "../../src/journal/jetstream-journal.js";
import {
  CLI,
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCOUNT_ID,
  type ServerProcess,
} from "../helpers/server-process.js";
import { cloudTrailCall, sendRaw } from "../helpers/signed-request.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";
import { pollUntil } from "../helpers/poll.js";
import { addPrincipal } from "../helpers/principals.js";
import { seedJournal as seedJournalOf } from "../helpers/poisoned-journal.js";
import { backendEnv, embeddedOnly } from "../helpers/test-backend.js";
import { fillUp, mountTinyJournal } from "../helpers/tiny-journal.js";
import { admin } from "../lake/lake-client.js";

const execFileAsync = promisify(execFile);
type Credentials = { accessKeyId: string; secretAccessKey: string };

interface QuarantinedAnswer {
  consumer: string;
  seq: number;
  eventId?: string;
  accountId?: string;
  error: string;
  quarantinedAt: string;
}

interface Health {
  status: string;
  reasons: Array<{ code: string; message: string }>;
  consumers: Record<string, { lagRecords: number }>;
  quarantine: { records: number };
}

/** Seeds the journal the server on `dataDir` will read (see test/helpers/poisoned-journal.ts). */
function seedJournal(dataDir: string, records: readonly RawRecord[], poisoned: ReadonlySet<RawRecord>) {
  return seedJournalOf(dataDir, records, poisoned, journalOf);
}

/** The journal the server on `dataDir` reads: its data dir's, or on a cluster node its JetStream stream. */
async function journalOf(dataDir: string): Promise<Journal> {
  const env = await backendEnv(dataDir);
  const servers = env["CAIRN_JOURNAL_URL"];
  if (servers === undefined) return openFileJournal({ directory: join(dataDir, "journal") });
  return openJetStreamJournal({
    servers,
    ...(env["CAIRN_JOURNAL_STREAM"] ? { stream: env["CAIRN_JOURNAL_STREAM"] } : {}),
  });
}

describe("quarantine, list and dismiss, through a real server and the real CLI", () => {
  let server: ServerProcess;
  const [good1, poisonA, good2, poisonB, good3] = recentRecords(5, { accountId: TEST_ACCOUNT_ID });
  const poisoned = [poisonA!, poisonB!];
  const good = [good1!, good2!, good3!];
  const idOf = (record: RawRecord): string => record["eventID"] as string;
  let other: Credentials;
  let reader: Credentials;
  let operator: Credentials;

  async function cairn(args: string[], credentials: Credentials = admin) {
    return execFileAsync(process.execPath, [CLI, ...args, "--endpoint-url", server.url, "--region", "us-east-1"], {
      env: {
        PATH: process.env["PATH"] ?? "",
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      },
    });
  }
  const listed = async (credentials: Credentials = admin): Promise<QuarantinedAnswer[]> =>
    JSON.parse((await cairn(["quarantine", "list", "--json"], credentials)).stdout) as QuarantinedAnswer[];
  const health = async (): Promise<Health> => (await (await fetch(`${server.url}/health`)).json()) as Health;
  const lookup = async (
    attribute: string,
    value: string,
    credentials: Credentials = admin,
  ): Promise<Array<{ CloudTrailEvent: string }>> => {
    const found = await sendRaw(
      server.url,
      cloudTrailCall(
        "LookupEvents",
        { LookupAttributes: [{ AttributeKey: attribute, AttributeValue: value }] },
        credentials,
      ),
    );
    assert.equal(found.status, 200, found.text);
    return found.json()["Events"] as Array<{ CloudTrailEvent: string }>;
  };

  before(async () => {
    const dataDir = makeDataDir("cairn-quarantine-");
    await seedJournal(dataDir, [good1!, poisonA!, good2!, poisonB!, good3!], new Set(poisoned));
    server = await startServerProcess({ dataDir });
    other = await addPrincipal(server.dataDir, { name: "other", accountId: "444455556666" });
    reader = await addPrincipal(server.dataDir, {
      name: "reader",
      accountId: TEST_ACCOUNT_ID,
      policyArns: ["arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess"],
    });
    operator = await addPrincipal(server.dataDir, { name: "operator", accountId: TEST_ACCOUNT_ID });
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("Event history quarantines the records its index refuses and indexes every other", async () => {
    const records = await pollUntil(
      async () => {
        const all = await listed();
        return all.length >= poisoned.length ? all : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: "both records in the quarantine" },
    );
    assert.deepEqual(
      records.map((record) => [record.consumer, record.seq, record.eventId, record.accountId]),
      [
        ["event-history", 2, idOf(poisonA!), TEST_ACCOUNT_ID],
        ["event-history", 4, idOf(poisonB!), TEST_ACCOUNT_ID],
      ],
    );
    for (const record of records) {
      assert.match(record.error, /null/);
      assert.ok(!record.error.includes(server.dataDir), `no server path: ${record.error}`);
      assert.ok(Number.isFinite(Date.parse(record.quarantinedAt)));
    }
    for (const record of good) assert.equal((await lookup("EventId", idOf(record))).length, 1, idOf(record));
    for (const record of poisoned) assert.equal((await lookup("EventId", idOf(record))).length, 0, idOf(record));
  });

  it("cairn quarantine list prints them as a table, and filters by consumer", async () => {
    const table = (await cairn(["quarantine", "list"])).stdout;
    for (const record of poisoned) assert.ok(table.includes(idOf(record)), table);
    assert.match(table, /event-history/);
    const lake = JSON.parse((await cairn(["quarantine", "list", "--json", "--consumer", "lake-writer"])).stdout);
    assert.deepEqual(lake, []);
  });

  it("says degraded for exactly that reason, and stays ready", async () => {
    const body = await pollUntil(
      async () => {
        const now = await health();
        return Object.values(now.consumers).every((consumer) => consumer.lagRecords === 0) ? now : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: "every consumer at the journal head" },
    );
    assert.equal(body.status, "degraded");
    assert.deepEqual(
      body.reasons.map((reason) => reason.code),
      ["records_quarantined"],
    );
    assert.equal(body.quarantine.records, poisoned.length);
    assert.equal((await fetch(`${server.url}/health/ready`)).status, 200);
  });

  it("another account's caller neither sees nor dismisses them", async () => {
    assert.deepEqual(await listed(other), []);
    assert.equal((await cairn(["quarantine", "dismiss", "--all"], other)).stdout, "Dismissed 0 quarantined records.\n");
    assert.equal(
      (await cairn(["quarantine", "dismiss", "--seq", "2"], other)).stdout,
      "Dismissed 0 quarantined records.\n",
    );
    assert.equal((await listed()).length, poisoned.length);
  });

  it("a caller without cloudtrail:DismissQuarantinedRecords may list but not dismiss", async () => {
    assert.equal((await listed(reader)).length, poisoned.length, "ReadOnlyAccess lists (cloudtrail:List*)");
    await assert.rejects(cairn(["quarantine", "dismiss", "--all"], reader), (error: Error & { code?: number }) => {
      assert.equal(error.code, 1);
      assert.match(error.message, /403: AccessDeniedException .*cloudtrail:DismissQuarantinedRecords/);
      return true;
    });
    assert.equal((await listed()).length, poisoned.length);
  });

  it("refuses a dismissal that is unsigned, names no records, or names them wrongly", async () => {
    await assert.rejects(cairn(["quarantine", "dismiss"]), (error: Error & { code?: number }) => {
      assert.equal(error.code, 2, "a usage error, before any call");
      assert.match(error.message, /--consumer and\/or --seq, or --all/);
      return true;
    });
    const cases: Array<[Record<string, string>, string]> = [
      [{}, "InvalidParameterCombinationException"],
      [{ all: "true", seq: "2" }, "InvalidParameterCombinationException"],
      [{ all: "yes" }, "InvalidParameterException"],
      [{ seq: "0" }, "InvalidParameterException"],
      [{ seq: "2.5" }, "InvalidParameterException"],
      [{ seq: "99999999999999999" }, "InvalidParameterException"],
      [{ consumer: "x".repeat(3000) }, "InvalidParameterException"],
    ];
    for (const [query, code] of cases) {
      const response = await sendRaw(server.url, { ...admin, method: "DELETE", path: "/quarantine", query });
      assert.equal(response.status, 400, `${JSON.stringify(query).slice(0, 80)}: ${response.text}`);
      assert.equal(response.json()["__type"], code);
    }
    const unsigned = await fetch(`${server.url}/quarantine?all=true`, { method: "DELETE" });
    assert.equal(unsigned.status, 403);
    assert.equal(unsigned.headers.get("x-amzn-errortype"), "MissingAuthenticationTokenException");
    assert.equal((await listed()).length, poisoned.length);
  });

  it("dismisses by seq, by consumer, then all; /health returns to ok", async () => {
    const dismiss = async (args: string[], credentials: Credentials = admin) =>
      (await cairn(["quarantine", "dismiss", ...args], credentials)).stdout;
    assert.equal(await dismiss(["--consumer", "lake-writer"], operator), "Dismissed 0 quarantined records.\n");
    assert.equal(
      await dismiss(["--consumer", "event-history", "--seq", "2"], operator),
      "Dismissed 1 quarantined record.\n",
      "an administrator of the owning account",
    );
    assert.deepEqual(
      (await listed()).map((record) => record.seq),
      [4],
    );
    assert.equal(await dismiss(["--all"]), "Dismissed 1 quarantined record.\n", "the home account's root");
    assert.deepEqual(await listed(), []);
    const ok = await pollUntil(
      async () => {
        const now = await health();
        return now.status === "ok" ? now : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 250, message: "/health to say ok again" },
    );
    assert.deepEqual(ok.reasons, []);
    assert.equal(ok.quarantine.records, 0);
  });

  it("records and logs every dismissal, in the caller's account", async () => {
    /** [requestParameters, responseElements] of the dismissals recorded in the caller's account. */
    const recorded = async (credentials: Credentials) => {
      const events = (await lookup("EventName", "DismissQuarantinedRecords", credentials)).map(
        (event) => JSON.parse(event.CloudTrailEvent) as Record<string, unknown>,
      );
      for (const event of events) assert.equal(event["readOnly"], false);
      return {
        done: events
          .filter((event) => event["errorCode"] === undefined)
          .map((event) => [event["requestParameters"], event["responseElements"]]),
        refused: events.filter((event) => event["errorCode"] !== undefined).map((event) => event["errorCode"]),
      };
    };
    const sameEntries = (actual: unknown[], expected: unknown[]) => {
      assert.equal(actual.length, expected.length, JSON.stringify(actual));
      for (const entry of expected)
        assert.ok(
          actual.some((candidate) => isDeepStrictEqual(candidate, entry)),
          `${JSON.stringify(entry)} in ${JSON.stringify(actual)}`,
        );
    };
    const home = await recorded(admin);
    sameEntries(home.done, [
      [{ consumer: "lake-writer" }, { dismissed: 0 }],
      [{ consumer: "event-history", seq: 2 }, { dismissed: 1 }],
      [{ all: true }, { dismissed: 1 }],
    ]);
    assert.ok(home.refused.includes("AccessDenied"), JSON.stringify(home.refused));
    sameEntries((await recorded(other)).done, [
      [{ all: true }, { dismissed: 0 }],
      [{ seq: 2 }, { dismissed: 0 }],
    ]);
    const lines = server
      .output()
      .split("\n")
      .filter((line) => /dismissed [1-9]\d* quarantined record/.test(line));
    assert.equal(lines.length, 2, lines.join("\n"));
    assert.match(lines[0]!, /arn:aws:iam::111122223333:user\/operator dismissed 1 quarantined record\(s\)/);
    assert.match(lines[1]!, /arn:aws:iam::111122223333:root dismissed 1 quarantined record\(s\)/);
  });

  it("logged each quarantine once, and no internal error but the refused batches", () => {
    const lines = server.output().split("\n");
    const quarantined = lines.filter((line) => line.includes("quarantined journal record"));
    assert.equal(quarantined.length, poisoned.length, quarantined.join("\n"));
    // Event history reports a failing batch before it looks for the record that fails alone.
    for (const line of lines.filter((text) => /internal error/i.test(text)))
      assert.match(line, /Event history indexing failed \(retried\): Cannot read properties of null/);
  });
});

const fullDiskSkip = embeddedOnly("a full disk under the journal's directory");
describe("dismissing fails closed when the journal cannot record it", { skip: fullDiskSkip }, () => {
  it("answers 503 and dismisses nothing while the journal's disk is full, and dismisses once it has room", async (t) => {
    const dataDir = makeDataDir("cairn-quarantine-full-");
    const journalDir = join(dataDir, "journal");
    const skip = mountTinyJournal(journalDir, "1m");
    if (skip) {
      t.skip(skip);
      removeDataDir(dataDir);
      return;
    }
    let server: ServerProcess | undefined;
    try {
      const [poison] = recentRecords(1, { accountId: TEST_ACCOUNT_ID });
      await seedJournal(dataDir, [poison!], new Set([poison!]));
      server = await startServerProcess({ dataDir });
      const url = server.url;
      await pollUntil(async () => ((await (await fetch(`${url}/health`)).json()) as Health).quarantine.records === 1, {
        timeoutMs: 30_000,
        intervalMs: 200,
        message: "the record in the quarantine",
      });
      const dismissAll = () =>
        sendRaw(url, { ...admin, method: "DELETE", path: "/quarantine", query: { all: "true" } });
      fillUp(join(journalDir, "filler.tmp"));
      const refused = await dismissAll();
      assert.equal(refused.status, 503, refused.text);
      assert.equal(refused.json()["__type"], "ServiceUnavailableException");
      assert.equal(refused.headers.get("retry-after"), "1");

      rmSync(join(journalDir, "filler.tmp"));
      // Every refused attempt dismisses nothing, so the one that succeeds finds the record still there.
      const done = await pollUntil(
        async () => {
          const response = await dismissAll();
          if (response.status === 503) return undefined;
          assert.equal(response.status, 200, response.text);
          return response.json();
        },
        { timeoutMs: 20_000, intervalMs: 250, message: "a dismissal to succeed once the disk has room" },
      );
      assert.deepEqual(done, { dismissed: 1 });
    } finally {
      await server?.stop();
      spawnSync("umount", [journalDir]);
      removeDataDir(dataDir);
    }
  });
});
