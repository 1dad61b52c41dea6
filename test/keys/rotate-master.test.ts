import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { createPublicKey, randomBytes, verify } from "node:crypto";
import { cpSync, existsSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { CloudTrailClient, ListPublicKeysCommand, LookupEventsCommand } from "@aws-sdk/client-cloudtrail";
import { openDataDirectorySecrets } from "../../src/app/data-directory-secrets.js";
import { systemClock } from "../../src/lib/clock.js";
import type { MasterKeySource } from "../../src/lib/master-key.js";
import { masterKeyOf } from "../../src/lib/secret-envelope.js";
import { openFileSigningKeyStore } from "../../src/stores/signing-keys/index.js";
import {
  CLI,
  makeDataDir,
  removeDataDir,
  startServerProcess,
  TEST_SECRET_ACCESS_KEY,
  type ServerProcess,
} from "../helpers/server-process.js";
import { ownChild } from "../helpers/owned-children.js";

const CHILD = fileURLToPath(new URL("./rotate-master-child.js", import.meta.url));
const REGIONS = ["eu-west-1", "us-east-1"];
const ROTATION_UNDER_WAY = /is in the middle of a master key rotation \(master key [0-9a-f]{16} → [0-9a-f]{16}\)/;

interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** What a seeded data directory holds, read before any rotation: the test checks each survives it. */
interface Seeded {
  readonly dir: string;
  readonly keyId: string;
  readonly alice: Credentials;
  /** Region → the fingerprint and PEM of its signing key. */
  readonly signingKeys: ReadonlyMap<string, { fingerprint: string; publicKeyDer: Buffer; pem: string }>;
  /** Every sealed value on disk (principals.db, key files): none may survive a rotation, even sealed. */
  readonly sealedValues: readonly string[];
}

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `cairn` with exactly `env` added to a clean copy of the test's environment. */
function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const { CAIRN_MASTER_KEY: _key, CAIRN_MASTER_KEY_FILE: _file, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...inherited, ...env } }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : null, stdout, stderr });
    });
  });
}

function keySource(env: Record<string, string>): MasterKeySource {
  return {
    ...(env.CAIRN_MASTER_KEY !== undefined ? { masterKey: env.CAIRN_MASTER_KEY } : {}),
    ...(env.CAIRN_MASTER_KEY_FILE !== undefined ? { masterKeyFile: env.CAIRN_MASTER_KEY_FILE } : {}),
  };
}

function writeKeyFile(dir: string, name: string): { path: string; id: string } {
  const bytes = randomBytes(32);
  const path = join(dir, name);
  writeFileSync(path, `${bytes.toString("base64")}\n`, { mode: 0o600 });
  return { path, id: masterKeyOf(bytes).id };
}

/** Every file under `root`. */
function filesUnder(root: string): string[] {
  const stats = lstatSync(root);
  if (!stats.isDirectory()) return [root];
  return readdirSync(root).flatMap((name) => filesUnder(join(root, name)));
}

function filesContaining(root: string, needle: string): string[] {
  return filesUnder(root).filter((path) => readFileSync(path).includes(needle));
}

function pemBodyLines(pem: string): string[] {
  return pem.split("\n").filter((line) => line.length > 0 && !line.startsWith("-----"));
}

/** The sealed values in principals.db and the key files, as stored. */
function sealedValuesOf(dir: string): string[] {
  const db = new Database(join(dir, "principals.db"), { readonly: true });
  try {
    const secrets = db.prepare("SELECT secret_access_key FROM principals").pluck().all() as string[];
    const keysDir = join(dir, "keys");
    const privateKeys = readdirSync(keysDir).flatMap((region) =>
      readdirSync(join(keysDir, region)).map(
        (name) =>
          (JSON.parse(readFileSync(join(keysDir, region, name), "utf8")) as { privateKeySealed: string })
            .privateKeySealed,
      ),
    );
    return [...secrets, ...privateKeys];
  } finally {
    db.close();
  }
}

