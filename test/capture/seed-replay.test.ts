import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { awsCliMissingReason } from "../helpers/aws-cli.js";
import { shapeDifferences } from "../helpers/record-shape.js";
import { seedExample, seedExampleFiles, seedExamplesMissingReason, type RawRecord } from "../helpers/sample-records.js";
import { TEST_ACCESS_KEY_ID, TEST_ACCOUNT_ID, TEST_SECRET_ACCESS_KEY } from "../helpers/server-process.js";
import { motoMissingReason } from "../storage/moto-server.js";
import { addPrincipal } from "../helpers/principals.js";
import { awsViaProxy, recordsNamed, startProxyStack, type ProxyStack } from "./proxy-process.js";

/**
 * Issue #12 item 5: the AWS CLI call behind each seed example (../shared/data/seed-examples/README.md),
 * replayed through `cairn proxy` in front of moto, gives a record written as CloudTrail wrote the
 * example: the same member names and JSON types in requestParameters, the same placeholders and
 * timestamp forms in responseElements (whose other members depend on the upstream: moto answers
 * with fewer), the same readOnly, category and resources, and the caller's identity type.
 */
const skip = awsCliMissingReason() || motoMissingReason() || seedExamplesMissingReason();

type Keys = { accessKeyId: string; secretAccessKey: string };
type Cli = (args: string[]) => Promise<string>;

interface Replay {
  readonly example: string;
  readonly region: string;
  readonly caller: "IAMUser" | "Root" | "AssumedRole";
  /** The seed's own call, after whatever it needs to exist upstream. */
  readonly run: (cli: Cli) => Promise<void>;
}

/** The example's key is shorter than the model's 80-character minimum, which the CLI enforces. */
const SSH_PUBLIC_KEY = `ssh-rsa ${"A".repeat(96)} seed@example`;

const REPLAYS: readonly Replay[] = [
  {
    example: "elasticache-CreateCacheCluster.json",
    region: "us-west-2",
    caller: "IAMUser",
    run: async (cli) => {
      await cli([
        "elasticache",
        "create-cache-cluster",
        "--cache-cluster-id",
        "test-memcached",
        "--engine",
        "memcached",
        "--num-cache-nodes",
        "2",
        "--cache-node-type",
        "cache.m1.small",
        "--az-mode",
        "cross-az",
      ]);
    },
  },
  {
    example: "elasticache-DescribeCacheClusters.json",
    region: "us-west-2",
    caller: "IAMUser",
    run: async (cli) => {
      await cli(["elasticache", "describe-cache-clusters", "--no-show-cache-node-info", "--max-records", "100"]);
    },
  },
  {
    example: "ec2-ebs-SendSSHPublicKey.json",
    region: "us-west-2",
    caller: "IAMUser",
    run: async (cli) => {
      await cli([
        "ec2-instance-connect",
        "send-ssh-public-key",
        "--instance-id",
        "i-0123456789abcdef0",
        "--instance-os-user",
        "ec2-user",
        "--ssh-public-key",
        SSH_PUBLIC_KEY,
      ]);
    },
  },
  {
    example: "ec2-ebs-TerminateInstances.json",
    region: "us-west-2",
    caller: "Root",
    run: async (cli) => {
      const started = JSON.parse(
        await cli([
          "ec2",
          "run-instances",
          "--image-id",
          "ami-12c6146b",
          "--count",
          "1",
          "--instance-type",
          "t2.micro",
        ]),
      ) as { Instances: Array<{ InstanceId: string }> };
      await cli(["ec2", "terminate-instances", "--instance-ids", started.Instances[0]!.InstanceId]);
    },
  },
  {
    example: "aurora-CreateDBInstance.json",
    region: "us-east-1",
    caller: "IAMUser",
    run: async (cli) => {
      await cli([
        "rds",
        "create-db-instance",
        "--db-instance-identifier",
        "test-instance",
        "--engine",
        "mysql",
        "--master-username",
        "myawsuser",
        "--master-user-password",
        "Seed-Replay-Secret-1",
        "--allocated-storage",
        "20",
        "--db-instance-class",
        "db.m1.small",
        "--enable-cloudwatch-logs-exports",
        "audit",
        "error",
        "general",
        "slowquery",
      ]);
    },
  },
  {
    example: "systems-manager-DeleteDocument.json",
    region: "us-east-2",
    caller: "AssumedRole",
    run: async (cli) => {
      const content = JSON.stringify({
        schemaVersion: "2.2",
        description: "seed",
        mainSteps: [{ action: "aws:runShellScript", name: "run", inputs: { runCommand: ["true"] } }],
      });
      await cli([
        "ssm",
        "create-document",
        "--name",
        "example-Document",
        "--content",
        content,
        "--document-type",
        "Command",
      ]);
      await cli(["ssm", "delete-document", "--name", "example-Document"]);
    },
  },
];

