import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import {
  CloudTrailClient,
  CreateEventDataStoreCommand,
  CreateTrailCommand,
  ListPublicKeysCommand,
  LookupEventsCommand,
  StartLoggingCommand,
  StartQueryCommand,
  GetQueryResultsCommand,
} from "@aws-sdk/client-cloudtrail";
import { masterKeyOf } from "../../src/lib/secret-envelope.js";
import { fingerprintOf } from "../../src/stores/signing-keys/signing-keys.js";
import { generateKeyPairSync } from "node:crypto";
import { pollUntil } from "../helpers/poll.js";
import { addPrincipal } from "../helpers/principals.js";
import { recentRecords } from "../helpers/sample-records.js";
import { ingestCall, sendRaw } from "../helpers/signed-request.js";
import {
  CLI,
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_ACCESS_KEY_ID,
  TEST_ACCOUNT_ID,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";

const execFileAsync = promisify(execFile);
const admin = { accessKeyId: TEST_ACCESS_KEY_ID, secretAccessKey: TEST_SECRET_ACCESS_KEY };
const BUCKET = "sealed-audit";
const DIGEST_PREFIX = `AWSLogs/${TEST_ACCOUNT_ID}/CloudTrail-Digest/`;
const FAST_TRAILS = { CAIRN_DELIVERY_INTERVAL_SECONDS: "1", CAIRN_DIGEST_INTERVAL_SECONDS: "1" };

interface Entry {
  readonly path: string;
  readonly mode: number;
  readonly directory: boolean;
}

/** Every file and directory under `root` (symbolic links included as themselves). */
function walk(root: string): Entry[] {
  const out: Entry[] = [];
  const visit = (path: string): void => {
    const stats = lstatSync(path);
    out.push({ path, mode: stats.mode & 0o7777, directory: stats.isDirectory() });
    if (stats.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(root);
  return out;
}

function assertPrivateModes(root: string): void {
  const loose = walk(root).filter((e) => e.mode !== (e.directory ? 0o700 : 0o600));
  assert.deepEqual(
    loose.map((e) => `${e.path} ${e.mode.toString(8)}`),
    [],
    "every file is 0600 and every directory 0700",
  );
}

/** The files under `root` whose bytes contain `needle`. */
function filesContaining(root: string, needle: string): string[] {
  return walk(root)
    .filter((e) => !e.directory && readFileSync(e.path).includes(needle))
    .map((e) => e.path);
}

/** The private key PEMs of the data directory's signing keys, opened with its master key. */
function privateKeyPems(dataDir: string, masterKeyBase64: string): string[] {
  const key = masterKeyOf(Buffer.from(masterKeyBase64, "base64"));
  const keysDir = join(dataDir, "keys");
  return readdirSync(keysDir).flatMap((region) =>
    readdirSync(join(keysDir, region)).map((name) => {
      const file = JSON.parse(readFileSync(join(keysDir, region, name), "utf8")) as {
        region: string;
        fingerprint: string;
        privateKeySealed: string;
      };
      return key.open(file.privateKeySealed, `cairn signing key ${file.region} ${file.fingerprint}`);
    }),
  );
}

/** The base64 body lines of a PEM (the key material): none may appear anywhere on disk. */
function pemBodyLines(pem: string): string[] {
  return pem.split("\n").filter((line) => line.length > 0 && !line.startsWith("-----"));
}

/** `cairn server` that is expected to refuse to start: its output. */
async function failedStart(dataDir: string, env: Record<string, string>): Promise<string> {
  try {
    const server = await startServerProcess({ dataDir, env });
    await server.stop();
  } catch (error) {
    return (error as Error).message;
  }
  assert.fail("the server started");
}

async function lookupWorks(server: ServerProcess, credentials: typeof admin): Promise<void> {
  const client = new CloudTrailClient({ endpoint: server.url, region: "us-east-1", credentials, maxAttempts: 1 });
  try {
    const page = await client.send(new LookupEventsCommand({ MaxResults: 1 }));
    assert.ok(Array.isArray(page.Events));
  } finally {
    client.destroy();
  }
}

describe("secrets at rest, with real server processes", () => {
  const dataDir = makeDataDir("cairn-secrets-");
  let previousUmask: number;
  let alice: { accessKeyId: string; secretAccessKey: string };
  let pems: string[] = [];
  let masterKeyText: string;

  before(async () => {
    // The loosest umask, inherited by the server and the CLI: every mode must still come out private.
    previousUmask = process.umask(0o000);
    chmodSync(dataDir, 0o777);
    const server = await startServerProcess({ dataDir, env: FAST_TRAILS });
    const east = new CloudTrailClient({
      endpoint: server.url,
      region: "us-east-1",
      credentials: admin,
      maxAttempts: 1,
    });
    try {
      alice = await addPrincipal(dataDir, { name: "alice", accountId: TEST_ACCOUNT_ID });
      await east.send(new CreateTrailCommand({ Name: "sealed", S3BucketName: BUCKET, EnableLogFileValidation: true }));
      await east.send(new StartLoggingCommand({ Name: "sealed" }));
      const store = await east.send(new CreateEventDataStoreCommand({ Name: "sealed-lake" }));
      const ingested = await sendRaw(server.url, ingestCall(recentRecords(20, { accountId: TEST_ACCOUNT_ID }), admin));
      assert.equal(ingested.status, 200, ingested.text);
      await lookupWorks(server, alice);
      const digests = join(dataDir, "buckets", BUCKET, DIGEST_PREFIX);
      await pollUntil(() => existsSync(digests) && walk(digests).some((e) => e.path.endsWith(".json.gz")), {
        timeoutMs: 30_000,
        intervalMs: 250,
        message: "a signed digest",
      });
      const queryId = (
        await east.send(new StartQueryCommand({ QueryStatement: `SELECT count(*) FROM ${store.EventDataStoreArn}` }))
      ).QueryId;
      await pollUntil(
        async () =>
          (await east.send(new GetQueryResultsCommand({ QueryId: queryId }))).QueryStatus === "FINISHED" &&
          walk(join(dataDir, "lake")).some((e) => e.path.endsWith(".parquet")),
        { timeoutMs: 30_000, intervalMs: 250, message: "a Parquet file and a finished query" },
      );
    } finally {
      east.destroy();
      await server.stop();
    }
    masterKeyText = readFileSync(join(dataDir, "master.key"), "utf8").trim();
    pems = privateKeyPems(dataDir, masterKeyText);
  });

  after(() => {
    process.umask(previousUmask);
    removeDataDir(dataDir);
  });

  it("leaves every file 0600 and every directory 0700 under umask 000", () => {
    assertPrivateModes(dataDir);
    for (const expected of ["journal", "buckets", "lake", "trails", "keys", "principals.db", "master.key"]) {
      assert.ok(existsSync(join(dataDir, expected)), `${expected} was written`);
    }
  });

  it("keeps no secret access key and no private key in clear, except the admin's in `credentials`", () => {
    assert.ok(pems.length >= 1, "the run signed digests");
    assert.deepEqual(filesContaining(dataDir, alice.secretAccessKey), []);
    assert.deepEqual(filesContaining(dataDir, TEST_SECRET_ACCESS_KEY), [join(dataDir, "credentials")]);
    for (const line of pems.flatMap(pemBodyLines)) assert.deepEqual(filesContaining(dataDir, line), [], line);
    assert.deepEqual(filesContaining(dataDir, "PRIVATE KEY"), []);
  });

  it("restarts with its master key: the keys still sign, and a key file moved out works through CAIRN_MASTER_KEY_FILE", async () => {
    const again = await startServerProcess({ dataDir });
    try {
      assert.match(again.output(), /master key: +[0-9a-f]{16} from .*master\.key/);
      assert.ok(!again.output().includes(masterKeyText), "the banner never prints the key");
      await lookupWorks(again, alice);
    } finally {
      await again.stop();
    }
    const outside = join(makeDataDir("cairn-key-"), "cairn.key");
    renameSync(join(dataDir, "master.key"), outside);
    try {
      const fromFile = await startServerProcess({ dataDir, env: { CAIRN_MASTER_KEY_FILE: outside } });
      try {
        await lookupWorks(fromFile, alice);
        assert.ok(!fromFile.output().includes("in production set"), "no warning with the key kept elsewhere");
      } finally {
        await fromFile.stop();
      }
      const fromEnv = await startServerProcess({ dataDir, env: { CAIRN_MASTER_KEY: masterKeyText } });
      await fromEnv.stop();
    } finally {
      renameSync(outside, join(dataDir, "master.key"));
    }
  });

  it("refuses a wrong CAIRN_MASTER_KEY, naming the key ids but never the keys", async () => {
    const wrong = randomBytes(32).toString("base64");
    const output = await failedStart(dataDir, { CAIRN_MASTER_KEY: wrong });
    assert.match(
      output,
      /CAIRN_MASTER_KEY is master key [0-9a-f]{16}, but the secrets in .* are sealed with master key/,
    );
    assert.ok(!output.includes(wrong) && !output.includes(masterKeyText));
    const malformed = await failedStart(dataDir, { CAIRN_MASTER_KEY: "c2hvcnQ=" });
    assert.match(malformed, /CAIRN_MASTER_KEY: must be 32 random bytes, base64-encoded .*\(got 8 characters\)/);
    assert.ok(!malformed.includes("c2hvcnQ="));
  });

  it("refuses to start without a key once secrets are sealed, and generates none", async () => {
    const aside = join(dataDir, "..", `${randomBytes(4).toString("hex")}.key`);
    renameSync(join(dataDir, "master.key"), aside);
    try {
      const output = await failedStart(dataDir, {});
      assert.match(output, /holds secrets sealed with master key [0-9a-f]{16}, but no master key is set/);
      assert.equal(existsSync(join(dataDir, "master.key")), false, "no fresh key over sealed data");
      // `cairn principal add` resolves the key the same way, and refuses the same way.
      await assert.rejects(
        execFileAsync(process.execPath, [CLI, "principal", "add", "--name", "bob", "--data-dir", dataDir]),
        /no master key is set/,
      );
      // Listing needs identities only.
      const { stdout } = await execFileAsync(process.execPath, [CLI, "principal", "list", "--data-dir", dataDir]);
      assert.match(stdout, /alice/);
    } finally {
      renameSync(aside, join(dataDir, "master.key"));
    }
  });
});

/** principals.db and a key file exactly as the previous release wrote them: plaintext, loose modes. */
function writeLegacyDataDirectory(dataDir: string, legacyUser: typeof admin): { fingerprint: string; pem: string } {
  const db = new Database(join(dataDir, "principals.db"));
  db.exec(`CREATE TABLE principals (
    access_key_id TEXT PRIMARY KEY, secret_access_key TEXT NOT NULL, name TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('Root', 'IAMUser', 'AssumedRole')), account_id TEXT NOT NULL,
    principal_id TEXT NOT NULL, created_at_ms INTEGER NOT NULL) STRICT;
    CREATE INDEX principals_by_account ON principals (account_id, type, name);`);
  const insert = db.prepare("INSERT INTO principals VALUES (?, ?, ?, ?, ?, ?, ?)");
  insert.run(admin.accessKeyId, admin.secretAccessKey, "root", "Root", TEST_ACCOUNT_ID, TEST_ACCOUNT_ID, 1);
  insert.run(legacyUser.accessKeyId, legacyUser.secretAccessKey, "carol", "IAMUser", TEST_ACCOUNT_ID, "AIDALEGACY", 2);
  db.pragma("journal_mode = WAL");
  db.pragma("user_version = 1");
  db.close();
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const der = publicKey.export({ type: "pkcs1", format: "der" });
  const pem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const now = Date.now();
  const file = {
    region: "us-east-1",
    fingerprint: fingerprintOf(der),
    validityStartMs: now - 86_400_000,
    validityEndMs: now + 20 * 86_400_000,
    publicKeyDer: der.toString("base64"),
    privateKeyPem: pem,
  };
  mkdirSync(join(dataDir, "keys", "us-east-1"), { recursive: true, mode: 0o755 });
  writeFileSync(join(dataDir, "keys", "us-east-1", `legacy-${file.fingerprint}.json`), JSON.stringify(file), {
    mode: 0o644,
  });
  chmodSync(join(dataDir, "principals.db"), 0o644);
  chmodSync(dataDir, 0o755);
  return { fingerprint: file.fingerprint, pem };
}

describe("a data directory from the previous release, upgraded on first start", () => {
  const dataDir = makeDataDir("cairn-legacy-");
  after(() => removeDataDir(dataDir));

  it("seals its plaintext secrets, fixes modes, and its keys work once given a policy", async () => {
    const carol = { accessKeyId: "AKIALEGACYCAROL00001", secretAccessKey: "legacy/carol/secret/000000000000000000000" };
    const legacy = writeLegacyDataDirectory(dataDir, carol);
    assert.ok(filesContaining(dataDir, carol.secretAccessKey).length > 0, "the fixture is plaintext");

    const server = await startServerProcess({ dataDir });
    try {
      // Permissions came after this release: carol, like any principal, may do nothing until given a policy.
      await assert.rejects(lookupWorks(server, carol), { name: "AccessDeniedException" });
      const attached = await execFileAsync(process.execPath, [
        CLI,
        "principal",
        "attach",
        "--name",
        "carol",
        "--policy-arn",
        "arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess",
        "--data-dir",
        dataDir,
      ]);
      assert.match(attached.stdout, /Attached arn:aws:iam::aws:policy\/AWSCloudTrail_ReadOnlyAccess to carol/);
      await lookupWorks(server, carol);
      const client = new CloudTrailClient({
        endpoint: server.url,
        region: "us-east-1",
        credentials: carol,
        maxAttempts: 1,
      });
      try {
        const listed = await client.send(
          new ListPublicKeysCommand({ StartTime: new Date(Date.now() - 3_600_000), EndTime: new Date() }),
        );
        const fingerprints = (listed.PublicKeyList ?? []).map((k) => k.Fingerprint);
        assert.ok(
          fingerprints.includes(legacy.fingerprint),
          `ListPublicKeys lists the old key: ${fingerprints.join()}`,
        );
      } finally {
        client.destroy();
      }
    } finally {
      await server.stop();
    }

    assertPrivateModes(dataDir);
    assert.deepEqual(filesContaining(dataDir, carol.secretAccessKey), []);
    for (const line of pemBodyLines(legacy.pem)) assert.deepEqual(filesContaining(dataDir, line), [], line);
    const db = new Database(join(dataDir, "principals.db"));
    try {
      assert.equal(db.pragma("user_version", { simple: true }), 3);
      const secrets = db.prepare("SELECT secret_access_key FROM principals").pluck().all() as string[];
      assert.equal(secrets.length, 2);
      assert.ok(secrets.every((s) => s.startsWith("v1:")));
    } finally {
      db.close();
    }
    // The upgraded key still opens with the key the first start generated.
    const pem = privateKeyPems(dataDir, readFileSync(join(dataDir, "master.key"), "utf8").trim());
    assert.deepEqual(pem, [legacy.pem]);
  });
});