/**
 * A data directory as a real server leaves it: the bootstrap admin, a principal added with the CLI,
 * and a signing key in each of two regions (made while the server is stopped, with its master key).
 */
async function seedDataDir(env: Record<string, string>): Promise<Seeded> {
  const dir = makeDataDir("cairn-rotate-");
  const server = await startServerProcess({ dataDir: dir, env });
  let alice: Credentials;
  try {
    const added = await runCli(
      [
        "principal",
        "add",
        "--name",
        "alice",
        "--data-dir",
        dir,
        "--json",
        "--policy-arn",
        "arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess",
      ],
      env,
    );
    assert.equal(added.code, 0, added.stderr);
    alice = JSON.parse(added.stdout) as Credentials;
  } finally {
    await server.stop();
  }
  const { masterKey, principals } = await openDataDirectorySecrets(dir, keySource(env));
  await principals.close();
  const store = openFileSigningKeyStore({ dataDir: dir, clock: systemClock, masterKey: masterKey.key });
  const signingKeys = new Map<string, { fingerprint: string; publicKeyDer: Buffer; pem: string }>();
  for (const region of REGIONS) {
    const key = await store.signingKey(region);
    const name = readdirSync(join(dir, "keys", region))[0]!;
    const file = JSON.parse(readFileSync(join(dir, "keys", region, name), "utf8")) as { privateKeySealed: string };
    const pem = masterKey.key.open(file.privateKeySealed, `cairn signing key ${region} ${key.fingerprint}`);
    signingKeys.set(region, { fingerprint: key.fingerprint, publicKeyDer: key.publicKeyDer, pem });
  }
  return { dir, keyId: masterKey.key.id, alice, signingKeys, sealedValues: sealedValuesOf(dir) };
}

/** A copy of a seeded directory, for a test that changes it. */
function copyOf(seeded: Seeded): Seeded {
  const dir = makeDataDir("cairn-rotate-copy-");
  cpSync(seeded.dir, dir, { recursive: true });
  return { ...seeded, dir };
}

/**
 * Opens the directory in-process as the server does, with `env`'s key: the key id is `keyId`, alice's
 * secret is hers, and each region's signing key is the same key pair and still signs.
 */
async function assertOpensWith(seeded: Seeded, env: Record<string, string>, keyId: string): Promise<void> {
  const { masterKey, principals } = await openDataDirectorySecrets(seeded.dir, keySource(env));
  try {
    assert.equal(masterKey.key.id, keyId);
    assert.equal(
      (await principals.findByAccessKeyId(seeded.alice.accessKeyId))?.secretAccessKey,
      seeded.alice.secretAccessKey,
    );
    const store = openFileSigningKeyStore({ dataDir: seeded.dir, clock: systemClock, masterKey: masterKey.key });
    for (const [region, expected] of seeded.signingKeys) {
      const key = await store.signingKey(region);
      assert.equal(key.fingerprint, expected.fingerprint, `${region}: the same key pair, no new key`);
      const signature = Buffer.from(key.signHex("digest"), "hex");
      const publicKey = createPublicKey({ key: expected.publicKeyDer, format: "der", type: "pkcs1" });
      assert.ok(verify("sha256", Buffer.from("digest"), publicKey, signature), `${region} still signs`);
    }
  } finally {
    await principals.close();
  }
}

/** No secret in clear and no value sealed before the rotation anywhere under the directory. */
function assertNoSecretOnDisk(seeded: Seeded): void {
  assert.deepEqual(filesContaining(seeded.dir, seeded.alice.secretAccessKey), []);
  assert.deepEqual(filesContaining(seeded.dir, TEST_SECRET_ACCESS_KEY), [join(seeded.dir, "credentials")]);
  for (const { pem } of seeded.signingKeys.values()) {
    for (const line of pemBodyLines(pem)) assert.deepEqual(filesContaining(seeded.dir, line), [], line);
  }
  for (const value of seeded.sealedValues) {
    assert.deepEqual(filesContaining(seeded.dir, value), [], "a value sealed with the old key is left on disk");
  }
}

