import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import {
  CreateEventDataStoreCommand,
  GetImportCommand,
  ListImportFailuresCommand,
  ListImportsCommand,
  StartImportCommand,
  type CloudTrailClient,
  type GetImportCommandOutput,
} from "@aws-sdk/client-cloudtrail";
import { parseTrailBytes } from "../../src/control-plane/lake/import/import-rows.js";
import { allowImportsFrom } from "../helpers/import-dirs.js";
import { pollUntil } from "../helpers/poll.js";
import { removeDataDir, startServerProcess, type ServerProcess } from "../helpers/server-process.js";
import { syntheticArchive } from "../helpers/synthetic-records.js";
import { lakeClient, queryAll } from "./lake-client.js";

/**
 * file:// import sources against real servers: refused unless the operator lists a directory in
 * CAIRN_IMPORT_ALLOWED_DIRS; `..`, `%2e%2e` and symbolic links cannot lead outside it; no answer or
 * failure names a server path the caller did not send itself.
 */

/** A trail log file of `count` records with fresh eventIDs; returns the ids. */
function writeTrailFile(path: string, count: number): Set<string> {
  const records = syntheticArchive(count).map((record) => ({ ...record, eventID: randomUUID() }));
  writeFileSync(path, gzipSync(JSON.stringify({ Records: records })));
  return new Set(records.map((record) => record.eventID));
}

function source(uri: string) {
  return { S3: { S3LocationUri: uri, S3BucketRegion: "us-east-1", S3BucketAccessRoleArn: "" } };
}

async function createStore(client: CloudTrailClient, name: string): Promise<string> {
  const created = await client.send(
    new CreateEventDataStoreCommand({ Name: name, TerminationProtectionEnabled: false, StartIngestion: false }),
  );
  return created.EventDataStoreArn!.split("/")[1]!;
}

async function importToEnd(client: CloudTrailClient, store: string, uri: string): Promise<GetImportCommandOutput> {
  const started = await client.send(new StartImportCommand({ Destinations: [store], ImportSource: source(uri) }));
  return pollUntil(
    async () => {
      const got = await client.send(new GetImportCommand({ ImportId: started.ImportId }));
      return got.ImportStatus !== "INITIALIZING" && got.ImportStatus !== "IN_PROGRESS" ? got : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100, message: `import of ${uri} to end` },
  );
}

/** Expects StartImport to fail with InvalidImportSourceException, with a message naming no server path. */
async function refusedSource(client: CloudTrailClient, store: string, uri: string, root: string): Promise<string> {
  let message = "";
  await assert.rejects(
    client.send(new StartImportCommand({ Destinations: [store], ImportSource: source(uri) })),
    (error: Error) => {
      assert.equal(error.name, "InvalidImportSourceException", `${uri}: ${error.message}`);
      assert.ok(!error.message.includes(root), `${uri}: the refusal names a server path: ${error.message}`);
      message = error.message;
      return true;
    },
  );
  return message;
}

