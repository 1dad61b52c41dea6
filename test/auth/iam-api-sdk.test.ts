import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreateUserCommand,
  DeleteAccessKeyCommand,
  DeleteUserCommand,
  DeleteUserPolicyCommand,
  DetachUserPolicyCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListUsersCommand,
  PutUserPolicyCommand,
} from "@aws-sdk/client-iam";
import {
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { sendRaw } from "../helpers/signed-request.js";
import { addPrincipal } from "../helpers/principals.js";

const READ_ONLY = "arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess";
const POLICY = JSON.stringify({
  Version: "2012-10-17",
  Statement: [{ Effect: "Deny", Action: "cloudtrail:StopLogging", Resource: "*" }],
});

async function refuses(promise: Promise<unknown>, name: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.equal(error.name, name, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}

describe("the IAM-shaped API through @aws-sdk/client-iam", () => {
  let server: ServerProcess;
  let iam: IAMClient;
  const clientFor = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
    new IAMClient({ endpoint: server.url, region: "us-east-1", credentials, maxAttempts: 1 });

  before(async () => {
    server = await startServerProcess();
    iam = clientFor({ accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY });
  });
  after(async () => {
    iam?.destroy();
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("manages a user's life: keys, inline and managed policies, in IAM's order of deletion", async () => {
    const created = await iam.send(new CreateUserCommand({ UserName: "dana", Path: "/team/" }));
    assert.equal(created.User?.Arn, `arn:aws:iam::${TEST_ACCOUNT_ID}:user/team/dana`);
    assert.match(created.User?.UserId ?? "", /^AIDA[A-Z2-7]{17}$/);
    await refuses(iam.send(new CreateUserCommand({ UserName: "DANA" })), "EntityAlreadyExistsException");
    const first = await iam.send(new CreateAccessKeyCommand({ UserName: "dana" }));
    await iam.send(new CreateAccessKeyCommand({ UserName: "dana" }));
    await refuses(
      iam.send(new CreateAccessKeyCommand({ UserName: "dana" })),
      "LimitExceededException",
      /AccessKeysPerUser: 2/,
    );
    await iam.send(new PutUserPolicyCommand({ UserName: "dana", PolicyName: "no-stop", PolicyDocument: POLICY }));
    const got = await iam.send(new GetUserPolicyCommand({ UserName: "dana", PolicyName: "no-stop" }));
    assert.deepEqual(JSON.parse(decodeURIComponent(got.PolicyDocument!)), JSON.parse(POLICY));
    await iam.send(new AttachUserPolicyCommand({ UserName: "dana", PolicyArn: READ_ONLY }));
    await refuses(
      iam.send(new AttachUserPolicyCommand({ UserName: "dana", PolicyArn: "arn:aws:iam::aws:policy/NoSuchPolicy" })),
      "NoSuchEntityException",
    );
    await refuses(iam.send(new DeleteUserCommand({ UserName: "dana" })), "DeleteConflictException", /access keys/);
    for (const key of (await iam.send(new ListAccessKeysCommand({ UserName: "dana" }))).AccessKeyMetadata ?? []) {
      await iam.send(new DeleteAccessKeyCommand({ UserName: "dana", AccessKeyId: key.AccessKeyId }));
    }
    await refuses(iam.send(new DeleteUserCommand({ UserName: "dana" })), "DeleteConflictException", /policies/);
    await iam.send(new DeleteUserPolicyCommand({ UserName: "dana", PolicyName: "no-stop" }));
    await iam.send(new DetachUserPolicyCommand({ UserName: "dana", PolicyArn: READ_ONLY }));
    await iam.send(new DeleteUserCommand({ UserName: "dana" }));
    await refuses(
      iam.send(new DeleteAccessKeyCommand({ UserName: "dana", AccessKeyId: first.AccessKey!.AccessKeyId })),
      "NoSuchEntityException",
    );
  });

  it("pages ListUsers with MaxItems and Marker", async () => {
    for (const name of ["page-a", "page-b", "page-c"]) await iam.send(new CreateUserCommand({ UserName: name }));
    const seen: string[] = [];
    let marker: string | undefined;
    do {
      const page = await iam.send(
        new ListUsersCommand({ MaxItems: 2, PathPrefix: "/", ...(marker ? { Marker: marker } : {}) }),
      );
      seen.push(...(page.Users ?? []).map((user) => user.UserName!));
      marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker !== undefined);
    assert.deepEqual(
      seen.filter((name) => name.startsWith("page-")),
      ["page-a", "page-b", "page-c"],
    );
  });

  it("keeps each account's users its own; only the bootstrap admin may name another account", async () => {
    const otherRoot = await addPrincipal(server.dataDir, {
      name: "other-root",
      type: "Root",
      accountId: "444455556666",
    });
    const other = clientFor(otherRoot);
    try {
      await other.send(new CreateUserCommand({ UserName: "eve" }));
      const users = (await iam.send(new ListUsersCommand({}))).Users ?? [];
      assert.ok(!users.some((user) => user.UserName === "eve"));
      await refuses(iam.send(new DeleteUserCommand({ UserName: "eve" })), "NoSuchEntityException");
      const operator = await sendRaw(server.url, {
        accessKeyId: TEST_ACCESS_KEY_ID,
        secretAccessKey: TEST_SECRET_ACCESS_KEY,
        service: "iam",
        headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
        body: "Action=ListUsers&Version=2010-05-08&AccountId=444455556666",
      });
      assert.equal(operator.status, 200, operator.text);
      assert.match(operator.text, /<UserName>eve<\/UserName>/);
      const intruder = await sendRaw(server.url, {
        ...otherRoot,
        service: "iam",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `Action=ListUsers&Version=2010-05-08&AccountId=${TEST_ACCOUNT_ID}`,
      });
      assert.equal(intruder.status, 400);
      assert.match(intruder.text, /<Code>InvalidInput<\/Code>/);
    } finally {
      other.destroy();
    }
  });

  it("answers malformed policies and unknown actions with IAM's XML errors", async () => {
    await iam.send(new CreateUserCommand({ UserName: "frank" }));
    await refuses(
      iam.send(new PutUserPolicyCommand({ UserName: "frank", PolicyName: "bad", PolicyDocument: "{not json" })),
      "MalformedPolicyDocumentException",
    );
    const unknown = await sendRaw(server.url, {
      accessKeyId: TEST_ACCESS_KEY_ID,
      secretAccessKey: TEST_SECRET_ACCESS_KEY,
      service: "iam",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "Action=CreateRole&Version=2010-05-08&RoleName=x",
    });
    assert.equal(unknown.status, 400);
    assert.match(
      unknown.text,
      /^<ErrorResponse xmlns="https:\/\/iam\.amazonaws\.com\/doc\/2010-05-08\/"><Error><Type>Sender<\/Type><Code>ValidationError<\/Code>/,
    );
  });
});
