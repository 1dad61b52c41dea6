import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { awsCliMissingReason, runAws, type AwsCliResult } from "../helpers/aws-cli.js";
import { addPrincipal } from "../helpers/principals.js";
import { embeddedOnly } from "../helpers/test-backend.js";
import { sendRaw } from "../helpers/signed-request.js";

const skip = awsCliMissingReason();
const hasBoto3 = spawnSync("python3", ["-c", "import boto3"]).status === 0;
if (!hasBoto3)
  process.stderr.write(
    "\n*** SKIPPED LOUDLY: python3 -c 'import boto3' fails here; the boto3 EventBridge test needs it. ***\n\n",
  );

/** Secrets given to connections: none may appear in an answer, a record or a file. */
const API_KEY_VALUE = "cairn-it-apikey-7Q2x9Wv3";
const PASSWORD = "cairn-it-password-Zk81pq";
const SECRET_HEADER = "cairn-it-header-secret-55rt";
const ROTATED_KEY = "cairn-it-rotated-key-Hq7m2c";
const SECRETS = [API_KEY_VALUE, PASSWORD, SECRET_HEADER, ROTATED_KEY];
const OTHER_ACCOUNT = "444455556666";

const tampering = JSON.stringify({
  source: ["aws.cloudtrail"],
  "detail-type": ["AWS API Call via CloudTrail"],
  detail: { eventName: ["StopLogging", "DeleteTrail", "PutEventSelectors"] },
});

type Credentials = { accessKeyId: string; secretAccessKey: string };

/** Runs boto3's events client (as `credentials`) on `body`, which prints JSON; returns it parsed. */
function boto3(url: string, body: string, credentials: Credentials): { stdout: string; value: unknown } {
  const script = [
    "import boto3, json",
    "from botocore.exceptions import ClientError",
    `events = boto3.client('events', endpoint_url='${url}', region_name='us-east-1',`,
    `  aws_access_key_id='${credentials.accessKeyId}', aws_secret_access_key='${credentials.secretAccessKey}')`,
    "def error(call):",
    "  try:",
    "    call()",
    "    return None",
    "  except ClientError as e:",
    "    return [e.response['Error']['Code'], e.response['Error']['Message'], e.response['ResponseMetadata']['HTTPStatusCode']]",
    body,
  ].join("\n");
  const run = spawnSync("python3", ["-c", script], { encoding: "utf8", timeout: 120_000 });
  assert.equal(run.status, 0, run.stderr);
  return { stdout: run.stdout, value: JSON.parse(run.stdout) as unknown };
}

function walk(root: string): string[] {
  return readdirSync(root, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? walk(join(root, entry.name)) : [join(root, entry.name)],
  );
}

