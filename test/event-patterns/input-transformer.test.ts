import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  transformTargetInput,
  validateInputTransformer,
  validateTargetInput,
  type TransformContext,
} from "../../src/event-patterns/index.js";
import { evaluateJsonPath, parseJsonPath } from "../../src/event-patterns/json-path.js";

/** The EC2 event of EventBridge's "Input transformation" page. */
const EC2_EVENT = {
  version: "0",
  id: "7bf73129-1428-4cd3-a780-95db273d1602",
  "detail-type": "EC2 Instance State-change Notification",
  source: "aws.ec2",
  account: "123456789012",
  time: "2015-11-11T21:29:54Z",
  region: "us-east-1",
  resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
  detail: { "instance-id": "i-0123456789", state: "RUNNING" },
};
const EC2_PATHS = { timestamp: "$.time", instance: "$.detail.instance-id", state: "$.detail.state" };
const CONTEXT: TransformContext = {
  ruleArn: "arn:aws:events:us-east-2:123456789012:rule/example",
  ruleName: "example",
  ingestionTime: "2015-11-11T21:29:55Z",
};

function transform(
  template: string,
  paths: Record<string, string> = EC2_PATHS,
  event: Record<string, unknown> = EC2_EVENT,
): string {
  const result = transformTargetInput(
    { InputTransformer: { InputPathsMap: paths, InputTemplate: template } },
    event,
    CONTEXT,
  );
  assert.ok(result.ok, `transform failed: ${JSON.stringify(result)}`);
  return result.body;
}

describe("input transformer: the examples of EventBridge's 'Input transformation' page", () => {
  it("Simple string", () => {
    assert.equal(transform('"instance <instance> is in <state>"'), '"instance i-0123456789 is in RUNNING"');
  });

  it("String with escaped quotes", () => {
    assert.equal(transform('"instance \\"<instance>\\" is in <state>"'), '"instance \\"i-0123456789\\" is in RUNNING"');
  });

  it("Simple JSON (minified, as EventBridge passes JSON)", () => {
    assert.equal(
      transform('{\n  "instance" : <instance>,\n  "state": <state>\n}'),
      '{"instance":"i-0123456789","state":"RUNNING"}',
    );
  });

  it("JSON with strings and variables", () => {
    const body = transform(
      '{\n "instance" : <instance>,\n "state": "<state>",\n "instanceStatus": "instance \\"<instance>\\" is in <state>"\n}',
    );
    assert.deepEqual(JSON.parse(body), {
      instance: "i-0123456789",
      state: "RUNNING",
      instanceStatus: 'instance "i-0123456789" is in RUNNING',
    });
  });

  it("JSON with a mix of variables and static information", () => {
    const body = transform(
      '{\n  "instance" : <instance>,\n  "state": [ 9, <state>, true ],\n  "Transformed" : "Yes"\n}',
    );
    assert.equal(body, '{"instance":"i-0123456789","state":[9,"RUNNING",true],"Transformed":"Yes"}');
  });

  it("Including reserved variables in JSON", () => {
    const body = transform(
      '{"instance" : <instance>, "state": <state>, "ruleArn" : <aws.events.rule-arn>, "ruleName" : <aws.events.rule-name>, ' +
        '"originalEvent" : <aws.events.event.json>, "withoutDetail": <aws.events.event>, "received": <aws.events.event.ingestion-time>}',
    );
    const parsed = JSON.parse(body) as Record<string, unknown>;
    assert.equal(parsed["ruleArn"], CONTEXT.ruleArn);
    assert.equal(parsed["ruleName"], "example");
    assert.deepEqual(parsed["originalEvent"], EC2_EVENT);
    assert.equal(parsed["received"], CONTEXT.ingestionTime);
    // aws.events.event: no detail, detail-type spelled detailType, in the order AWS writes it.
    const withoutDetail = parsed["withoutDetail"] as Record<string, unknown>;
    assert.deepEqual(Object.keys(withoutDetail), [
      "id",
      "account",
      "detailType",
      "time",
      "source",
      "region",
      "resources",
      "version",
    ]);
    assert.equal(withoutDetail["detailType"], "EC2 Instance State-change Notification");
  });

  it("Including reserved variables in a string", () => {
    assert.equal(transform('"<aws.events.rule-name> triggered"'), '"example triggered"');
  });

  it("Amazon CloudWatch log group: for an API destination the output stays valid JSON", () => {
    // The page shows what the Logs target stores (the message unescaped); an API destination gets the JSON.
    const body = transform(
      '{\n  "timestamp" : <timestamp>,\n  "message": "instance \\"<instance>\\" is in <state>"\n}',
    );
    assert.deepEqual(JSON.parse(body), {
      timestamp: "2015-11-11T21:29:54Z",
      message: 'instance "i-0123456789" is in RUNNING',
    });
  });
});

