import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { awsCliMissingReason, runAws } from "../helpers/aws-cli.js";
import { clusterEnginesMissingReason, startClusterEngines, type ClusterEngines } from "../helpers/cluster-engines.js";
import { ClusterNodes } from "../helpers/cluster-nodes.js";
import { pollUntil } from "../helpers/poll.js";
import { TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";

const missing = clusterEnginesMissingReason("cluster SNS tests") || awsCliMissingReason();
const TOPIC_ARN = `arn:aws:sns:us-east-1:${TEST_ACCOUNT_ID}:cluster-alerts`;

describe("cluster mode: SNS topics in PostgreSQL, the same on every node", { skip: missing }, () => {
  let engines: ClusterEngines;
  let nodes: ClusterNodes;
  let a: ServerProcess;
  let b: ServerProcess;
  let receiver: Server;
  const bodies: string[] = [];

  before(async () => {
    engines = await startClusterEngines();
    nodes = new ClusterNodes(engines);
    [a, b] = (await nodes.startAll(["sns-a", "sns-b"])) as [ServerProcess, ServerProcess];
    receiver = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        bodies.push(Buffer.concat(chunks).toString("utf8"));
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  });
  after(async () => {
    receiver?.close();
    await nodes?.cleanup();
    await engines?.stop();
  });

  /** The AWS CLI against one node, with the credentials file that node wrote. */
  async function aws(node: ServerProcess, args: string[]): Promise<Record<string, unknown>> {
    const result = await runAws(node.dataDir, [...args, "--endpoint-url", node.url, "--region", "us-east-1"]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.trim() === "" ? {} : (JSON.parse(result.stdout) as Record<string, unknown>);
  }

  it("creates on one node, subscribes on the other, confirms on the first, deletes on the second", async () => {
    assert.equal((await aws(a, ["sns", "create-topic", "--name", "cluster-alerts"]))["TopicArn"], TOPIC_ARN);
    assert.deepEqual((await aws(b, ["sns", "list-topics"]))["Topics"], [{ TopicArn: TOPIC_ARN }]);
    const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    await aws(b, [
      "sns",
      "subscribe",
      "--topic-arn",
      TOPIC_ARN,
      "--protocol",
      "http",
      "--notification-endpoint",
      endpoint,
    ]);
    const message = JSON.parse(await pollUntil(() => bodies[0], { message: "the SubscriptionConfirmation" })) as {
      Token: string;
      SubscribeURL: string;
    };
    assert.equal(new URL(message.SubscribeURL).origin, new URL(b.url).origin, "the URL of the node subscribed on");
    const confirmed = await aws(a, ["sns", "confirm-subscription", "--topic-arn", TOPIC_ARN, "--token", message.Token]);
    const listed = (await aws(b, ["sns", "list-subscriptions-by-topic", "--topic-arn", TOPIC_ARN]))["Subscriptions"];
    assert.deepEqual(listed, [
      {
        SubscriptionArn: confirmed["SubscriptionArn"],
        Owner: TEST_ACCOUNT_ID,
        Protocol: "http",
        Endpoint: endpoint,
        TopicArn: TOPIC_ARN,
      },
    ]);
    await aws(b, ["sns", "delete-topic", "--topic-arn", TOPIC_ARN]);
    const gone = await runAws(a.dataDir, [
      ...["sns", "get-topic-attributes", "--topic-arn", TOPIC_ARN],
      ...["--endpoint-url", a.url, "--region", "us-east-1"],
    ]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NotFound/);
  });
});