describe("file:// import sources", () => {
  const root = mkdtempSync(join(tmpdir(), "cairn-import-sources-"));
  // The operator lists a symbolic link to the real directory: answers must not reveal where it leads.
  const realAllowed = join(root, "real-archives");
  const allowed = join(root, "archives");
  const outside = join(root, "elsewhere");
  let secretIds: Set<string>;
  let goodIds: Set<string>;
  let closed: ServerProcess;
  let open: ServerProcess;
  let client: CloudTrailClient;
  let store: string;

  before(async () => {
    mkdirSync(join(realAllowed, "good"), { recursive: true });
    mkdirSync(outside);
    symlinkSync(realAllowed, allowed);
    secretIds = writeTrailFile(join(outside, "secret.json.gz"), 5);
    goodIds = writeTrailFile(join(realAllowed, "good", "a.json.gz"), 7);
    writeFileSync(join(realAllowed, "good", "broken.json.gz"), gzipSync('{"Records": [{"eventVersion": '));
    // Links placed inside the allowed directory, leading out of it: never followed.
    symlinkSync(join(outside, "secret.json.gz"), join(realAllowed, "good", "linked.json.gz"));
    symlinkSync(outside, join(realAllowed, "good", "linked-dir"));
    symlinkSync(outside, join(realAllowed, "escape"));
    closed = await startServerProcess();
    open = await startServerProcess({ env: allowImportsFrom(allowed) });
    client = lakeClient(open.url);
    store = await createStore(client, "file-sources");
  });

  after(async () => {
    client?.destroy();
    for (const server of [closed, open]) {
      await server?.stop();
      if (server) removeDataDir(server.dataDir);
    }
    rmSync(root, { recursive: true, force: true });
  });

  it("are refused by a server whose operator allowed no directory", async () => {
    const refusing = lakeClient(closed.url);
    try {
      const target = await createStore(refusing, "nothing-allowed");
      const message = await refusedSource(refusing, target, pathToFileURL(join(allowed, "good")).href, root);
      assert.match(message, /CAIRN_IMPORT_ALLOWED_DIRS/);
      assert.deepEqual((await refusing.send(new ListImportsCommand({}))).Imports, []);
    } finally {
      refusing.destroy();
    }
  });

  it("are refused outside the allowed directories, however the path gets there, all with one message", async () => {
    const attempts = [
      pathToFileURL(outside).href,
      `file://${allowed}/../elsewhere`,
      `file://${allowed}/%2e%2e/elsewhere`,
      `file://${allowed}/escape`,
      `file://${allowed}/good/linked-dir`,
      `file://${allowed}/no-such-directory`,
      pathToFileURL(join(allowed, "good", "a.json.gz")).href,
      "file:///",
      "file:///etc",
    ];
    const messages = new Set<string>();
    for (const uri of attempts) messages.add(await refusedSource(client, store, uri, root));
    assert.equal(messages.size, 1, `one message for every refusal: ${[...messages].join(" | ")}`);
    await refusedSource(client, store, "file://some-host/srv/archives", root);
    assert.deepEqual((await client.send(new ListImportsCommand({}))).Imports, [], "no import was started");
  });

  it("imports an allowed directory, skips the links in it, and names files by the caller's own URI", async () => {
    const uri = pathToFileURL(join(allowed, "good")).href;
    const done = await importToEnd(client, store, uri);
    assert.equal(done.ImportStatus, "COMPLETED");
    assert.equal(done.ImportStatistics?.EventsCompleted, goodIds.size, "the linked file was not read");
    assert.equal(done.ImportStatistics?.FilesCompleted, 2);
    const failures = (await client.send(new ListImportFailuresCommand({ ImportId: done.ImportId }))).Failures ?? [];
    assert.deepEqual(
      failures.map((f) => [f.Location, f.ErrorType]),
      [[`${uri}/broken.json.gz`, "malformed-json"]],
    );
    for (const failure of failures) assert.ok(!`${failure.ErrorMessage}`.includes(realAllowed), failure.ErrorMessage);
    const stored = await queryAll(client, `SELECT eventID FROM ${store}`);
    assert.equal(stored.status, "FINISHED", stored.error);
    const ids = new Set(stored.rows.map((row) => row[0]!["eventID"]));
    assert.deepEqual(ids, goodIds);
    for (const id of secretIds) assert.ok(!ids.has(id), "nothing from outside the allowed directory");
  });
});

describe("an import worker reading a file", () => {
  it("does not follow a symbolic link, and its message names no path", () => {
    const root = mkdtempSync(join(tmpdir(), "cairn-import-read-"));
    try {
      writeTrailFile(join(root, "target.json.gz"), 1);
      symlinkSync(join(root, "target.json.gz"), join(root, "link.json.gz"));
      const linked = parseTrailBytes(undefined, join(root, "link.json.gz"));
      assert.deepEqual(linked, { ok: false, problem: "unreadable", message: "The file cannot be read (ELOOP)." });
      const missing = parseTrailBytes(undefined, join(root, "gone.json.gz"));
      assert.deepEqual(missing, { ok: false, problem: "unreadable", message: "The file cannot be read (ENOENT)." });
      assert.equal(parseTrailBytes(undefined, join(root, "target.json.gz")).ok, true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