describe("input transformer: the examples of the InputTransformer API reference", () => {
  const paths = { instance: "$.detail.instance", status: "$.detail.status" };
  const event = { ...EC2_EVENT, detail: { instance: "i-0123456789", status: "RUNNING" } };

  it("a text template without quotes", () => {
    assert.equal(transform("<instance> is in state <status>", paths, event), "i-0123456789 is in state RUNNING");
  });

  it("a text template with escaped quotes", () => {
    assert.equal(transform('<instance> is in state "<status>"', paths, event), 'i-0123456789 is in state "RUNNING"');
  });

  it("a JSON template with variables in quotes and out", () => {
    const body = transform(
      '{"myInstance": <instance>,"myStatus": "<instance> is in state \\"<status>\\""}',
      paths,
      event,
    );
    assert.deepEqual(JSON.parse(body), { myInstance: "i-0123456789", myStatus: 'i-0123456789 is in state "RUNNING"' });
  });
});

/** Behaviour recorded against AWS (LocalStack's AWS-validated snapshots of test_events_inputs.py). */
describe("input transformer: behaviour recorded against EventBridge", () => {
  const event = {
    ...EC2_EVENT,
    "detail-type": "core.update-account-command",
    detail: {
      command: "update-account",
      payload: { acc_id: "0a787ecb-4015", sf_id: "baz" },
      listsingle: ["HIGH"],
      listmulti: ["ACTIVE", "INACTIVE"],
      valid: true,
    },
  };
  const paths = {
    userId: "$.detail.payload.acc_id",
    payload: "$.detail.payload",
    systemstring: "$.detail.awsAccountId",
    listsingle: "$.detail.listsingle",
    listmulti: "$.detail.listmulti",
    valid: "$.detail.valid",
    "detail-type": "$.detail-type",
    command: "$.detail.notinmessage",
  };
  const cases: Array<[string, string]> = [
    [
      '{"method": "PUT", "path": "users-service/users/<userId>", "bod": <payload>}',
      '{"method":"PUT","path":"users-service/users/0a787ecb-4015","bod":{"acc_id":"0a787ecb-4015","sf_id":"baz"}}',
    ],
    [
      '"Payload of <payload> with path users-service/users/<userId> and <userId>"',
      '"Payload of {acc_id:0a787ecb-4015,sf_id:baz} with path users-service/users/0a787ecb-4015 and 0a787ecb-4015"',
    ],
    ['{"id" : <userId>}', '{"id":"0a787ecb-4015"}'],
    ['{"id" : "<userId>"}', '{"id":"0a787ecb-4015"}'],
    ['{"bod": [<userId>, "hardcoded"]}', '{"bod":["0a787ecb-4015","hardcoded"]}'],
    [
      '{"nested": {"level1": {"level2": {"level3": "users-service/users/<userId>"} } }, "bod": "<userId>"}',
      '{"nested":{"level1":{"level2":{"level3":"users-service/users/0a787ecb-4015"}}},"bod":"0a787ecb-4015"}',
    ],
    ['"<listsingle> single list item"', '"[HIGH] single list item"'],
    ['"<listmulti> multiple list items"', '"[ACTIVE,INACTIVE] multiple list items"'],
    ['{"singlelistitem": <listsingle>}', '{"singlelistitem":["HIGH"]}'],
    [
      '{"multi_replacement": "users/<userId>/second/<userId>"}',
      '{"multi_replacement":"users/0a787ecb-4015/second/0a787ecb-4015"}',
    ],
    ['"Command is <valid>!"', '"Command is true!"'],
    ['"<systemstring> system account id"', '" system account id"'],
    [
      '"{[/Check with special starting characters for event of <detail-type> type"',
      '"{[/Check with special starting characters for event of core.update-account-command type"',
    ],
    // A path that names nothing: "" where a JSON value goes, nothing inside a string.
    [
      '{"detailType": <detail-type>, "command": <command>}',
      '{"detailType":"core.update-account-command","command":""}',
    ],
    ['"info extracted from detail <command>"', '"info extracted from detail "'],
  ];
  for (const [template, expected] of cases) {
    it(template, () => assert.equal(transform(template, paths, event), expected));
  }

  it("a multi-line text template keeps its lines", () => {
    const template = '"<listsingle> single list item"\n"<listmulti> multiple list items"\n"<userId> user id"';
    assert.equal(
      transform(template, paths, event),
      '"[HIGH] single list item"\n"[ACTIVE,INACTIVE] multiple list items"\n"0a787ecb-4015 user id"',
    );
  });

  it("InputPath: the value at the path, as JSON", () => {
    const at = (InputPath: string) => transformTargetInput({ InputPath }, event, CONTEXT);
    assert.deepEqual(at("$.detail.payload"), { ok: true, body: '{"acc_id":"0a787ecb-4015","sf_id":"baz"}' });
    assert.deepEqual(at("$.detail.payload.sf_id"), { ok: true, body: '"baz"' });
    assert.deepEqual(at("$.detail.absent"), { ok: true, body: "" });
  });
});

