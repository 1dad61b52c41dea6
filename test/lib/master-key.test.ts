import { afterEach, beforeEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readDataDirectoryKey, secureDataDirectory } from "../../src/lib/master-key.js";
import { masterKeyOf } from "../../src/lib/secret-envelope.js";

const mode = (path: string) => statSync(path).mode & 0o777;
const noSealedSecrets = { hasSealedSecrets: async () => false };

describe("master key resolution", () => {
  let root: string;
  let dataDir: string;
  let previousUmask: number;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "cairn-master-key-"));
    dataDir = join(root, "data");
    previousUmask = process.umask(0o000); // the loosest umask: modes must still come out private
  });
  afterEach(() => {
    process.umask(previousUmask);
    rmSync(root, { recursive: true, force: true });
  });

  it("generates <data-dir>/master.key (0600) on first start and reuses it", async () => {
    const first = await secureDataDirectory(dataDir, {}, noSealedSecrets);
    assert.equal(first.generated, true);
    assert.equal(first.origin, join(dataDir, "master.key"));
    assert.equal(mode(dataDir), 0o700);
    assert.equal(mode(join(dataDir, "master.key")), 0o600);
    assert.equal(Buffer.from(readFileSync(join(dataDir, "master.key"), "utf8").trim(), "base64").length, 32);
    assert.equal(existsSync(join(dataDir, "master-key-id")), false, "recorded only once the stores opened with it");
    await first.recordKeyId();
    assert.equal(readFileSync(join(dataDir, "master-key-id"), "utf8").trim(), first.key.id);
    const second = await secureDataDirectory(dataDir, {}, noSealedSecrets);
    assert.equal(second.generated, false);
    assert.equal(second.key.id, first.key.id);
  });

  it("prefers CAIRN_MASTER_KEY, then CAIRN_MASTER_KEY_FILE, and never generates then", async () => {
    const bytes = randomBytes(32);
    const fromEnv = await secureDataDirectory(dataDir, { masterKey: bytes.toString("base64") }, noSealedSecrets);
    assert.equal(fromEnv.origin, "CAIRN_MASTER_KEY");
    assert.equal(fromEnv.key.id, masterKeyOf(bytes).id);
    assert.equal(existsSync(join(dataDir, "master.key")), false);
    const file = join(root, "mounted-secret");
    writeFileSync(file, bytes.toString("base64") + "\n");
    const fromFile = await secureDataDirectory(dataDir, { masterKeyFile: file }, noSealedSecrets);
    assert.equal(fromFile.origin, file);
    assert.equal(fromFile.key.id, fromEnv.key.id);
  });

  it("refuses a key other than the one that sealed the directory, naming both ids", async () => {
    const sealedWith = await secureDataDirectory(dataDir, {}, noSealedSecrets);
    await sealedWith.recordKeyId();
    const wrong = randomBytes(32).toString("base64");
    await assert.rejects(secureDataDirectory(dataDir, { masterKey: wrong }, noSealedSecrets), (error: Error) => {
      assert.match(
        error.message,
        new RegExp(`CAIRN_MASTER_KEY is master key ${masterKeyOf(Buffer.from(wrong, "base64")).id}`),
      );
      assert.match(error.message, new RegExp(`sealed with master key ${sealedWith.key.id}`));
      assert.ok(!error.message.includes(wrong));
      return true;
    });
    await assert.rejects(readDataDirectoryKey(dataDir, { masterKey: wrong }), /sealed with master key/);
  });

  it("never generates a key over sealed data: a lost key fails clearly", async () => {
    await (await secureDataDirectory(dataDir, {}, noSealedSecrets)).recordKeyId();
    rmSync(join(dataDir, "master.key"));
    await assert.rejects(
      secureDataDirectory(dataDir, {}, noSealedSecrets),
      /no master key is set: set CAIRN_MASTER_KEY/,
    );
    assert.equal(existsSync(join(dataDir, "master.key")), false);
    // Without master-key-id, the stores' word decides.
    rmSync(join(dataDir, "master-key-id"));
    await assert.rejects(
      secureDataDirectory(dataDir, {}, { hasSealedSecrets: async () => true }),
      /no master key is set/,
    );
    assert.equal(existsSync(join(dataDir, "master.key")), false);
  });

  it("refuses malformed keys without quoting them", async () => {
    const short = randomBytes(16).toString("base64");
    await assert.rejects(secureDataDirectory(dataDir, { masterKey: short }, noSealedSecrets), (error: Error) => {
      assert.match(error.message, /CAIRN_MASTER_KEY: must be 32 random bytes, base64-encoded/);
      assert.ok(!error.message.includes(short));
      return true;
    });
    await assert.rejects(
      secureDataDirectory(dataDir, { masterKeyFile: join(root, "absent") }, noSealedSecrets),
      /CAIRN_MASTER_KEY_FILE: cannot read .*absent \(ENOENT\)/,
    );
    await assert.rejects(
      secureDataDirectory(dataDir, { masterKey: short, masterKeyFile: join(root, "absent") }, noSealedSecrets),
      /set one or the other/,
    );
  });

  it("on the first start of an older directory, sets every file 0600 and every directory 0700", async () => {
    mkdirSync(join(dataDir, "journal", "deep"), { recursive: true, mode: 0o755 });
    writeFileSync(join(dataDir, "journal", "deep", "segment"), "x", { mode: 0o644 });
    writeFileSync(join(dataDir, "config"), "x", { mode: 0o666 });
    await secureDataDirectory(dataDir, {}, noSealedSecrets);
    assert.equal(mode(join(dataDir, "journal")), 0o700);
    assert.equal(mode(join(dataDir, "journal", "deep")), 0o700);
    assert.equal(mode(join(dataDir, "journal", "deep", "segment")), 0o600);
    assert.equal(mode(join(dataDir, "config")), 0o600);
  });

  it("refuses a directory whose master key rotation did not finish, writer and reader alike", async () => {
    const sealedWith = await secureDataDirectory(dataDir, {}, noSealedSecrets);
    await sealedWith.recordKeyId();
    const toKeyId = "0123456789abcdef";
    const marker = join(dataDir, "master-key-rotation");
    writeFileSync(marker, JSON.stringify({ fromKeyId: sealedWith.key.id, toKeyId, target: "external" }));
    const underWay = new RegExp(
      `is in the middle of a master key rotation \\(master key ${sealedWith.key.id} → ${toKeyId}\\).*` +
        "Run `cairn keys rotate-master --data-dir .* --new-master-key-file <the new key's file>` again",
    );
    await assert.rejects(secureDataDirectory(dataDir, {}, noSealedSecrets), underWay);
    const keyText = readFileSync(join(dataDir, "master.key"), "utf8");
    await assert.rejects(readDataDirectoryKey(dataDir, { masterKey: keyText.trim() }), underWay);
    writeFileSync(marker, "{ torn");
    await assert.rejects(secureDataDirectory(dataDir, {}, noSealedSecrets), /is not a master key rotation marker/);
    rmSync(marker);
    assert.equal((await secureDataDirectory(dataDir, {}, noSealedSecrets)).key.id, sealedWith.key.id);
  });

  it("a reader (the proxy) gets undefined without a key and never writes", async () => {
    mkdirSync(dataDir);
    assert.equal(await readDataDirectoryKey(dataDir, {}), undefined);
    assert.equal(existsSync(join(dataDir, "master.key")), false);
    assert.equal(existsSync(join(dataDir, "master-key-id")), false);
  });
});
