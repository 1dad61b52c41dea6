/**
 * Cluster mode: live Sigma rules on two real `cairn server` nodes. Rules added on one node are
 * evaluated by the one node holding the `sigma` lease, whichever node took the records; matches list
 * the same on every node; after `kill -9` of the holder, the other node takes the lease over and
 * evaluates the records that came in meanwhile, and no match is stored twice.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import { ClusterNodes } from "../helpers/cluster-nodes.js";
import { pollUntil } from "../helpers/poll.js";
import { recentRecords } from "../helpers/sample-records.js";
import { CLI, TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import { admin } from "../lake/lake-client.js";

const execFileAsync = promisify(execFile);
const missing = clusterEnginesMissingReason("cluster Sigma tests");

const RULE = `title: Trail stopped
id: cluster-trail-stopped
level: high
logsource: {product: aws, service: cloudtrail}
detection:
  selection: {eventName: StopLogging}
  condition: selection
`;

describe("cluster mode: live Sigma rules, evaluated by the node holding the sigma lease", { skip: missing }, () => {
  let engines: ClusterEngines;
  let nodes: ClusterNodes;
  let a: ServerProcess;
  let b: ServerProcess;

  before(async () => {
    engines = await startClusterEngines();
    nodes = new ClusterNodes(engines);
    [a, b] = (await nodes.startAll(["sigma-a", "sigma-b"])) as [ServerProcess, ServerProcess];
  });
  after(async () => {
    await nodes?.cleanup();
    await engines?.stop();
  });

  async function cairn(node: ServerProcess, args: string[]) {
    return execFileAsync(process.execPath, [CLI, ...args, "--endpoint-url", node.url, "--region", "us-east-1"], {
      env: {
        PATH: process.env["PATH"] ?? "",
        AWS_ACCESS_KEY_ID: admin.accessKeyId,
        AWS_SECRET_ACCESS_KEY: admin.secretAccessKey,
      },
    });
  }

  const stops = (count: number) =>
    recentRecords(count, { accountId: TEST_ACCOUNT_ID }).map((record) => ({
      ...record,
      eventName: "StopLogging",
      eventSource: "cloudtrail.amazonaws.com",
      eventID: randomUUID(),
    }));

  async function ingest(node: ServerProcess, records: Record<string, unknown>[]): Promise<void> {
    const response = await sendRaw(node.url, ingestCall(records, admin));
    assert.equal(response.status, 200, response.text);
  }

  async function matchIds(node: ServerProcess): Promise<string[]> {
    const { stdout } = await cairn(node, ["sigma", "matches", "--json"]);
    return stdout
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => (JSON.parse(line) as { eventID: string }).eventID);
  }

  async function holds(node: ServerProcess): Promise<boolean> {
    const health = (await (await fetch(`${node.url}/health`)).json()) as { role: { leasesHeld: string[] } };
    return health.role.leasesHeld.includes("sigma");
  }

  it("evaluates on the lease holder, lists on every node, and moves to the other node when the holder dies", async () => {
    const ruleFile = join(a.dataDir, "..", "rule.yml");
    writeFileSync(ruleFile, RULE);
    await cairn(a, ["sigma", "add", ruleFile]);
    const holder = await pollUntil(async () => ((await holds(a)) ? a : (await holds(b)) ? b : false), {
      message: "a node to hold the sigma lease",
    });
    const other = holder === a ? b : a;
    assert.equal(await holds(other), false, "one node evaluates");

    const first = stops(3);
    await ingest(other, first);
    const expectedFirst = first.map((record) => record.eventID).sort();
    await pollUntil(async () => (await matchIds(other)).length === 3, { message: "the first matches" });
    assert.deepEqual((await matchIds(holder)).sort(), expectedFirst);

    await nodes.kill9(holder);
    const second = stops(2);
    await ingest(other, second);
    await pollUntil(async () => (await matchIds(other)).length === 5, {
      timeoutMs: 60_000,
      message: "the surviving node to take the sigma lease over and match the new records",
    });
    assert.ok(await holds(other));
    assert.deepEqual(
      (await matchIds(other)).sort(),
      [...first, ...second].map((record) => record.eventID).sort(),
      "every match once",
    );
  });
});