describe("input transformer: none, Input, escaping, paths", () => {
  it("no input member: the whole event", () => {
    assert.deepEqual(transformTargetInput({}, EC2_EVENT, CONTEXT), { ok: true, body: JSON.stringify(EC2_EVENT) });
  });

  it("Input: the constant text", () => {
    assert.deepEqual(transformTargetInput({ Input: '{"page": true}' }, EC2_EVENT, CONTEXT), {
      ok: true,
      body: '{"page": true}',
    });
  });

  it("values holding quotes, backslashes and newlines stay inside their JSON string", () => {
    const event = { ...EC2_EVENT, detail: { policy: '{"Statement":"a\\b"}\nnext' } };
    const body = transform('{"raw": <policy>, "text": "policy <policy> set"}', { policy: "$.detail.policy" }, event);
    assert.deepEqual(JSON.parse(body), {
      raw: '{"Statement":"a\\b"}\nnext',
      text: 'policy {"Statement":"a\\b"}\nnext set',
    });
  });

  it("a template whose output is not JSON is refused at delivery", () => {
    const result = transformTargetInput(
      { InputTransformer: { InputPathsMap: { x: "$.detail" }, InputTemplate: '{"a": <x> <x>}' } },
      EC2_EVENT,
      CONTEXT,
    );
    assert.equal(result.ok, false);
  });

  it("paths: array indices, wildcards, quoted brackets, the root", () => {
    const value = (text: string) => {
      const path = parseJsonPath(text);
      assert.ok(path !== undefined, text);
      return evaluateJsonPath(path, EC2_EVENT);
    };
    assert.equal(value("$.resources[0]"), EC2_EVENT.resources[0]);
    assert.equal(value("$.resources[1]"), undefined);
    assert.deepEqual(value("$.detail.*"), ["i-0123456789", "RUNNING"]);
    assert.deepEqual(value("$.resources[*]"), EC2_EVENT.resources);
    assert.equal(value("$['detail-type']"), EC2_EVENT["detail-type"]);
    assert.deepEqual(value("$"), EC2_EVENT);
    assert.equal(value("$.detail.state.deeper"), undefined);
    for (const bad of ["detail", "$.", "$..detail", "$.detail[?(@.x)]", "$[0:2]", "$.a b", `$.${"a".repeat(300)}`]) {
      assert.equal(parseJsonPath(bad), undefined, bad);
    }
  });
});

