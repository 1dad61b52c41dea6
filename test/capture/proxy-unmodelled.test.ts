import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { sendRaw } from "../helpers/signed-request.js";
import { TEST_ACCOUNT_ID } from "../helpers/server-process.js";
import { pollUntil } from "../helpers/poll.js";
import { motoMissingReason } from "../storage/moto-server.js";
import { recordsNamed, startProxyStack, type ProxyStack } from "./proxy-process.js";

/**
 * Cairn issue #12, item 2: calls the bundled models do not know, signed and sent through a real
 * `cairn proxy` in front of moto_server (which does not know them either and answers with an
 * error), are recorded as CloudTrail records them: the SSM agent's CreateControlChannel and
 * RequestManagedInstanceRoleToken as the Systems Manager page's examples (seed-examples), and an
 * invented operation all the same, logged once by the proxy.
 */
const skip = motoMissingReason();
const REGION = "eu-west-3";
const CHANNEL = "5c1f4429-49d2-48b6-b218-96823a0b1c2d";
const INSTANCE = "i-0123456789abcdef0";

type EventRecord = Record<string, unknown>;

describe("cairn proxy records operations no service model knows", { skip }, () => {
  let stack: ProxyStack | undefined;

  const send = async (service: string, path: string, headers: Record<string, string>, body: string) => {
    const response = await sendRaw(stack!.proxy.url, {
      ...stack!.keys,
      service,
      region: REGION,
      path,
      headers,
      body,
    });
    return response.status;
  };

  const recorded = async (eventName: string, count = 1): Promise<EventRecord[]> => {
    const found = await recordsNamed(stack!.server, "ssm.amazonaws.com", eventName, count);
    assert.ok(found.length >= count, `no ${eventName} event. Proxy output:\n${stack!.proxy.output()}`);
    return found;
  };

  before(async () => {
    stack = await startProxyStack();
  });

  after(async () => {
    await stack?.stop();
  });

  it("ssmmessages POST /v1/control-channel/<id>: the seed's CreateControlChannel data event", async () => {
    const status = await send(
      "ssmmessages",
      `/v1/control-channel/${CHANNEL}`,
      { "content-type": "application/json" },
      JSON.stringify({ MessageSchemaVersion: "1.0", RequestId: "54993150-0e8f-4142-aa54-3438e0a1b2c3" }),
    );
    assert.ok(status >= 400, `moto knows no ssmmessages; answered ${status}`);
    const [event] = await recorded("CreateControlChannel");
    assert.equal(event!["eventCategory"], "Data");
    assert.equal(event!["managementEvent"], false);
    assert.equal(event!["readOnly"], false);
    assert.equal(event!["awsRegion"], REGION);
    assert.equal(typeof event!["errorCode"], "string", "the upstream's error is the record's errorCode");
    assert.deepEqual(event!["requestParameters"], {
      channelId: CHANNEL,
      messageSchemaVersion: "1.0",
      requestId: "54993150-0e8f-4142-aa54-3438e0a1b2c3",
    });
    assert.deepEqual(event!["resources"], [
      {
        accountId: TEST_ACCOUNT_ID,
        type: "AWS::SSMMessages::ControlChannel",
        ARN: `arn:aws:ssmmessages:${REGION}:${TEST_ACCOUNT_ID}:control-channel/${CHANNEL}`,
      },
    ]);
  });

  it("X-Amz-Target AmazonSSM.RequestManagedInstanceRoleToken: the seed's readOnly managed-node data event", async () => {
    await send(
      "ssm",
      "/",
      {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AmazonSSM.RequestManagedInstanceRoleToken",
      },
      JSON.stringify({ Fingerprint: INSTANCE }),
    );
    const [event] = await recorded("RequestManagedInstanceRoleToken");
    assert.equal(event!["eventCategory"], "Data");
    assert.equal(event!["managementEvent"], false);
    assert.equal(event!["readOnly"], true);
    assert.equal(event!["responseElements"], null);
    assert.deepEqual(event!["requestParameters"], { fingerprint: INSTANCE });
    assert.deepEqual(event!["resources"], [
      {
        accountId: TEST_ACCOUNT_ID,
        type: "AWS::SSM::ManagedNode",
        ARN: `arn:aws:ec2:${REGION}:${TEST_ACCOUNT_ID}:instance/${INSTANCE}`,
      },
    ]);
  });

  it("an invented operation is recorded each time and logged once", async () => {
    for (let call = 0; call < 2; call++) {
      await send(
        "ssm",
        "/",
        { "content-type": "application/x-amz-json-1.1", "x-amz-target": "AmazonSSM.FutureOperation" },
        JSON.stringify({ Name: `n${call}` }),
      );
    }
    const events = await recorded("FutureOperation", 2);
    assert.equal(events.length, 2);
    assert.equal(events[0]!["eventCategory"], "Management");
    assert.equal(typeof events[0]!["errorCode"], "string");
    const mentions = (): number =>
      stack!.proxy
        .output()
        .split("\n")
        .filter((line) => line.includes("ssm.amazonaws.com FutureOperation")).length;
    // The log line is written when the record is built, which the journal already holds.
    await pollUntil(async () => mentions() >= 1, {
      timeoutMs: 15_000,
      intervalMs: 50,
      message: () => `the proxy log names FutureOperation:\n${stack!.proxy.output()}`,
    });
    assert.equal(mentions(), 1, stack!.proxy.output());
  });
});
