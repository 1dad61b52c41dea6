import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  CLI,
  removeDataDir,
  startServerProcess,
  TEST_ACCOUNT_ID,
  type ServerProcess,
} from "../helpers/server-process.js";
import { cloudTrailCall, sendRaw } from "../helpers/signed-request.js";

const execFileAsync = promisify(execFile);

async function cairn(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [CLI, ...args], {
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp" },
  });
  return stdout;
}

describe("cairn principal add and show as clients of the IAM-shaped API", () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServerProcess();
  });
  after(async () => {
    await server?.stop();
    if (server) removeDataDir(server.dataDir);
  });

  it("makes the user, its key and its policies through the API, each call recorded; offline it writes the data dir", async () => {
    const readOnly = "arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess";
    const added = JSON.parse(
      await cairn([
        "principal",
        "add",
        "--name",
        "ursula",
        "--account-id",
        TEST_ACCOUNT_ID,
        "--policy-arn",
        readOnly,
        "--data-dir",
        server.dataDir,
        "--json",
      ]),
    ) as { accessKeyId: string; secretAccessKey: string; principalId: string };
    assert.match(added.principalId, /^AIDA/);
    const lookup = await sendRaw(server.url, cloudTrailCall("LookupEvents", { MaxResults: 50 }, added));
    assert.equal(lookup.status, 200, lookup.text);
    const names = (lookup.json()["Events"] as Array<{ EventName: string; Username?: string }>).map((e) => e.EventName);
    for (const name of ["CreateUser", "CreateAccessKey", "AttachUserPolicy"]) assert.ok(names.includes(name), name);

    const shown = JSON.parse(
      await cairn(["principal", "show", "--name", "ursula", "--data-dir", server.dataDir, "--json"]),
    ) as Record<string, unknown>;
    assert.deepEqual(shown["accessKeyIds"], [added.accessKeyId]);
    assert.deepEqual(shown["attachedPolicies"], [readOnly]);

    await server.stop();
    const offline = JSON.parse(
      await cairn([
        "principal",
        "add",
        "--name",
        "victor",
        "--account-id",
        TEST_ACCOUNT_ID,
        "--data-dir",
        server.dataDir,
        "--json",
      ]),
    ) as { accessKeyId: string; secretAccessKey: string };
    server = await startServerProcess({ dataDir: server.dataDir });
    // Written to the data dir while no server ran: the key works, and no policy was given, so it is refused.
    const refused = await sendRaw(server.url, cloudTrailCall("LookupEvents", {}, offline));
    assert.equal(refused.status, 403);
    assert.equal(refused.json()["__type"], "AccessDeniedException");
  });
});