describe("validateInputTransformer and validateTargetInput (PutTargets)", () => {
  const valid = { InputPathsMap: EC2_PATHS, InputTemplate: '{"i": <instance>, "r": <aws.events.rule-name>}' };

  it("accepts valid transformers, text and JSON templates, and reserved placeholders without a map", () => {
    assert.equal(validateInputTransformer(valid, "t1"), undefined);
    assert.equal(
      validateInputTransformer({ InputTemplate: '"<aws.events.rule-arn> <aws.events.event.ingestion-time>"' }, "t1"),
      undefined,
    );
    assert.equal(
      validateInputTransformer({ InputPathsMap: EC2_PATHS, InputTemplate: "<instance> is <state>" }, "t1"),
      undefined,
    );
  });

  it("refuses a placeholder the map does not define, with EventBridge's message", () => {
    assert.equal(
      validateInputTransformer(
        { InputPathsMap: EC2_PATHS, InputTemplate: '"Event with not defined key <notdefinedkey>"' },
        "t1",
      ),
      "InputTemplate for target t1 contains invalid placeholder notdefinedkey.",
    );
  });

  it("refuses more than 100 paths, bad keys, long or invalid paths", () => {
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`k${i}`, "$.detail"]));
    assert.match(
      validateInputTransformer({ InputPathsMap: many, InputTemplate: '"x"' }, "t1") ?? "",
      /inputTransformer\.inputPathsMap.*less than or equal to 100/,
    );
    const hundred = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, "$.detail"]));
    assert.equal(validateInputTransformer({ InputPathsMap: hundred, InputTemplate: '"x"' }, "t1"), undefined);
    for (const key of ["aws.events.rule-arn", "AWS.x", "has space", ""]) {
      assert.match(
        validateInputTransformer({ InputPathsMap: { [key]: "$.detail" }, InputTemplate: '"x"' }, "t1") ?? "",
        /Map keys must satisfy constraint/,
        key,
      );
    }
    assert.match(
      validateInputTransformer({ InputPathsMap: { a: `$.${"x".repeat(300)}` }, InputTemplate: '"x"' }, "t1") ?? "",
      /Map value/,
    );
    assert.equal(
      validateInputTransformer({ InputPathsMap: { a: "detail.x" }, InputTemplate: '"<a>"' }, "t1"),
      "InputPathsMap for target t1 contains an invalid JSON path for a.",
    );
  });

  it("refuses an empty or too long template, and a JSON template that is not JSON or keys on a placeholder", () => {
    assert.match(validateInputTransformer({ InputTemplate: "" }, "t1") ?? "", /greater than or equal to 1/);
    assert.match(
      validateInputTransformer({ InputTemplate: `"${"x".repeat(8200)}"` }, "t1") ?? "",
      /less than or equal to 8192/,
    );
    assert.equal(
      validateInputTransformer({ InputPathsMap: EC2_PATHS, InputTemplate: "{<instance>: 1}" }, "t1"),
      "InputTemplate for target t1 is not valid JSON.",
    );
    assert.equal(
      validateInputTransformer({ InputTemplate: '{"a": 1' }, "t1"),
      "InputTemplate for target t1 is not valid JSON.",
    );
  });

  it("validateTargetInput: one input member at most, Input JSON, InputPath a path", () => {
    assert.equal(
      validateTargetInput({ InputPath: "$.detail", InputTransformer: valid }, "t1"),
      "Only one of Input, InputPath, or InputTransformer must be provided for target t1.",
    );
    assert.equal(validateTargetInput({ Input: "{not json" }, "t1"), "Input for target t1 is not a valid JSON text.");
    assert.equal(validateTargetInput({ Input: '{"a": 1}' }, "t1"), undefined);
    assert.equal(validateTargetInput({ InputPath: "$.detail.x" }, "t1"), undefined);
    assert.equal(
      validateTargetInput({ InputPath: "detail" }, "t1"),
      "InputPath for target t1 is not a valid JSON path.",
    );
    assert.match(
      validateTargetInput({ InputTransformer: { InputTemplate: "" } }, "t1", "targets.1.member") ?? "",
      /targets\.1\.member\.inputTransformer\.inputTemplate/,
    );
    assert.equal(validateTargetInput({}, "t1"), undefined);
  });
});