/** The output of a `cairn server` that must refuse to start. */
async function failedStart(dir: string, env: Record<string, string>): Promise<string> {
  let server: ServerProcess;
  try {
    server = await startServerProcess({ dataDir: dir, env });
  } catch (error) {
    return (error as Error).message;
  }
  await server.stop();
  assert.fail("the server started");
}

/** Alice's signed calls work, and ListPublicKeys (which opens the current private key) lists the same key. */
async function assertServerWorks(seeded: Seeded, env: Record<string, string>, keyId: string): Promise<void> {
  const server = await startServerProcess({ dataDir: seeded.dir, env });
  const client = new CloudTrailClient({
    endpoint: server.url,
    region: "us-east-1",
    credentials: seeded.alice,
    maxAttempts: 1,
  });
  try {
    assert.match(server.output(), new RegExp(`master key: +${keyId} from`));
    const page = await client.send(new LookupEventsCommand({ MaxResults: 1 }));
    assert.ok(Array.isArray(page.Events));
    const listed = await client.send(new ListPublicKeysCommand({}));
    const expected = seeded.signingKeys.get("us-east-1")!;
    assert.deepEqual(
      (listed.PublicKeyList ?? []).map((key) => [key.Fingerprint, Buffer.from(key.Value!).toString("base64")]),
      [[expected.fingerprint, expected.publicKeyDer.toString("base64")]],
    );
  } finally {
    client.destroy();
    await server.stop();
  }
}

/** Runs the rotation in a child process that kills itself (SIGKILL) once `step` is durable. */
async function rotateAndCrash(
  dir: string,
  step: string,
  env: Record<string, string>,
  newMasterKeyFile?: string,
): Promise<void> {
  const { CAIRN_MASTER_KEY: _key, CAIRN_MASTER_KEY_FILE: _file, ...inherited } = process.env;
  const args = [CHILD, dir, step, ...(newMasterKeyFile !== undefined ? [newMasterKeyFile] : [])];
  const child = ownChild(
    spawn(process.execPath, args, { env: { ...inherited, ...env }, stdio: ["ignore", "pipe", "pipe"] }),
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
    child.once("exit", (_code, sig) => resolve(sig)),
  );
  assert.equal(signal, "SIGKILL", `the rotation was to be killed at ${step}. Output:\n${output}`);
}

