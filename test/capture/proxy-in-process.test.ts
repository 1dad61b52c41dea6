import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { awsCliMissingReason, runAws, type AwsCliResult } from "../helpers/aws-cli.js";
import { removeDataDir, startServerProcess, TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";
import { addPrincipal } from "../helpers/principals.js";
import { motoMissingReason, startMotoServer, type MotoServer } from "../storage/moto-server.js";
import { journalRecords } from "./proxy-process.js";
import { pollUntil } from "../helpers/poll.js";

/**
 * Issue 4, in-process mode: `cairn server --proxy-upstream <moto> --proxy-port 0` runs the capture
 * proxy inside the server, and its records go straight into the server's journal (no /ingest call,
 * so no Ingest self-audit event). The AWS CLI → in-process proxy → moto_server; events read back with
 * LookupEvents (management) and from the journal (data events).
 */
const skip = awsCliMissingReason() || motoMissingReason();
const REGION = "us-east-1";

type EventRecord = Record<string, unknown> & {
  userIdentity?: Record<string, unknown>;
  requestParameters?: Record<string, unknown> | null;
};

describe("cairn server --proxy-upstream: the capture proxy in the server's process", { skip }, () => {
  let server: ServerProcess | undefined;
  let moto: MotoServer | undefined;
  let proxyUrl = "";
  let alice: { accessKeyId: string; secretAccessKey: string };

  const ok = (result: AwsCliResult, what: string): string => {
    assert.equal(result.code, 0, `${what}: ${result.stderr}\nServer output:\n${server?.output()}`);
    return result.stdout;
  };
  const viaProxy = (args: string[]): Promise<AwsCliResult> =>
    runAws(server!.dataDir, [...args, "--endpoint-url", proxyUrl], {
      AWS_ACCESS_KEY_ID: alice.accessKeyId,
      AWS_SECRET_ACCESS_KEY: alice.secretAccessKey,
      AWS_DEFAULT_REGION: REGION,
      AWS_MAX_ATTEMPTS: "1",
    });

  /** LookupEvents as alice (her account's events), retried while the call is being recorded. */
  const lookup = async (eventName: string): Promise<EventRecord[]> => {
    const events = await pollUntil(
      async () => {
        const result = await runAws(
          server!.dataDir,
          [
            "cloudtrail",
            "lookup-events",
            "--lookup-attributes",
            `AttributeKey=EventName,AttributeValue=${eventName}`,
            "--endpoint-url",
            server!.url,
            "--region",
            REGION,
          ],
          { AWS_ACCESS_KEY_ID: alice.accessKeyId, AWS_SECRET_ACCESS_KEY: alice.secretAccessKey },
        );
        const answer = JSON.parse(ok(result, "lookup-events")) as { Events: { CloudTrailEvent: string }[] };
        return answer.Events.length > 0 && answer.Events;
      },
      {
        timeoutMs: 15_000,
        intervalMs: 200,
        message: () => `a ${eventName} event in LookupEvents. Server output:\n${server?.output()}`,
      },
    );
    return events.map((event) => JSON.parse(event.CloudTrailEvent) as EventRecord);
  };

  before(async () => {
    moto = await startMotoServer();
    server = await startServerProcess({ args: ["--proxy-upstream", moto.endpoint, "--proxy-port", "0"] });
    // The banner's line for the proxy follows the server's own.
    const started = server;
    proxyUrl = await pollUntil(() => /capture proxy:\s+(http:\/\/\S+)/.exec(started.output())?.[1], {
      timeoutMs: 15_000,
      intervalMs: 50,
      message: () => `a capture proxy line in the banner:\n${started.output()}`,
    });
    alice = await addPrincipal(server.dataDir, { name: "alice", accountId: TEST_ACCOUNT_ID });
  });

  after(async () => {
    await server?.stop();
    await moto?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("records AWS CLI calls into the server's journal: LookupEvents finds them, no ingest call was made", async () => {
    assert.match(proxyUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    ok(await viaProxy(["s3api", "create-bucket", "--bucket", "inproc-bk"]), "create-bucket");
    ok(
      await viaProxy(["s3api", "put-bucket-tagging", "--bucket", "inproc-bk", "--tagging", "TagSet=[{Key=k,Value=v}]"]),
      "put-bucket-tagging",
    );
    ok(await viaProxy(["s3api", "list-objects-v2", "--bucket", "inproc-bk"]), "list-objects-v2");

    const [created] = await lookup("CreateBucket");
    assert.ok(created, `no CreateBucket event. Server output:\n${server!.output()}`);
    assert.equal(created["eventSource"], "s3.amazonaws.com");
    assert.equal(created["awsRegion"], REGION);
    assert.equal(created["recipientAccountId"], TEST_ACCOUNT_ID);
    assert.equal(created["sourceIPAddress"], "127.0.0.1");
    assert.match(String(created["userAgent"]), /^aws-cli\//);
    assert.equal(created.userIdentity?.["type"], "IAMUser");
    assert.equal(created.userIdentity?.["userName"], "alice");
    assert.equal(created.userIdentity?.["accessKeyId"], alice.accessKeyId);
    assert.equal(created.requestParameters?.["bucketName"], "inproc-bk");

    const [tagged] = await lookup("PutBucketTagging");
    assert.ok(tagged, "no PutBucketTagging event");
    assert.deepEqual(tagged.requestParameters?.["Tagging"], {
      xmlns: "http://s3.amazonaws.com/doc/2006-03-01/",
      TagSet: { Tag: { Key: "k", Value: "v" } },
    });

    // Data events are not in Event history: read them from the journal.
    const records = (await journalRecords(server!.url, server!.dataDir)) as EventRecord[];
    const listed = records.find((record) => record["eventName"] === "ListObjects");
    assert.ok(listed, "no ListObjects event in the journal");
    assert.equal(listed.requestParameters?.["list-type"], "2");
    assert.equal(listed["eventCategory"], "Data");
    // Who put them in (`cairn tail --json --with-provenance`): the in-process proxy, not a caller of /ingest.
    const envelopes = (await journalRecords(server!.url, server!.dataDir, { withProvenance: true })) as Array<{
      ingestedBy: Record<string, unknown> | null;
      record: EventRecord;
    }>;
    const listedEnvelope = envelopes.find((envelope) => envelope.record["eventID"] === listed["eventID"]);
    assert.deepEqual(listedEnvelope?.ingestedBy, { source: "proxy" });
    assert.deepEqual(listedEnvelope.record, listed, "the record is the one tail --json prints");
    // No HTTP hop: the records did not come through /ingest.
    assert.equal(
      records.filter((record) => record["eventName"] === "Ingest").length,
      0,
      "the in-process proxy must not call /ingest",
    );
  });

  it("stops with the server", async () => {
    await server!.stop();
    await assert.rejects(fetch(`${proxyUrl}/`), "the proxy still answers after the server stopped");
  });
});
