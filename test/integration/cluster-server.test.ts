import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import {
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { cloudTrailCall, ingestCall, sendRaw } from "../helpers/signed-request.js";

const missing = clusterEnginesMissingReason("cluster mode tests");

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };

function record(eventName: string): Record<string, unknown> {
  return {
    eventVersion: "1.08",
    userIdentity: {
      type: "IAMUser",
      principalId: "AIDAEXAMPLECLUSTER01",
      arn: `arn:aws:iam::${TEST_ACCOUNT_ID}:user/cluster`,
      accountId: TEST_ACCOUNT_ID,
      userName: "cluster",
    },
    eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    eventSource: "s3.amazonaws.com",
    eventName,
    awsRegion: "us-east-1",
    sourceIPAddress: "192.0.2.1",
    userAgent: "cluster-test",
    requestParameters: null,
    responseElements: null,
    eventID: randomUUID(),
    readOnly: false,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: TEST_ACCOUNT_ID,
    eventCategory: "Management",
  };
}

/** The event names LookupEvents finds for `eventName` on `server`. */
async function lookup(server: ServerProcess, eventName: string): Promise<string[]> {
  const response = await sendRaw(
    server.url,
    cloudTrailCall(
      "LookupEvents",
      { LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: eventName }], MaxResults: 50 },
      admin,
    ),
  );
  assert.equal(response.status, 200, response.text);
  return (JSON.parse(response.text) as { Events: Array<{ EventName: string; EventId: string }> }).Events.map(
    (event) => event.EventId,
  );
}

describe("cluster mode: real `cairn server` nodes on PostgreSQL, nats-server and moto", { skip: missing }, () => {
  let engines: ClusterEngines;
  const dirs: string[] = [];
  const eventName = `ClusterProbe${randomBytes(4).toString("hex")}`;

  before(async () => {
    engines = await startClusterEngines();
  });
  after(async () => {
    await engines?.stop();
    dirs.forEach(removeDataDir);
  });

  const startNode = (dataDir: string, nodeId: string) =>
    startServerProcess({
      dataDir,
      env: engines.nodeEnv(nodeId),
    });
  const freshDir = () => {
    const dir = makeDataDir("cairn-cluster-server-");
    dirs.push(dir);
    return join(dir, "node");
  };

  it("finds what was ingested through /ingest and recorded from its own API, after a wiped restart and on a second node", async () => {
    const dataDir = freshDir();
    const ids: string[] = [];
    let node = await startNode(dataDir, "node-a");
    try {
      const records = [record(eventName), record(eventName)];
      const ingested = await sendRaw(node.url, ingestCall(records, admin));
      assert.equal(ingested.status, 200, ingested.text);
      ids.push(...records.map((each) => String(each.eventID)));
      assert.deepEqual((await lookup(node, eventName)).sort(), [...ids].sort());
      // The LookupEvents calls above were recorded in the journal as every API call is (self-audit).
      assert.ok((await lookup(node, "LookupEvents")).length >= 1, "the server's own API calls are found");
      // The Lake works in cluster mode (decision 0015; test/integration/cluster-lake.test.ts covers it).
      const created = await sendRaw(node.url, cloudTrailCall("CreateEventDataStore", { Name: "eds" }, admin));
      assert.equal(created.status, 200, created.text);
      assert.match(JSON.parse(created.text).EventDataStoreArn, /:eventdatastore\//);
    } finally {
      await node.stop();
    }
    removeDataDir(dataDir);
    node = await startNode(dataDir, "node-a");
    const second = await startNode(freshDir(), "node-b").catch(async (error: unknown) => {
      await node.stop();
      throw error;
    });
    try {
      assert.deepEqual((await lookup(node, eventName)).sort(), [...ids].sort(), "restarted with a wiped data dir");
      assert.deepEqual((await lookup(second, eventName)).sort(), [...ids].sort(), "a second node");
      const more = record(eventName);
      assert.equal((await sendRaw(second.url, ingestCall([more], admin))).status, 200);
      ids.push(String(more.eventID));
      assert.deepEqual((await lookup(node, eventName)).sort(), [...ids].sort(), "read-your-writes across nodes");
      assert.ok(!existsSync(join(dataDir, "journal")), "no embedded journal in a cluster node's data dir");
      const health = await fetch(`${node.url}/health`);
      const healthText = await health.text();
      assert.equal(health.status, 200, healthText);
      assert.equal((JSON.parse(healthText) as { journal: { writable: boolean } }).journal.writable, true);
    } finally {
      await second.stop();
      await node.stop();
    }
  });
});
