import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  CloudTrailClient,
  CreateEventDataStoreCommand,
  LookupEventsCommand,
  StartQueryCommand,
} from "@aws-sdk/client-cloudtrail";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { removeDataDir, startServerProcess, TEST_ACCOUNT_ID, type ServerProcess } from "../helpers/server-process.js";
import { addPrincipal } from "../helpers/principals.js";
import { pollUntil } from "../helpers/poll.js";
import { admin, lakeClient, queryAll, refuses } from "../lake/lake-client.js";
import { savedQueryClient, type SavedQueryClient } from "../lake/saved-query-client.js";

const READ_ONLY = "arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess";

/** Expects the v2 SDK call to fail with the modelled code and HTTP status. */
async function refusedWith(call: Promise<unknown>, code: string, status = 400): Promise<void> {
  await assert.rejects(call, (error: Error & { code?: string; statusCode?: number }) => {
    assert.equal(error.code, code, error.message);
    assert.equal(error.statusCode, status, error.message);
    return true;
  });
}

describe("saved Lake queries (Cairn's PutSavedQuery, ListSavedQueries, DeleteSavedQuery) through the AWS SDK", () => {
  let server: ServerProcess;
  let mine: SavedQueryClient;

  before(async () => {
    server = await startServerProcess();
    mine = savedQueryClient(server.url, admin);
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("saves, replaces, pages and deletes a user's queries, keeping the creation time", async () => {
    const first = await mine.put({ Name: "root logins", QueryStatement: "SELECT 1 FROM x", Description: "d" });
    assert.equal(first.Name, "root logins");
    assert.ok(first.CreationTime instanceof Date);
    const replaced = await mine.put({ Name: "root logins", QueryStatement: "SELECT 2 FROM x" });
    assert.equal(replaced.QueryStatement, "SELECT 2 FROM x");
    assert.equal(replaced.Description, undefined);
    assert.equal(replaced.CreationTime.getTime(), first.CreationTime.getTime());
    for (const name of ["b", "a", "c"]) await mine.put({ Name: name, QueryStatement: `SELECT '${name}' FROM x` });
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await mine.list({ MaxResults: 2, ...(token ? { NextToken: token } : {}) });
      names.push(...page.SavedQueries.map((q) => q.Name));
      token = page.NextToken;
      pages++;
    } while (token);
    assert.deepEqual([names, pages], [["a", "b", "c", "root logins"], 2]);
    await mine.delete({ Name: "b" });
    await refusedWith(mine.delete({ Name: "b" }), "ResourceNotFoundException");
    assert.deepEqual(
      (await mine.list()).SavedQueries.map((q) => q.Name),
      ["a", "c", "root logins"],
    );
  });

  it("answers bad input with AWS-shaped errors", async () => {
    await refusedWith(mine.put({ Name: "  ", QueryStatement: "SELECT 1" }), "InvalidParameterException");
    await refusedWith(mine.put({ Name: "x".repeat(129), QueryStatement: "SELECT 1" }), "InvalidParameterException");
    await refusedWith(mine.put({ Name: "tab\there", QueryStatement: "SELECT 1" }), "InvalidParameterException");
    await refusedWith(mine.put({ Name: "long", QueryStatement: "x".repeat(10_001) }), "InvalidParameterException");
    await refusedWith(mine.put({ Name: "nul", QueryStatement: "SELECT '\u0000'" }), "InvalidParameterException");
    await refusedWith(mine.list({ MaxResults: 0 }), "InvalidMaxResultsException");
    await refusedWith(mine.list({ MaxResults: 101 }), "InvalidMaxResultsException");
    await refusedWith(mine.list({ NextToken: "not a token!" }), "InvalidNextTokenException");
    await refusedWith(mine.delete({ Name: "" }), "InvalidParameterException");
    const raw = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": "CloudTrail_20131101.PutSavedQuery" },
      body: "{}",
    });
    assert.equal(raw.status, 403);
    assert.equal(((await raw.json()) as { __type?: string }).__type, "MissingAuthenticationTokenException");
  });

  it("keeps one user's queries from another user, and from another account", async () => {
    await mine.put({ Name: "shared-name", QueryStatement: "SELECT 'root' FROM x" });
    const carol = savedQueryClient(
      server.url,
      await addPrincipal(server.dataDir, { name: "carol", accountId: TEST_ACCOUNT_ID }),
    );
    const eve = savedQueryClient(
      server.url,
      await addPrincipal(server.dataDir, { name: "eve", accountId: "999988887777" }),
    );
    assert.deepEqual((await carol.list()).SavedQueries, []);
    assert.deepEqual((await eve.list()).SavedQueries, []);
    await carol.put({ Name: "shared-name", QueryStatement: "SELECT 'carol' FROM x" });
    await eve.put({ Name: "shared-name", QueryStatement: "SELECT 'eve' FROM x" });
    await refusedWith(eve.delete({ Name: "root logins" }), "ResourceNotFoundException");
    const statementOf = async (client: SavedQueryClient) =>
      (await client.list()).SavedQueries.find((q) => q.Name === "shared-name")?.QueryStatement;
    assert.equal(await statementOf(mine), "SELECT 'root' FROM x");
    assert.equal(await statementOf(carol), "SELECT 'carol' FROM x");
    assert.equal(await statementOf(eve), "SELECT 'eve' FROM x");
    assert.deepEqual(
      (await carol.list()).SavedQueries.map((q) => q.Name),
      ["shared-name"],
    );
  });

  it("authorises each call as its own cloudtrail: action, and records it", async () => {
    const reader = savedQueryClient(
      server.url,
      await addPrincipal(server.dataDir, { name: "reader", accountId: TEST_ACCOUNT_ID, policyArns: [READ_ONLY] }),
    );
    assert.deepEqual((await reader.list()).SavedQueries, []);
    await refusedWith(reader.put({ Name: "q", QueryStatement: "SELECT 1 FROM x" }), "AccessDeniedException", 403);
    await refusedWith(reader.delete({ Name: "q" }), "AccessDeniedException", 403);
    const nobody = savedQueryClient(
      server.url,
      await addPrincipal(server.dataDir, { name: "nobody", accountId: TEST_ACCOUNT_ID, policyArns: [] }),
    );
    await refusedWith(nobody.list(), "AccessDeniedException", 403);

    const lookup = new CloudTrailClient({ endpoint: server.url, region: "us-east-1", credentials: admin });
    try {
      const recorded = await pollUntil(
        async () => {
          const found = await lookup.send(
            new LookupEventsCommand({
              LookupAttributes: [{ AttributeKey: "EventName", AttributeValue: "PutSavedQuery" }],
              StartTime: new Date(Date.now() - 3_600_000),
              EndTime: new Date(Date.now() + 60_000),
            }),
          );
          const events = (found.Events ?? []).map((e) => JSON.parse(e.CloudTrailEvent!) as Record<string, unknown>);
          return events.some((e) => e["errorCode"] === "AccessDenied") ? events : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 100, message: "PutSavedQuery calls in Event history" },
      );
      const denied = recorded.find((e) => e["errorCode"] === "AccessDenied")!;
      assert.equal((denied["userIdentity"] as { userName?: string }).userName, "reader");
      assert.equal(denied["eventSource"], "cloudtrail.amazonaws.com");
      const saved = recorded.filter((e) => e["errorCode"] === undefined);
      assert.ok(saved.some((e) => JSON.stringify(e["requestParameters"]).includes('"root logins"')));
      assert.ok(saved.every((e) => e["readOnly"] === false));
    } finally {
      lookup.destroy();
    }
  });

  it("authorises StartQuery on every store the statement reads, named by id or by Name", async () => {
    const ct = lakeClient(server.url);
    const storeArn = async (name: string) =>
      (await ct.send(new CreateEventDataStoreCommand({ Name: name, TerminationProtectionEnabled: false })))
        .EventDataStoreArn!;
    const allowed = await storeArn("allowed-store");
    const other = await storeArn("other-store");
    const iam = new IAMClient({ endpoint: server.url, region: "us-east-1", credentials: admin, maxAttempts: 1 });
    await iam.send(new CreateUserCommand({ UserName: "scoped" }));
    const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "scoped" }))).AccessKey!;
    const scopedKeys = { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
    await iam.send(
      new PutUserPolicyCommand({
        UserName: "scoped",
        PolicyName: "one-store",
        PolicyDocument: JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            { Effect: "Allow", Action: "cloudtrail:StartQuery", Resource: allowed },
            { Effect: "Allow", Action: ["cloudtrail:DescribeQuery", "cloudtrail:GetQueryResults"], Resource: "*" },
          ],
        }),
      }),
    );
    iam.destroy();
    const scoped = lakeClient(server.url, "us-east-1", scopedKeys);
    try {
      const byName = await queryAll(scoped, "SELECT count(*) AS n FROM allowed-store");
      assert.equal(byName.status, "FINISHED");
      await refuses(
        scoped.send(new StartQueryCommand({ QueryStatement: "SELECT * FROM other-store" })),
        "AccessDeniedException",
      );
      await refuses(
        scoped.send(
          new StartQueryCommand({ QueryStatement: `SELECT * FROM allowed-store JOIN "other-store" ON true` }),
        ),
        "AccessDeniedException",
      );
      await refuses(
        scoped.send(
          new StartQueryCommand({
            QueryStatement: `SELECT * FROM ${allowed.split("/")[1]} UNION ALL SELECT * FROM ${other.split("/")[1]}`,
          }),
        ),
        "AccessDeniedException",
      );
      // Another account's store of the same name is not the caller's: it names nothing here.
      const eve = lakeClient(
        server.url,
        "us-east-1",
        await addPrincipal(server.dataDir, { name: "eve2", accountId: "999988887777" }),
      );
      await refuses(
        eve.send(new StartQueryCommand({ QueryStatement: "SELECT * FROM allowed-store" })),
        "InvalidQueryStatementException",
      );
      eve.destroy();
      assert.equal(TEST_ACCOUNT_ID, allowed.split(":")[4]);
    } finally {
      scoped.destroy();
      ct.destroy();
    }
  });
});
