import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, randomUUID } from "node:crypto";
import { join } from "node:path";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import { pollUntil } from "../helpers/poll.js";
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

const missing = clusterEnginesMissingReason("cluster Event history tests");

const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const LEASE = "event-history-indexer";
/** Generous: the lease TTL (15 s) plus indexing on a loaded machine; the checks poll, they are not timed. */
const TAKEOVER_WAIT = { timeoutMs: 90_000, intervalMs: 500 };

function records(eventName: string, count: number): Array<Record<string, unknown>> {
  return Array.from({ length: count }, () => ({
    eventVersion: "1.08",
    userIdentity: { type: "IAMUser", accountId: TEST_ACCOUNT_ID, userName: "indexer-test" },
    eventTime: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    eventSource: "s3.amazonaws.com",
    eventName,
    awsRegion: "us-east-1",
    sourceIPAddress: "192.0.2.1",
    userAgent: "cluster-event-history-test",
    requestParameters: null,
    responseElements: null,
    eventID: randomUUID(),
    readOnly: false,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: TEST_ACCOUNT_ID,
    eventCategory: "Management",
  }));
}

async function ingest(node: ServerProcess, batch: Array<Record<string, unknown>>): Promise<string[]> {
  const response = await sendRaw(node.url, ingestCall(batch, admin));
  assert.equal(response.status, 200, response.text);
  return batch.map((record) => String(record.eventID));
}

/** Every event id LookupEvents finds for `eventName` on `node`, following next tokens. */
async function lookup(node: ServerProcess, eventName: string): Promise<string[]> {
  const ids: string[] = [];
  let token: string | undefined;
  do {
    const response = await sendRaw(
      node.url,
      cloudTrailCall(
        "LookupEvents",
        {
          LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: eventName }],
          MaxResults: 50,
          ...(token !== undefined ? { NextToken: token } : {}),
        },
        admin,
      ),
    );
    assert.equal(response.status, 200, response.text);
    const page = JSON.parse(response.text) as { Events: Array<{ EventId: string }>; NextToken?: string };
    ids.push(...page.Events.map((event) => event.EventId));
    token = page.NextToken;
  } while (token !== undefined);
  return ids.sort();
}

async function leasesHeld(node: ServerProcess): Promise<string[]> {
  const response = await fetch(`${node.url}/health`);
  assert.equal(response.status, 200);
  return ((await response.json()) as { role: { leasesHeld: string[] } }).role.leasesHeld;
}

describe("cluster mode: one leased Event history indexer", { skip: missing }, () => {
  let engines: ClusterEngines;
  const dirs: string[] = [];

  before(async () => {
    engines = await startClusterEngines();
  });
  after(async () => {
    await engines?.stop();
    dirs.forEach(removeDataDir);
  });

  const startNode = (nodeId: string) => {
    const dir = makeDataDir("cairn-cluster-event-history-");
    dirs.push(dir);
    return startServerProcess({ dataDir: join(dir, "node"), env: engines.nodeEnv(nodeId) });
  };

  it("indexes on one node, serves lookups on both, and another node takes over after a kill -9", async () => {
    const eventName = `IndexerProbe${randomBytes(4).toString("hex")}`;
    const nodes: ServerProcess[] = [await startNode("node-a")];
    try {
      nodes.push(await startNode("node-b"));
      const ids = [
        ...(await ingest(nodes[0]!, records(eventName, 30))),
        ...(await ingest(nodes[1]!, records(eventName, 30))),
      ];
      // Read-your-writes on both nodes, whichever indexes.
      for (const node of nodes) assert.deepEqual(await lookup(node, eventName), [...ids].sort());
      const holding = await Promise.all(nodes.map(async (node) => (await leasesHeld(node)).includes(LEASE)));
      assert.equal(holding.filter(Boolean).length, 1, `exactly one indexer: ${JSON.stringify(holding)}`);
      const holder = nodes[holding.indexOf(true)]!;
      const survivor = nodes[holding.indexOf(false)]!;

      await holder.kill9();
      ids.push(...(await ingest(survivor, records(eventName, 25))));
      // The dead holder's lease lapses (15 s), the survivor takes it over from the committed cursor.
      await pollUntil(async () => (await leasesHeld(survivor)).includes(LEASE), {
        ...TAKEOVER_WAIT,
        message: "the survivor to hold the indexer lease",
      });
      await pollUntil(async () => (await lookup(survivor, eventName)).length === ids.length, {
        ...TAKEOVER_WAIT,
        message: "the survivor to index what was ingested after the kill",
      });
      assert.deepEqual(await lookup(survivor, eventName), [...ids].sort(), "each event once");
      const health = (await (await fetch(`${survivor.url}/health`)).json()) as {
        consumers: Record<string, { lagRecords: number }>;
      };
      assert.ok(health.consumers["event-history"] !== undefined, "the index's consumer is reported");
    } finally {
      for (const node of nodes) await node.stop();
    }
  });

  it("a holder paused past its lease (SIGSTOP) and woken (SIGCONT) stops indexing and writes nothing stale", async () => {
    const eventName = `ZombieProbe${randomBytes(4).toString("hex")}`;
    const nodes: ServerProcess[] = [await startNode("node-c")];
    try {
      nodes.push(await startNode("node-d"));
      const holder = await pollUntil(
        async () => {
          for (const node of nodes) if ((await leasesHeld(node)).includes(LEASE)) return node;
          return undefined;
        },
        { ...TAKEOVER_WAIT, message: "a node to hold the indexer lease" },
      );
      const other = nodes.find((node) => node !== holder)!;
      const ids = await ingest(holder, records(eventName, 20));
      assert.deepEqual(await lookup(other, eventName), [...ids].sort());
      holder.child.kill("SIGSTOP");
      try {
        ids.push(...(await ingest(other, records(eventName, 20))));
        await pollUntil(async () => (await leasesHeld(other)).includes(LEASE), {
          ...TAKEOVER_WAIT,
          message: "the other node to take the lease of the paused one",
        });
      } finally {
        holder.child.kill("SIGCONT");
      }
      ids.push(...(await ingest(holder, records(eventName, 20))));
      // The woken node finds its lease gone (renewal refused, or its batch fenced off) and stops.
      await pollUntil(async () => !(await leasesHeld(holder)).includes(LEASE), {
        ...TAKEOVER_WAIT,
        message: "the woken node to give the indexer up",
      });
      assert.ok((await leasesHeld(other)).includes(LEASE), "the new holder keeps it");
      for (const node of nodes)
        await pollUntil(async () => (await lookup(node, eventName)).length === ids.length, {
          ...TAKEOVER_WAIT,
          message: "every event to be found on every node",
        });
      for (const node of nodes) assert.deepEqual(await lookup(node, eventName), [...ids].sort(), "each event once");
    } finally {
      for (const node of nodes) await node.stop();
    }
  });
});