function markerOf(dir: string): { fromKeyId: string; toKeyId: string; target: string } {
  return JSON.parse(readFileSync(join(dir, "master-key-rotation"), "utf8")) as {
    fromKeyId: string;
    toKeyId: string;
    target: string;
  };
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe("cairn keys rotate-master with the data directory's generated master.key", () => {
  let seeded: Seeded;
  before(async () => {
    seeded = await seedDataDir({});
  });
  after(() => removeDataDir(seeded.dir));

  it("re-seals every secret under a fresh master.key; the restarted server signs calls and keeps its signing keys", async () => {
    const oldKeyText = readFileSync(join(seeded.dir, "master.key"), "utf8").trim();
    const rotated = await runCli(["keys", "rotate-master", "--data-dir", seeded.dir]);
    assert.equal(rotated.code, 0, rotated.stderr);
    const newKeyText = readFileSync(join(seeded.dir, "master.key"), "utf8").trim();
    const newKeyId = masterKeyOf(Buffer.from(newKeyText, "base64")).id;
    assert.notEqual(newKeyId, seeded.keyId);
    assert.match(rotated.stdout, /4 secrets re-sealed \(2 secret access keys, 2 signing private keys\)/);
    assert.match(rotated.stdout, new RegExp(`old master key: ${seeded.keyId}`));
    assert.match(rotated.stdout, new RegExp(`new master key: ${newKeyId}`));
    assert.ok(!rotated.stdout.includes(newKeyText) && !rotated.stdout.includes(oldKeyText), "never prints a key");
    assert.equal(readFileSync(join(seeded.dir, "master-key-id"), "utf8").trim(), newKeyId);
    assert.equal(mode(join(seeded.dir, "master.key")), 0o600);
    for (const leftover of ["master-key-rotation", "master.key.next"]) {
      assert.equal(existsSync(join(seeded.dir, leftover)), false, leftover);
    }
    assertNoSecretOnDisk(seeded);

    await assertServerWorks(seeded, {}, newKeyId);
    await assertOpensWith(seeded, {}, newKeyId);
    const withOldKey = await failedStart(seeded.dir, { CAIRN_MASTER_KEY: oldKeyText });
    assert.match(
      withOldKey,
      new RegExp(
        `CAIRN_MASTER_KEY is master key ${seeded.keyId}, but the secrets in .* are sealed with master key ${newKeyId}`,
      ),
    );
  });
});

describe("cairn keys rotate-master to an external key file", () => {
  let seeded: Seeded;
  let keysDir: string;
  before(async () => {
    seeded = await seedDataDir({});
    keysDir = makeDataDir("cairn-rotate-keys-");
  });
  after(() => {
    removeDataDir(seeded.dir);
    removeDataDir(keysDir);
  });

  it("moves off the generated master.key, then from one external key to another; the server starts only with the new key", async () => {
    const first = writeKeyFile(keysDir, "first.key");
    const toFirst = await runCli([
      "keys",
      "rotate-master",
      "--data-dir",
      seeded.dir,
      "--new-master-key-file",
      first.path,
    ]);
    assert.equal(toFirst.code, 0, toFirst.stderr);
    assert.match(toFirst.stdout, new RegExp(`new master key: ${first.id} \\(${first.path}\\)`));
    assert.match(
      toFirst.stdout,
      new RegExp(`Start the server with the new key from now on: CAIRN_MASTER_KEY_FILE=${first.path}`),
    );
    assert.equal(existsSync(join(seeded.dir, "master.key")), false, "the old generated key is gone");
    const keyless = await failedStart(seeded.dir, {});
    assert.match(keyless, new RegExp(`holds secrets sealed with master key ${first.id}, but no master key is set`));
    assert.equal(existsSync(join(seeded.dir, "master.key")), false, "and no key is generated over sealed data");

    const second = writeKeyFile(keysDir, "second.key");
    const fromFirst = { CAIRN_MASTER_KEY_FILE: first.path };
    const toSecond = await runCli(
      ["keys", "rotate-master", "--data-dir", seeded.dir, "--new-master-key-file", second.path],
      fromFirst,
    );
    assert.equal(toSecond.code, 0, toSecond.stderr);
    assert.match(toSecond.stdout, new RegExp(`old master key: ${first.id}`));
    assert.match(toSecond.stdout, new RegExp(`new master key: ${second.id}`));
    assertNoSecretOnDisk(seeded);

    const withOldKey = await failedStart(seeded.dir, fromFirst);
    assert.match(
      withOldKey,
      new RegExp(
        `${first.path} is master key ${first.id}, but the secrets in .* are sealed with master key ${second.id}`,
      ),
    );
    await assertServerWorks(seeded, { CAIRN_MASTER_KEY_FILE: second.path }, second.id);
    const secondText = readFileSync(second.path, "utf8").trim();
    await assertOpensWith(seeded, { CAIRN_MASTER_KEY: secondText }, second.id);
  });

  it("refuses what it cannot do, changing nothing", async () => {
    const current = { CAIRN_MASTER_KEY_FILE: join(keysDir, "second.key") };
    const before = sealedValuesOf(seeded.dir);
    const cases: Array<{ args: string[]; env: Record<string, string>; error: RegExp }> = [
      {
        args: ["--data-dir", seeded.dir],
        env: current,
        error: /The master key comes from .*second\.key.*give it with --new-master-key-file/,
      },
      {
        args: ["--data-dir", seeded.dir, "--new-master-key-file", join(keysDir, "second.key")],
        env: current,
        error: /is master key [0-9a-f]{16}, the key .* is already sealed with/,
      },
      {
        args: ["--data-dir", seeded.dir, "--new-master-key-file", join(keysDir, "absent.key")],
        env: current,
        error: /--new-master-key-file: cannot read .*absent\.key \(ENOENT\)/,
      },
      {
        args: ["--data-dir", seeded.dir],
        env: { CAIRN_MASTER_KEY_FILE: join(keysDir, "first.key") },
        error: /first\.key is master key [0-9a-f]{16}, but the secrets in .* are sealed with master key/,
      },
      {
        args: ["--data-dir", join(keysDir, "not-a-data-dir")],
        env: {},
        error: /records no master key \(it has no master-key-id\)/,
      },
    ];
    for (const { args, env, error } of cases) {
      const result = await runCli(["keys", "rotate-master", ...args], env);
      assert.equal(result.code, 1, `${args.join(" ")}: ${result.stdout}`);
      assert.match(result.stderr, error);
    }
    const short = join(keysDir, "short.key");
    writeFileSync(short, "c2hvcnQ=\n");
    const malformed = await runCli(
      ["keys", "rotate-master", "--data-dir", seeded.dir, "--new-master-key-file", short],
      current,
    );
    assert.match(malformed.stderr, /--new-master-key-file .*short\.key: must be 32 random bytes, base64-encoded/);
    assert.ok(!malformed.stderr.includes("c2hvcnQ="), "never quotes a key");
    assert.deepEqual(sealedValuesOf(seeded.dir), before);
    assert.equal(existsSync(join(keysDir, "not-a-data-dir")), false, "creates no directory");
    assert.equal(existsSync(join(seeded.dir, "master-key-rotation")), false);
  });
});

describe("cairn keys rotate-master killed midway (kill -9)", () => {
  let template: Seeded;
  let external: Seeded;
  let keysDir: string;
  before(async () => {
    keysDir = makeDataDir("cairn-rotate-keys-");
    template = await seedDataDir({});
    external = await seedDataDir({ CAIRN_MASTER_KEY_FILE: writeKeyFile(keysDir, "old.key").path });
  });
  after(() => {
    removeDataDir(template.dir);
    removeDataDir(external.dir);
    removeDataDir(keysDir);
  });

  const steps = [
    "begun",
    "signing-key-resealed:1",
    "signing-key-resealed:2",
    "principals-resealed",
    "key-installed",
    "key-id-recorded",
  ];
  for (const step of steps) {
    it(`generated key, killed after ${step}: the server refuses to start, a re-run finishes, the new key opens everything`, async () => {
      const seeded = copyOf(template);
      try {
        await rotateAndCrash(seeded.dir, step, {});
        const marker = markerOf(seeded.dir);
        assert.equal(marker.fromKeyId, seeded.keyId);
        assert.equal(marker.target, "data-directory");
        assert.equal(mode(join(seeded.dir, "master-key-rotation")), 0o600);
        const refused = await failedStart(seeded.dir, {});
        assert.match(refused, ROTATION_UNDER_WAY);
        assert.match(refused, new RegExp(`Run \`cairn keys rotate-master --data-dir ${seeded.dir}\` again`));

        const rerun = await runCli(["keys", "rotate-master", "--data-dir", seeded.dir]);
        assert.equal(rerun.code, 0, rerun.stderr);
        assert.match(rerun.stdout, /Finished the master key rotation that was under way/);
        assert.match(rerun.stdout, new RegExp(`new master key: ${marker.toKeyId}`));
        assert.equal(existsSync(join(seeded.dir, "master-key-rotation")), false);
        assert.equal(existsSync(join(seeded.dir, "master.key.next")), false);
        await assertOpensWith(seeded, {}, marker.toKeyId);
        assertNoSecretOnDisk(seeded);
        if (step === "signing-key-resealed:1") await assertServerWorks(seeded, {}, marker.toKeyId);
      } finally {
        removeDataDir(seeded.dir);
      }
    });
  }

  it("external key, killed after one signing key file: only the same new key file and the old key finish it", async () => {
    const seeded = copyOf(external);
    try {
      const oldKey = { CAIRN_MASTER_KEY_FILE: join(keysDir, "old.key") };
      const next = writeKeyFile(keysDir, "next.key");
      await rotateAndCrash(seeded.dir, "signing-key-resealed:1", oldKey, next.path);
      assert.deepEqual(markerOf(seeded.dir), { fromKeyId: seeded.keyId, toKeyId: next.id, target: "external" });
      for (const env of [oldKey, { CAIRN_MASTER_KEY_FILE: next.path }]) {
        const refused = await failedStart(seeded.dir, env);
        assert.match(refused, ROTATION_UNDER_WAY);
        assert.match(refused, /--new-master-key-file <the new key's file>` again/);
      }
      const addDuring = await runCli(["principal", "add", "--name", "bob", "--data-dir", seeded.dir], oldKey);
      assert.match(addDuring.stderr, ROTATION_UNDER_WAY);

      const rotate = (args: string[], env: Record<string, string>) =>
        runCli(["keys", "rotate-master", "--data-dir", seeded.dir, ...args], env);
      const withoutFile = await rotate([], oldKey);
      assert.match(
        withoutFile.stderr,
        new RegExp(`rotation to master key ${next.id} is under way .*--new-master-key-file`),
      );
      const other = writeKeyFile(keysDir, "other.key");
      const wrongFile = await rotate(["--new-master-key-file", other.path], oldKey);
      assert.match(wrongFile.stderr, new RegExp(`is master key ${other.id}: give the file of master key ${next.id}`));
      const withoutOldKey = await rotate(["--new-master-key-file", next.path], { CAIRN_MASTER_KEY_FILE: next.path });
      assert.match(withoutOldKey.stderr, new RegExp(`open with the old master key ${seeded.keyId} only`));
      for (const failed of [withoutFile, wrongFile, withoutOldKey]) assert.equal(failed.code, 1);

      const finished = await rotate(["--new-master-key-file", next.path], oldKey);
      assert.equal(finished.code, 0, finished.stderr);
      assert.match(finished.stdout, new RegExp(`CAIRN_MASTER_KEY_FILE=${next.path}`));
      assertNoSecretOnDisk(seeded);
      const withOldKey = await failedStart(seeded.dir, oldKey);
      assert.match(
        withOldKey,
        new RegExp(`is master key ${seeded.keyId}, but the secrets in .* are sealed with master key ${next.id}`),
      );
      await assertServerWorks(seeded, { CAIRN_MASTER_KEY_FILE: next.path }, next.id);
    } finally {
      removeDataDir(seeded.dir);
    }
  });

  it("generated key to an external one, killed once master.key is gone: the new key alone finishes it", async () => {
    const seeded = copyOf(template);
    try {
      const next = writeKeyFile(keysDir, "next-from-generated.key");
      await rotateAndCrash(seeded.dir, "key-installed", {}, next.path);
      assert.equal(existsSync(join(seeded.dir, "master.key")), false);
      const finished = await runCli([
        "keys",
        "rotate-master",
        "--data-dir",
        seeded.dir,
        "--new-master-key-file",
        next.path,
      ]);
      assert.equal(finished.code, 0, finished.stderr);
      await assertOpensWith(seeded, { CAIRN_MASTER_KEY_FILE: next.path }, next.id);
      assertNoSecretOnDisk(seeded);
    } finally {
      removeDataDir(seeded.dir);
    }
  });
});