describe("EventBridge rules, targets, connections and API destinations with the AWS CLI and boto3", { skip }, () => {
  let server: ServerProcess;
  /** Every answer any client got: checked for secrets at the end. */
  const answers: string[] = [];
  const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
  let connectionArn: string;
  let destinationArn: string;

  async function aws(args: string[], credentials?: Credentials): Promise<AwsCliResult> {
    const env: Record<string, string> =
      credentials === undefined
        ? {}
        : { AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey };
    const result = await runAws(server.dataDir, ["events", ...args, "--region", "us-east-1", "--output", "json"], env);
    answers.push(result.stdout, result.stderr);
    return result;
  }
  async function ok(args: string[], credentials?: Credentials): Promise<Record<string, unknown>> {
    const result = await aws(args, credentials);
    assert.equal(result.code, 0, `${args.join(" ")}: ${result.stderr}`);
    return result.stdout.trim() === "" ? {} : (JSON.parse(result.stdout) as Record<string, unknown>);
  }
  async function refused(args: string[], code: string, message: RegExp, credentials?: Credentials): Promise<void> {
    const result = await aws(args, credentials);
    assert.notEqual(result.code, 0, `${args.join(" ")} succeeded`);
    assert.match(result.stderr, new RegExp(`\\(${code}\\) when calling the \\w+ operation: .*${message.source}`));
  }

  before(async () => {
    server = await startServerProcess();
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("creates a connection (API_KEY), shown without its key value", async () => {
    const created = await ok([
      "create-connection",
      "--name",
      "hooks",
      "--authorization-type",
      "API_KEY",
      "--auth-parameters",
      JSON.stringify({
        ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: API_KEY_VALUE },
        InvocationHttpParameters: {
          HeaderParameters: [
            { Key: "x-team", Value: "secops", IsValueSecret: false },
            { Key: "x-signature", Value: SECRET_HEADER, IsValueSecret: true },
          ],
        },
      }),
    ]);
    connectionArn = String(created["ConnectionArn"]);
    assert.match(
      connectionArn,
      new RegExp(`^arn:aws:events:us-east-1:${TEST_ACCOUNT_ID}:connection/hooks/[0-9a-f-]{36}$`),
    );
    assert.equal(created["ConnectionState"], "AUTHORIZED");
    const described = await ok(["describe-connection", "--name", "hooks"]);
    assert.equal(described["ConnectionArn"], connectionArn);
    assert.equal(described["AuthorizationType"], "API_KEY");
    assert.match(
      String(described["SecretArn"]),
      /^arn:aws:secretsmanager:us-east-1:\d{12}:secret:events!connection\/hooks\//,
    );
    assert.deepEqual(described["AuthParameters"], {
      ApiKeyAuthParameters: { ApiKeyName: "x-api-key" },
      InvocationHttpParameters: {
        HeaderParameters: [
          { Key: "x-team", Value: "secops", IsValueSecret: false },
          { Key: "x-signature", IsValueSecret: true },
        ],
      },
    });
    const listed = await ok(["list-connections", "--name-prefix", "ho"]);
    assert.deepEqual(
      (listed["Connections"] as Array<Record<string, unknown>>).map((c) => [c["Name"], c["ConnectionState"]]),
      [["hooks", "AUTHORIZED"]],
    );
    await refused(
      [
        "create-connection",
        "--name",
        "hooks",
        "--authorization-type",
        "BASIC",
        "--auth-parameters",
        JSON.stringify({ BasicAuthParameters: { Username: "u", Password: PASSWORD } }),
      ],
      "ResourceAlreadyExistsException",
      /Connection hooks already exists\./,
    );
  });

  it("creates an API destination on the connection; an unknown connection is not found", async () => {
    // --cli-input-json: AWS CLI v1 would fetch an http:// parameter value as a URL parameter file.
    const input = (name: string, arn: string) =>
      JSON.stringify({
        Name: name,
        ConnectionArn: arn,
        InvocationEndpoint: "http://127.0.0.1:9/hook",
        HttpMethod: "POST",
        InvocationRateLimitPerSecond: 20,
      });
    const created = await ok(["create-api-destination", "--cli-input-json", input("pager", connectionArn)]);
    destinationArn = String(created["ApiDestinationArn"]);
    assert.match(destinationArn, /^arn:aws:events:us-east-1:\d{12}:api-destination\/pager\/[0-9a-f-]{36}$/);
    assert.equal(created["ApiDestinationState"], "ACTIVE");
    const described = await ok(["describe-api-destination", "--name", "pager"]);
    assert.equal(described["InvocationEndpoint"], "http://127.0.0.1:9/hook");
    assert.equal(described["ConnectionArn"], connectionArn);
    assert.equal(described["InvocationRateLimitPerSecond"], 20);
    const listed = await ok(["list-api-destinations", "--connection-arn", connectionArn]);
    assert.deepEqual(
      (listed["ApiDestinations"] as Array<Record<string, unknown>>).map((d) => d["Name"]),
      ["pager"],
    );
    await refused(
      [
        "create-api-destination",
        "--cli-input-json",
        input("other", connectionArn.replace(/\/[0-9a-f-]+$/, "/00000000-0000-4000-8000-000000000000")),
      ],
      "ResourceNotFoundException",
      /Connection 'hooks' does not exist\./,
    );
    await refused(
      ["describe-api-destination", "--name", "ghost"],
      "ResourceNotFoundException",
      /An api-destination 'ghost' does not exist\./,
    );
  });

  it("UpdateConnection replaces the key, never shown; UpdateApiDestination changes what it is given", async () => {
    const updated = await ok([
      "update-connection",
      "--name",
      "hooks",
      "--description",
      "rotated",
      "--auth-parameters",
      JSON.stringify({ ApiKeyAuthParameters: { ApiKeyName: "x-api-key", ApiKeyValue: ROTATED_KEY } }),
    ]);
    assert.equal(updated["ConnectionArn"], connectionArn);
    assert.equal(updated["ConnectionState"], "AUTHORIZED");
    const described = await ok(["describe-connection", "--name", "hooks"]);
    assert.equal(described["Description"], "rotated");
    assert.deepEqual(described["AuthParameters"], { ApiKeyAuthParameters: { ApiKeyName: "x-api-key" } });
    assert.ok(Number(described["LastModifiedTime"]) >= Number(described["CreationTime"]));
    await refused(
      ["update-connection", "--name", "ghost", "--description", "x"],
      "ResourceNotFoundException",
      /Connection 'ghost' does not exist\./,
    );
    const change = JSON.stringify({
      Name: "pager",
      InvocationEndpoint: "http://127.0.0.1:10/hook2",
      HttpMethod: "PUT",
    });
    const destination = await ok(["update-api-destination", "--cli-input-json", change]);
    assert.equal(destination["ApiDestinationArn"], destinationArn);
    const after = await ok(["describe-api-destination", "--name", "pager"]);
    assert.equal(after["InvocationEndpoint"], "http://127.0.0.1:10/hook2");
    assert.equal(after["HttpMethod"], "PUT");
    assert.equal(after["InvocationRateLimitPerSecond"], 20, "what the update did not name is kept");
    await refused(
      [
        "update-api-destination",
        "--name",
        "pager",
        "--connection-arn",
        connectionArn.replace(/[0-9a-f-]{36}$/, "00000000-0000-4000-8000-000000000000"),
      ],
      "ResourceNotFoundException",
      /Connection 'hooks' does not exist\./,
    );
  });

  it("puts, describes, lists, disables and enables a rule", async () => {
    const put = await ok([
      "put-rule",
      "--name",
      "trail-tampering",
      "--event-pattern",
      tampering,
      "--description",
      "tampering",
    ]);
    assert.equal(put["RuleArn"], `arn:aws:events:us-east-1:${TEST_ACCOUNT_ID}:rule/trail-tampering`);
    for (const name of ["reads-a", "reads-b"]) {
      await ok([
        "put-rule",
        "--name",
        name,
        "--event-pattern",
        tampering,
        "--state",
        "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
      ]);
    }
    const described = await ok(["describe-rule", "--name", "trail-tampering"]);
    assert.deepEqual(described, {
      Name: "trail-tampering",
      Arn: put["RuleArn"],
      EventPattern: tampering,
      State: "ENABLED",
      Description: "tampering",
      EventBusName: "default",
      CreatedBy: TEST_ACCOUNT_ID,
    });
    await ok(["disable-rule", "--name", "trail-tampering"]);
    assert.equal(
      (await ok(["describe-rule", "--name", "trail-tampering", "--event-bus-name", "default"]))["State"],
      "DISABLED",
    );
    await ok([
      "enable-rule",
      "--name",
      "trail-tampering",
      "--event-bus-name",
      `arn:aws:events:us-east-1:${TEST_ACCOUNT_ID}:event-bus/default`,
    ]);
    assert.equal((await ok(["describe-rule", "--name", "trail-tampering"]))["State"], "ENABLED");
    const first = await ok(["list-rules", "--name-prefix", "reads-", "--limit", "1"]);
    assert.deepEqual(
      (first["Rules"] as Array<Record<string, unknown>>).map((r) => [r["Name"], r["State"]]),
      [["reads-a", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"]],
    );
    const second = await ok([
      "list-rules",
      "--name-prefix",
      "reads-",
      "--limit",
      "1",
      "--next-token",
      String(first["NextToken"]),
    ]);
    assert.deepEqual(
      (second["Rules"] as Array<Record<string, unknown>>).map((r) => r["Name"]),
      ["reads-b"],
    );
    assert.equal(second["NextToken"], undefined);
  });

  it("refuses what EventBridge refuses: unknown rule, bad pattern, other bus, schedules", async () => {
    await refused(
      ["describe-rule", "--name", "ghost"],
      "ResourceNotFoundException",
      /Rule ghost does not exist on EventBus default\./,
    );
    await refused(
      ["enable-rule", "--name", "ghost"],
      "ResourceNotFoundException",
      /Rule ghost does not exist on EventBus default\./,
    );
    await refused(
      ["list-targets-by-rule", "--rule", "ghost"],
      "ResourceNotFoundException",
      /Rule ghost does not exist/,
    );
    await refused(
      ["put-rule", "--name", "bad", "--event-pattern", '{"detail":{"eventName":[]}}'],
      "InvalidEventPatternException",
      /Event pattern is not valid\. Reason: Empty arrays are not allowed/,
    );
    await refused(
      ["put-rule", "--name", "bus", "--event-pattern", tampering, "--event-bus-name", "orders"],
      "ResourceNotFoundException",
      /Event bus orders does not exist\./,
    );
    await refused(
      ["put-rule", "--name", "cron", "--schedule-expression", "rate(5 minutes)"],
      "ValidationException",
      /Cairn does not run scheduled rules/,
    );
    await refused(
      ["put-rule", "--name", "nothing"],
      "ValidationException",
      /Parameter\(s\) EventPattern or ScheduleExpression must be specified\./,
    );
    await refused(
      ["put-rule", "--name", "bad name", "--event-pattern", tampering],
      "ValidationException",
      /1 validation error detected: Value 'bad name' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern/,
    );
    assert.deepEqual((await ok(["list-rules", "--name-prefix", "b"]))["Rules"], []);
  });

  it("puts targets: an API destination and an SNS topic are kept, any other ARN is a failed entry; at most 5", async () => {
    const put = await ok([
      "put-targets",
      "--rule",
      "trail-tampering",
      "--targets",
      JSON.stringify([
        {
          Id: "pager",
          Arn: destinationArn,
          RoleArn: `arn:aws:iam::${TEST_ACCOUNT_ID}:role/events`,
          InputTransformer: { InputPathsMap: { name: "$.detail.eventName" }, InputTemplate: '{"event": <name>}' },
          RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 },
          HttpParameters: { HeaderParameters: { "x-source": "cairn" } },
          DeadLetterConfig: { Arn: `arn:aws:sqs:us-east-1:${TEST_ACCOUNT_ID}:dlq` },
        },
        { Id: "topic", Arn: `arn:aws:sns:us-east-1:${TEST_ACCOUNT_ID}:alerts`, InputPath: "$.detail" },
        { Id: "lambda", Arn: `arn:aws:lambda:us-east-1:${TEST_ACCOUNT_ID}:function:f` },
      ]),
    ]);
    assert.equal(put["FailedEntryCount"], 1);
    const [failed] = put["FailedEntries"] as Array<Record<string, string>>;
    assert.equal(failed?.["TargetId"], "lambda");
    assert.match(String(failed?.["ErrorMessage"]), /Cairn delivers only to API destinations and SNS topics/);
    const listed = await ok(["list-targets-by-rule", "--rule", "trail-tampering"]);
    assert.deepEqual(listed["Targets"], [
      {
        Id: "pager",
        Arn: destinationArn,
        RoleArn: `arn:aws:iam::${TEST_ACCOUNT_ID}:role/events`,
        InputTransformer: { InputPathsMap: { name: "$.detail.eventName" }, InputTemplate: '{"event": <name>}' },
        HttpParameters: { HeaderParameters: { "x-source": "cairn" } },
        DeadLetterConfig: { Arn: `arn:aws:sqs:us-east-1:${TEST_ACCOUNT_ID}:dlq` },
        RetryPolicy: { MaximumRetryAttempts: 10, MaximumEventAgeInSeconds: 3600 },
      },
      { Id: "topic", Arn: `arn:aws:sns:us-east-1:${TEST_ACCOUNT_ID}:alerts`, InputPath: "$.detail" },
    ]);
    const topics = (ids: string[]) =>
      JSON.stringify(ids.map((id) => ({ Id: id, Arn: `arn:aws:sns:us-east-1:${TEST_ACCOUNT_ID}:t${id}` })));
    await refused(
      ["put-targets", "--rule", "trail-tampering", "--targets", topics(["3", "4", "5", "6"])],
      "LimitExceededException",
      /The requested resource exceeds the maximum number allowed\./,
    );
    assert.equal(
      (await ok(["put-targets", "--rule", "trail-tampering", "--targets", topics(["3", "4", "5"])]))[
        "FailedEntryCount"
      ],
      0,
    );
    await refused(
      ["put-targets", "--rule", "trail-tampering", "--targets", topics(["6"])],
      "LimitExceededException",
      /exceeds the maximum number allowed/,
    );
    await refused(
      [
        "put-targets",
        "--rule",
        "trail-tampering",
        "--targets",
        `Id=x,Arn=${destinationArn},RetryPolicy={MaximumRetryAttempts=186}`,
      ],
      "ValidationException",
      /Value '186' at 'targets\.1\.member\.retryPolicy\.maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 185/,
    );
    await refused(
      ["put-targets", "--rule", "ghost", "--targets", topics(["1"])],
      "ResourceNotFoundException",
      /Rule ghost does not exist on EventBus default\./,
    );
  });

  it("a rule with targets is not deleted; RemoveTargets then DeleteRule is", async () => {
    await refused(
      ["delete-rule", "--name", "trail-tampering"],
      "ValidationException",
      /Rule can't be deleted since it has targets\./,
    );
    const removed = await ok([
      "remove-targets",
      "--rule",
      "trail-tampering",
      "--ids",
      "pager",
      "topic",
      "3",
      "4",
      "5",
      "nope",
    ]);
    assert.equal(removed["FailedEntryCount"], 0);
    assert.deepEqual((await ok(["list-targets-by-rule", "--rule", "trail-tampering"]))["Targets"], []);
    await ok(["delete-rule", "--name", "trail-tampering"]);
    await refused(["describe-rule", "--name", "trail-tampering"], "ResourceNotFoundException", /does not exist/);
    // EventBridge answers a delete of a rule that is not there with success.
    await ok(["delete-rule", "--name", "trail-tampering"]);
  });

  it("another account neither sees nor changes the first account's rules and connections", async () => {
    const other = await addPrincipal(server.dataDir, { name: "other-admin", accountId: OTHER_ACCOUNT });
    await ok(["put-rule", "--name", "mine", "--event-pattern", tampering]);
    assert.deepEqual((await ok(["list-rules"], other))["Rules"], []);
    assert.deepEqual((await ok(["list-connections"], other))["Connections"], []);
    assert.deepEqual((await ok(["list-api-destinations"], other))["ApiDestinations"], []);
    await refused(["describe-rule", "--name", "mine"], "ResourceNotFoundException", /Rule mine does not exist/, other);
    await refused(
      ["describe-connection", "--name", "hooks"],
      "ResourceNotFoundException",
      /Connection 'hooks' does not exist/,
      other,
    );
    await refused(["disable-rule", "--name", "mine"], "ResourceNotFoundException", /Rule mine does not exist/, other);
    await refused(
      [
        "describe-rule",
        "--name",
        "mine",
        "--event-bus-name",
        `arn:aws:events:us-east-1:${TEST_ACCOUNT_ID}:event-bus/default`,
      ],
      "ResourceNotFoundException",
      /Event bus default does not exist\./,
      other,
    );
    const theirTarget = JSON.stringify([{ Id: "1", Arn: destinationArn }]);
    await ok(["put-rule", "--name", "mine", "--event-pattern", tampering], other);
    const put = await ok(["put-targets", "--rule", "mine", "--targets", theirTarget], other);
    assert.equal(put["FailedEntryCount"], 1, "another account's API destination is not a target");
    await ok(["delete-rule", "--name", "mine"], other);
    assert.equal((await ok(["describe-rule", "--name", "mine"]))["State"], "ENABLED");
    assert.equal(
      (await ok(["describe-rule", "--name", "mine"]))["Arn"],
      `arn:aws:events:us-east-1:${TEST_ACCOUNT_ID}:rule/mine`,
    );
  });

  it("authorises events:<Operation> on the rule's ARN through IAM", async () => {
    const reader = await addPrincipal(server.dataDir, {
      name: "eb-reader",
      accountId: TEST_ACCOUNT_ID,
      policyArns: ["arn:aws:iam::aws:policy/AmazonEventBridgeReadOnlyAccess"],
    });
    assert.equal((await ok(["describe-rule", "--name", "mine"], reader))["Name"], "mine");
    await refused(
      ["put-rule", "--name", "mine", "--event-pattern", tampering],
      "AccessDeniedException",
      new RegExp(`events:PutRule on resource: arn:aws:events:us-east-1:${TEST_ACCOUNT_ID}:rule/mine`),
      reader,
    );
  });

  it(
    "boto3 drives the same API: BASIC connection, destination, rule, targets, and the errors' codes and statuses",
    { skip: !hasBoto3 },
    () => {
      const run = boto3(
        server.url,
        [
          "out = {}",
          "c = events.create_connection(Name='basic', AuthorizationType='BASIC', AuthParameters={",
          `  'BasicAuthParameters': {'Username': 'cairn', 'Password': '${PASSWORD}'}})`,
          "out['state'] = c['ConnectionState']",
          "out['described'] = events.describe_connection(Name='basic')['AuthParameters']",
          "d = events.create_api_destination(Name='hook', ConnectionArn=c['ConnectionArn'],",
          "  InvocationEndpoint='https://hooks.example/cairn', HttpMethod='PUT')",
          "events.put_rule(Name='boto', EventPattern='{\"source\":[\"aws.s3\"]}')",
          "out['put'] = events.put_targets(Rule='boto', Targets=[{'Id': 'h', 'Arn': d['ApiDestinationArn']}])['FailedEntryCount']",
          "out['targets'] = [t['Id'] for t in events.list_targets_by_rule(Rule='boto')['Targets']]",
          "out['errors'] = [",
          "  error(lambda: events.delete_rule(Name='boto')),",
          "  error(lambda: events.describe_connection(Name='ghost')),",
          '  error(lambda: events.put_rule(Name=\'x\', EventPattern=\'{"a": [{"numeric": [">"]}]}\')),',
          "  error(lambda: events.create_connection(Name='oauth', AuthorizationType='OAUTH_CLIENT_CREDENTIALS', AuthParameters={",
          "    'OAuthParameters': {'ClientParameters': {'ClientID': 'i', 'ClientSecret': 's'},",
          "    'AuthorizationEndpoint': 'https://auth.example/token', 'HttpMethod': 'PATCH'}})),",
          "  error(lambda: events.create_api_destination(Name='ftp', ConnectionArn=c['ConnectionArn'],",
          "    InvocationEndpoint='ftp://files.example/x', HttpMethod='POST')),",
          "]",
          "events.remove_targets(Rule='boto', Ids=['h'])",
          "events.delete_rule(Name='boto')",
          "events.delete_api_destination(Name='hook')",
          "out['deleted'] = events.delete_connection(Name='basic')['ConnectionState']",
          "out['left'] = [x['Name'] for x in events.list_connections()['Connections']]",
          "print(json.dumps(out))",
        ].join("\n"),
        admin,
      );
      answers.push(run.stdout);
      const out = run.value as Record<string, unknown>;
      assert.equal(out["state"], "AUTHORIZED");
      assert.deepEqual(out["described"], { BasicAuthParameters: { Username: "cairn" } });
      assert.equal(out["put"], 0);
      assert.deepEqual(out["targets"], ["h"]);
      const errors = out["errors"] as Array<[string, string, number]>;
      assert.deepEqual(errors[0], ["ValidationException", "Rule can't be deleted since it has targets.", 400]);
      assert.deepEqual(errors[1], [
        "ResourceNotFoundException",
        "Failed to describe the connection(s). Connection 'ghost' does not exist.",
        400,
      ]);
      assert.deepEqual(errors[2], [
        "InvalidEventPatternException",
        "Event pattern is not valid. Reason: Value of > must be numeric",
        400,
      ]);
      assert.equal(errors[3]?.[0], "ValidationException");
      assert.match(String(errors[3]?.[1]), /oAuthParameters\.httpMethod.*\[GET, POST, PUT\]/);
      assert.equal(errors[4]?.[0], "ValidationException");
      assert.equal(out["deleted"], "DELETING");
      assert.deepEqual(out["left"], ["hooks"]);
    },
  );

  it("answers members of the wrong type or size with AWS-shaped 400s, never a 500", async () => {
    const target = { Id: "t", Arn: destinationArn, RetryPolicy: { MaximumRetryAttempts: 1 }, HttpParameters: {} };
    const valid: Record<string, Record<string, unknown>> = {
      PutRule: { Name: "fuzz", EventPattern: tampering, State: "ENABLED", Description: "d", EventBusName: "default" },
      DescribeRule: { Name: "fuzz" },
      ListRules: { NamePrefix: "f", Limit: 5, NextToken: "bWluZQ" },
      PutTargets: { Rule: "mine", Targets: [target] },
      ListTargetsByRule: { Rule: "mine", Limit: 1 },
      RemoveTargets: { Rule: "mine", Ids: ["t"] },
      CreateConnection: {
        Name: "fuzz",
        AuthorizationType: "BASIC",
        AuthParameters: { BasicAuthParameters: { Username: "u", Password: "p" } },
      },
      ListConnections: { Limit: 2 },
      CreateApiDestination: {
        Name: "fuzz",
        ConnectionArn: connectionArn,
        InvocationEndpoint: "https://hooks.example/x",
        HttpMethod: "POST",
      },
      ListApiDestinations: { ConnectionArn: connectionArn },
    };
    const wrong: unknown[] = [5, -1, [], {}, true, "x".repeat(5000), [{ a: [{}] }], "\u0000"];
    for (const [operation, input] of Object.entries(valid)) {
      // The input as it stands is answered 200, so each variant below differs by its one member only.
      const sound = await sendRaw(server.url, {
        accessKeyId: TEST_ACCESS_KEY_ID,
        secretAccessKey: TEST_SECRET_ACCESS_KEY,
        service: "events",
        headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `AWSEvents.${operation}` },
        body: JSON.stringify(input),
      });
      assert.equal(sound.status, 200, `${operation}: ${sound.text}`);
      for (const member of Object.keys(input)) {
        for (const value of wrong) {
          const response = await sendRaw(server.url, {
            accessKeyId: TEST_ACCESS_KEY_ID,
            secretAccessKey: TEST_SECRET_ACCESS_KEY,
            service: "events",
            headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `AWSEvents.${operation}` },
            body: JSON.stringify({ ...input, [member]: value }),
          });
          const label = `${operation} ${member}=${JSON.stringify(value).slice(0, 40)}: ${response.text.slice(0, 300)}`;
          assert.ok(response.status === 200 || response.status === 400, label);
          if (response.status === 400) assert.match(String(response.json()["__type"]), /Exception$/, label);
        }
      }
    }
    // What the sound calls made is removed, so later tests see only their own.
    await ok(["delete-api-destination", "--name", "fuzz"]);
    await ok(["delete-connection", "--name", "fuzz"]);
    await ok(["delete-rule", "--name", "fuzz"]);
  });

  it("records the calls as events.amazonaws.com management events, connection secrets hidden", async () => {
    const lookup = await runAws(server.dataDir, [
      "cloudtrail",
      "lookup-events",
      "--lookup-attributes",
      "AttributeKey=EventSource,AttributeValue=events.amazonaws.com",
      "--region",
      "us-east-1",
      "--output",
      "json",
    ]);
    assert.equal(lookup.code, 0, lookup.stderr);
    for (const secret of SECRETS) assert.ok(!lookup.stdout.includes(secret), "a secret is in a record");
    const records = (JSON.parse(lookup.stdout) as { Events: Array<{ CloudTrailEvent: string }> }).Events.map(
      (event) => JSON.parse(event.CloudTrailEvent) as Record<string, unknown>,
    );
    const byName = (name: string) => records.filter((record) => record["eventName"] === name);
    const [apiKey] = byName("CreateConnection").filter(
      (record) =>
        (record["requestParameters"] as { name?: string })["name"] === "hooks" && record["errorCode"] === undefined,
    );
    assert.deepEqual((apiKey?.["requestParameters"] as { authParameters?: unknown }).authParameters, {
      apiKeyAuthParameters: { apiKeyName: "x-api-key", apiKeyValue: "HIDDEN_DUE_TO_SECURITY_REASONS" },
      invocationHttpParameters: {
        headerParameters: [
          { key: "x-team", value: "HIDDEN_DUE_TO_SECURITY_REASONS", isValueSecret: false },
          { key: "x-signature", value: "HIDDEN_DUE_TO_SECURITY_REASONS", isValueSecret: true },
        ],
      },
    });
    assert.equal((apiKey?.["responseElements"] as { connectionArn?: string }).connectionArn, connectionArn);
    const rotated = byName("UpdateConnection").find((record) => record["errorCode"] === undefined);
    assert.deepEqual((rotated?.["requestParameters"] as { authParameters?: unknown }).authParameters, {
      apiKeyAuthParameters: { apiKeyName: "x-api-key", apiKeyValue: "HIDDEN_DUE_TO_SECURITY_REASONS" },
    });
    const basic = byName("CreateConnection").find(
      (record) => (record["requestParameters"] as { name?: string })["name"] === "basic",
    );
    if (hasBoto3) {
      const parameters = basic?.["requestParameters"] as { authParameters: { basicAuthParameters: unknown } };
      assert.deepEqual(parameters.authParameters.basicAuthParameters, {
        username: "cairn",
        password: "HIDDEN_DUE_TO_SECURITY_REASONS",
      });
    }
    for (const name of ["DescribeRule", "ListRules", "ListTargetsByRule", "DescribeConnection", "ListConnections"]) {
      assert.ok(byName(name).length > 0 && byName(name).every((record) => record["readOnly"] === true), name);
    }
    for (const name of ["PutRule", "PutTargets", "RemoveTargets", "DeleteRule", "CreateApiDestination", "EnableRule"]) {
      assert.ok(byName(name).length > 0 && byName(name).every((record) => record["readOnly"] === false), name);
    }
    const putRule = byName("PutRule").find((record) => record["errorCode"] === undefined);
    assert.match(
      String((putRule?.["responseElements"] as { ruleArn?: string }).ruleArn),
      /^arn:aws:events:us-east-1:\d{12}:rule\//,
    );
    const denied = byName("PutRule").find((record) => record["errorCode"] === "AccessDenied");
    assert.equal((denied?.["userIdentity"] as { userName?: string }).userName, "eb-reader");
    for (const secret of SECRETS) {
      assert.ok(!answers.some((answer) => answer.includes(secret)), "a secret is in an answer");
    }
  });

  it(
    "no file of the data directory holds a connection secret",
    { skip: embeddedOnly("the data directory's files") },
    () => {
      for (const secret of SECRETS) {
        const files = walk(server.dataDir).filter((path) => readFileSync(path).includes(secret));
        assert.deepEqual(files, [], `${secret} is in plaintext in a file`);
      }
    },
  );
});
