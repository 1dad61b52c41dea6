import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { runIngest } from "../../src/cli/commands/ingest.js";
import { collectOutput } from "../../src/cli/output.js";
import type { ClientSettings } from "../../src/client/client-settings.js";
import { sendIngestBatch, splitIntoBatches, type RetryPolicy } from "../../src/client/ingest-client.js";
import type { FetchFunction } from "../../src/client/signed-fetch.js";
import { listTrailFiles, readTrailFile } from "../../src/client/trail-files.js";
import { SAMPLES_DIR, samplesMissingReason } from "../helpers/sample-records.js";

// Read in place at test time; never copied into the repository.
const SAMPLES = SAMPLES_DIR;
const MALFORMED = "zmallen-cloudtrail2sightings/aws.execution.ec2-user-data.json";
const client: ClientSettings = {
  endpointUrl: "http://127.0.0.1:7680",
  region: "us-east-1",
  credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "secret", origin: "test" },
};
const noWait: RetryPolicy = { attemptsMax: 4, delayMsInitial: 10, delayMsMax: 40, sleep: async () => {} };
const scratch = mkdtempSync(join(tmpdir(), "cairn-ingest-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface SeenRequest {
  url: string;
  headers: Headers;
  records: unknown[];
}

/** Stands in for the server: accepts every record that has a string eventID, rejects the rest. */
function fakeServer(seen: SeenRequest[]): FetchFunction {
  return async (url, init) => {
    const body = gunzipSync(init.body as Uint8Array).toString("utf8");
    const { Records } = JSON.parse(body) as { Records: Array<Record<string, unknown>> };
    seen.push({ url, headers: new Headers(init.headers), records: Records });
    const failed = Records.flatMap((record, index) =>
      typeof record.eventID === "string" ? [] : [{ index, errorCode: "missing_event_id", message: "no eventID" }],
    );
    const answer = { accepted: Records.length - failed.length, duplicates: 0, failed };
    return new Response(JSON.stringify(answer), { status: 200, headers: { "content-type": "application/json" } });
  };
}

describe("trail file reader over the public samples", () => {
  it(
    "finds every JSON file, reads 4,062 records, and reports the malformed file and non-Records files",
    { skip: samplesMissingReason() },
    async () => {
      const candidates = await listTrailFiles([SAMPLES]);
      assert.equal(candidates.length, 103);
      let records = 0;
      const problems = new Map<string, string>();
      for (const candidate of candidates) {
        const content = await readTrailFile(candidate.path);
        if (content.ok) records += content.records.length;
        else problems.set(candidate.path.slice(SAMPLES.length + 1), content.problem);
      }
      assert.equal(records, 4062);
      assert.deepEqual(
        [...problems].sort(),
        [
          ["aws-docs-examples/digest_example_1.json", "not-records"],
          ["aws-docs-examples/digest_example_2.json", "not-records"],
          ["panther-analysis-tests/index.json", "not-records"],
          [MALFORMED, "malformed-json"],
        ].sort(),
      );
    },
  );

  it("skips CloudTrail-Digest/ folders and non-JSON files, and sniffs gzip whatever the name", async () => {
    const root = join(scratch, "AWSLogs");
    mkdirSync(join(root, "CloudTrail-Digest"), { recursive: true });
    mkdirSync(join(root, "CloudTrail"), { recursive: true });
    writeFileSync(join(root, "CloudTrail-Digest", "digest.json.gz"), gzipSync("{}"));
    writeFileSync(join(root, "CloudTrail", "notes.txt"), "not a log");
    writeFileSync(join(root, "CloudTrail", "a.json"), gzipSync('{"Records":[{"eventID":"1"}]}'));
    const candidates = await listTrailFiles([root, join(root, "CloudTrail", "a.json")]);
    assert.deepEqual(
      candidates.map((c) => basename(c.path)),
      ["a.json"],
    );
    const content = await readTrailFile(join(root, "CloudTrail", "a.json"));
    assert.deepEqual(content, { ok: true, records: [{ eventID: "1" }] });
    assert.equal((await readTrailFile(join(root, "missing.json"))).ok, false);
  });
});

describe("runIngest", () => {
  it(
    "sends every readable file, reports the malformed one, carries on, and exits 1",
    { skip: samplesMissingReason() },
    async () => {
      const seen: SeenRequest[] = [];
      const stdout = collectOutput();
      const stderr = collectOutput();
      const report = await runIngest({
        paths: [SAMPLES],
        client,
        stdout,
        stderr,
        fetchFunction: fakeServer(seen),
        retry: noWait,
      });
      assert.equal(report.exitCode, 1);
      const failed = report.files.filter((f) => f.status === "failed");
      assert.deepEqual(
        failed.map((f) => f.path.endsWith(MALFORMED)),
        [true],
      );
      assert.match(failed[0]?.problem ?? "", /^malformed JSON: /);
      assert.equal(report.files.filter((f) => f.status === "skipped").length, 3);
      assert.equal(report.files.filter((f) => f.status === "ingested").length, 99);
      assert.equal(
        seen.reduce((total, request) => total + request.records.length, 0),
        4062,
      );
      for (const request of seen) {
        assert.equal(request.url, "http://127.0.0.1:7680/ingest");
        assert.equal(request.headers.get("content-encoding"), "gzip");
        assert.equal(request.headers.get("content-type"), "application/json");
        assert.match(
          request.headers.get("authorization") ?? "",
          /^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/us-east-1\/cloudtrail\/aws4_request/,
        );
        assert.ok(request.records.length <= 1000);
      }
      assert.match(stdout.text(), /FAILED +.*aws\.execution\.ec2-user-data\.json: malformed JSON/);
      assert.match(stdout.text(), /Total: 103 files \(1 failed, 3 skipped\), 4062 records: /);
    },
  );

  it("reports rejected records by their position in the file, across batches", async () => {
    const path = join(scratch, "mixed.json");
    const records = Array.from({ length: 25 }, (_, index) =>
      index % 10 === 7 ? { eventName: "x" } : { eventID: `e${index}` },
    );
    writeFileSync(path, JSON.stringify({ Records: records }));
    const seen: SeenRequest[] = [];
    const stdout = collectOutput();
    const report = await runIngest({
      paths: [path],
      client,
      stdout,
      stderr: collectOutput(),
      fetchFunction: fakeServer(seen),
      batchRecordsMax: 10,
    });
    assert.equal(report.exitCode, 0, "rejected records alone do not fail the run");
    assert.deepEqual(
      seen.map((request) => request.records.length),
      [10, 10, 5],
    );
    assert.deepEqual(
      report.files[0]?.failed.map((f) => f.index),
      [7, 17],
    );
    assert.match(
      stdout.text(),
      /25 records: 23 accepted \(0 already stored\), 2 failed\n {2}record 7: missing_event_id/,
    );
  });

  it("stops, with exit code 1, when the server refuses the credentials", { skip: samplesMissingReason() }, async () => {
    const stderr = collectOutput();
    const refuse: FetchFunction = async () =>
      new Response(JSON.stringify({ __type: "UnrecognizedClientException", message: "bad key" }), { status: 403 });
    const report = await runIngest({
      paths: [SAMPLES],
      client,
      stdout: collectOutput(),
      stderr,
      fetchFunction: refuse,
    });
    assert.equal(report.exitCode, 1);
    assert.match(stderr.text(), /403 UnrecognizedClientException.*AKIAIOSFODNN7EXAMPLE from test/);
  });
});

describe("sendIngestBatch", () => {
  const [batch] = splitIntoBatches([{ eventID: "a" }]);
  assert.ok(batch);

  it("retries 503 answers and connection errors with growing delays, honouring Retry-After", async () => {
    const delays: number[] = [];
    const answers = [
      () => new Response("{}", { status: 503, headers: { "retry-after": "2" } }),
      () => {
        throw new TypeError("fetch failed");
      },
      () => new Response("{}", { status: 503 }),
      () => new Response(JSON.stringify({ accepted: 1, duplicates: 1, failed: [] }), { status: 200 }),
    ];
    let call = 0;
    const flaky: FetchFunction = async () => (answers[call++] ?? answers[3]!)();
    const answer = await sendIngestBatch(
      client,
      batch,
      { ...noWait, sleep: async (ms) => void delays.push(ms) },
      flaky,
    );
    assert.deepEqual(answer, { accepted: 1, duplicates: 1, failed: [] });
    assert.deepEqual(delays, [2000, 20, 40]);
  });

  it("gives up after the last attempt when the server stays unreachable", async () => {
    const down: FetchFunction = async () => {
      throw new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED 127.0.0.1:7680") });
    };
    await assert.rejects(sendIngestBatch(client, batch, noWait, down), /Cannot reach .*ECONNREFUSED/);
  });

  it("fails every record of a batch the server rejects as a whole", async () => {
    const tooBig: FetchFunction = async () =>
      new Response('{"__type":"com.amazon#PayloadTooLarge","message":"too big"}', { status: 413 });
    const answer = await sendIngestBatch(client, batch, noWait, tooBig);
    assert.deepEqual(answer.failed, [{ index: 0, errorCode: "PayloadTooLarge", message: "too big" }]);
  });
});

describe("splitIntoBatches", () => {
  it("keeps each body under the byte limit and the record limit, in order", () => {
    const records = Array.from({ length: 30 }, (_, index) => ({ eventID: String(index), pad: "x".repeat(100) }));
    const batches = splitIntoBatches(records, 1000, 1000);
    for (const batch of batches)
      assert.ok(Buffer.byteLength(batch.body) <= 1000, `${Buffer.byteLength(batch.body)} bytes`);
    const rejoined = batches.flatMap((batch) => (JSON.parse(batch.body) as { Records: unknown[] }).Records);
    assert.deepEqual(rejoined, records);
    assert.deepEqual(
      batches.map((b) => b.startIndex),
      batches.map((_, index) => batches.slice(0, index).reduce((n, b) => n + b.recordCount, 0)),
    );
    assert.deepEqual(
      splitIntoBatches(records, 7).map((b) => b.recordCount),
      [7, 7, 7, 7, 2],
    );
  });

  it("sends a record bigger than the limit on its own", () => {
    const batches = splitIntoBatches([{ a: 1 }, { big: "y".repeat(500) }, { b: 2 }], 1000, 100);
    assert.deepEqual(
      batches.map((b) => b.recordCount),
      [1, 1, 1],
    );
  });
});