/**
 * The examples not replayed here, and why; test/capture/timestamp-members.test.ts and
 * test/capture/proxy-unmodelled.test.ts check what they show.
 */
const NOT_REPLAYED: Readonly<Record<string, string>> = {
  "elasticache-ModifyCacheCluster.json": "moto answers ModifyCacheCluster with an HTML 500 (not implemented)",
  "systems-manager-StartConnection.json": "no AWS CLI command (Fleet Manager through the console)",
  "systems-manager-CreateControlChannel.json":
    "no AWS CLI command; the SSM agent's call, sent signed by proxy-unmodelled",
  "systems-manager-RequestManagedInstanceRoleToken.json": "no AWS CLI command; sent signed by proxy-unmodelled",
};

describe("the seed examples' calls, replayed through cairn proxy in front of moto", { skip }, () => {
  let stack: ProxyStack | undefined;
  const callers = new Map<string, Keys>();

  before(async () => {
    stack = await startProxyStack();
    callers.set("IAMUser", stack.keys);
    const role = { name: "seed-role", type: "AssumedRole", accountId: TEST_ACCOUNT_ID };
    callers.set("AssumedRole", await addPrincipal(stack.server.dataDir, role));
    // The server's bootstrap admin is its account's root.
    callers.set("Root", { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY });
  });

  after(async () => {
    await stack?.stop();
  });

  it("every seed example is replayed or says why not", () => {
    const covered = [...REPLAYS.map((replay) => replay.example), ...Object.keys(NOT_REPLAYED)].sort();
    assert.deepEqual(covered, seedExampleFiles());
  });

  for (const replay of REPLAYS) {
    it(`${replay.example}: written as CloudTrail wrote the example`, async () => {
      const example = seedExample(replay.example);
      const keys = callers.get(replay.caller)!;
      await replay.run(cliFor(stack!, keys, replay.region));
      const eventName = (example["eventName"] as string).trim();
      const [record] = await recordsNamed(stack!.server, example["eventSource"] as string, eventName);
      assert.deepEqual(recordDifferences(example, record!, replay.region), [], JSON.stringify(record, null, 1));
    });
  }
});

function cliFor(stack: ProxyStack, keys: Keys, region: string): Cli {
  return (args) => awsViaProxy(stack, args, { keys, region });
}

/** Everything in `record` CloudTrail would have written otherwise than it wrote `example`. */
function recordDifferences(example: RawRecord, record: RawRecord, region: string): string[] {
  const out: string[] = [];
  for (const key of Object.keys(example)) if (!Object.hasOwn(record, key)) out.push(`${key}: missing`);
  const identity = (r: RawRecord): unknown => (r["userIdentity"] as RawRecord | undefined)?.["type"];
  if (identity(record) !== identity(example)) out.push(`userIdentity.type: ${String(identity(record))}`);
  for (const key of ["readOnly", "eventCategory", "managementEvent", "eventType"]) {
    if (Object.hasOwn(example, key) && record[key] !== example[key]) out.push(`${key}: ${String(record[key])}`);
  }
  out.push(
    ...shapeDifferences(
      example["requestParameters"],
      record["requestParameters"],
      {
        allowMissing: false,
        allowExtra: false,
      },
      "requestParameters",
    ),
    ...shapeDifferences(
      example["responseElements"],
      record["responseElements"],
      {
        allowMissing: true,
        allowExtra: true,
      },
      "responseElements",
    ),
    ...resourceDifferences(example, record, region),
  );
  return out;
}

/** resources: present exactly when the example has them, of the same types and ARN forms. */
function resourceDifferences(example: RawRecord, record: RawRecord, region: string): string[] {
  const form = (r: RawRecord, account: string, at: string): string[] =>
    ((r["resources"] ?? []) as RawRecord[]).map((resource) => {
      const arn = String(resource["ARN"] ?? "")
        .replaceAll(account, "<account>")
        .replaceAll(at, "<region>");
      return `${String(resource["type"])} ${arn.replace(/[^/:]+$/, "<id>")} ${Object.keys(resource).sort().join(",")}`;
    });
  const expected = form(example, example["recipientAccountId"] as string, example["awsRegion"] as string);
  const actual = form(record, TEST_ACCOUNT_ID, region);
  return JSON.stringify(expected) === JSON.stringify(actual) ? [] : [`resources: ${JSON.stringify(actual)}`];
}
