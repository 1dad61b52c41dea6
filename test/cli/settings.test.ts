import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { delimiter, resolve } from "node:path";
import {
  importAllowedDirectories,
  loadServerSettings,
  loadSettings,
  settingSources,
  SettingsError,
} from "../../src/config/settings.js";

function problemsOf(action: () => unknown): string[] {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof SettingsError, `expected SettingsError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail("expected the settings to be refused");
}

describe("loadServerSettings", () => {
  it("uses the documented defaults when nothing is set", () => {
    const settings = loadServerSettings({}, {});
    assert.deepEqual(settings, {
      host: "127.0.0.1",
      port: 7680,
      dataDir: resolve("./.cairn"),
      accountId: "123456789012",
      region: "us-east-1",
      historyRetentionDays: 90,
      maxInflightBodyBytes: 256 * 1024 * 1024,
      s3Port: 7681,
      s3Region: "us-east-1",
      s3ForcePathStyle: true,
      s3TimeoutMs: 5_000,
      deliveryIntervalSeconds: 60,
      digestIntervalSeconds: 3600,
      proxyPort: 7682,
      lakeFlushIntervalMs: 1000,
      lakeCompactionIntervalMs: 30_000,
      healthMaxLagSeconds: 300,
    });
  });

  it("reads the in-process capture proxy's upstream and port", () => {
    const settings = loadServerSettings(
      { proxyPort: "0" },
      { CAIRN_PROXY_UPSTREAM: "http://127.0.0.1:5000", CAIRN_PROXY_PORT: "9" },
    );
    assert.equal(settings.proxyUpstream, "http://127.0.0.1:5000");
    assert.equal(settings.proxyPort, 0);
    assert.deepEqual(
      problemsOf(() => loadServerSettings({}, { CAIRN_PROXY_UPSTREAM: "ftp://x" })),
      ['CAIRN_PROXY_UPSTREAM: must be an http:// or https:// URL (got "ftp://x")'],
    );
  });

  it("reads the directories file:// imports may read, and refuses relative ones", () => {
    assert.deepEqual(importAllowedDirectories(loadServerSettings({}, {})), [], "unset: no file:// import at all");
    const settings = loadServerSettings({}, { CAIRN_IMPORT_ALLOWED_DIRS: `/srv/archives${delimiter}/mnt/old` });
    assert.deepEqual(importAllowedDirectories(settings), ["/srv/archives", "/mnt/old"]);
    assert.deepEqual(importAllowedDirectories(loadServerSettings({ importAllowedDirs: "/from/flag" }, {})), [
      "/from/flag",
    ]);
    assert.deepEqual(
      problemsOf(() => loadServerSettings({ importAllowedDirs: "relative" }, {})),
      [`--import-allowed-dirs: must be absolute directory paths separated by '${delimiter}' (got "relative")`],
    );
    assert.deepEqual(
      problemsOf(() => loadServerSettings({}, { CAIRN_IMPORT_ALLOWED_DIRS: `/ok${delimiter}archives${delimiter}./x` })),
      [
        `CAIRN_IMPORT_ALLOWED_DIRS: must be absolute directory paths separated by '${delimiter}' (got "/ok${delimiter}archives${delimiter}./x")`,
      ],
    );
  });

  it("lets a flag beat the environment, and the environment beat the default", () => {
    const env = { CAIRN_PORT: "9000", CAIRN_REGION: "eu-west-1", CAIRN_HOST: "0.0.0.0" };
    const settings = loadServerSettings({ port: "0", host: undefined }, env);
    assert.equal(settings.port, 0);
    assert.equal(settings.region, "eu-west-1");
    assert.equal(settings.host, "0.0.0.0");
  });

  it("treats an empty variable as unset", () => {
    assert.equal(loadServerSettings({}, { CAIRN_PORT: "" }).port, 7680);
  });

  it("parses numbers and makes the data dir absolute", () => {
    const settings = loadServerSettings(
      { dataDir: "relative/dir", lookupEventsTps: "2" },
      { CAIRN_HISTORY_RETENTION_DAYS: "3653", CAIRN_LOOKUP_EVENTS_TPS: "7" },
    );
    assert.equal(settings.dataDir, resolve("relative/dir"));
    assert.equal(settings.historyRetentionDays, 3653);
    assert.equal(settings.lookupEventsTps, 2);
  });

  it("reads the bootstrap admin's key pair", () => {
    const settings = loadServerSettings(
      {},
      {
        CAIRN_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
        CAIRN_SECRET_ACCESS_KEY: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      },
    );
    assert.equal(settings.accessKeyId, "AKIAIOSFODNN7EXAMPLE");
    assert.equal(settings.secretAccessKey, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
  });

  it("names the variable or flag, the rule and the value in every error", () => {
    assert.deepEqual(
      problemsOf(() => loadServerSettings({}, { CAIRN_PORT: "abc" })),
      ['CAIRN_PORT: must be an integer 0–65535 (got "abc")'],
    );
    assert.deepEqual(
      problemsOf(() =>
        loadServerSettings({ port: "65536", accountId: "12345" }, { CAIRN_HISTORY_RETENTION_DAYS: "0" }),
      ),
      [
        '--port: must be an integer 0–65535 (got "65536")',
        '--account-id: must be 12 digits (got "12345")',
        'CAIRN_HISTORY_RETENTION_DAYS: must be an integer 1–3653 (got "0")',
      ],
    );
  });

  it("refuses loose number forms and out-of-range values", () => {
    for (const [env, expected] of [
      [{ CAIRN_PORT: "0x10" }, "CAIRN_PORT"],
      [{ CAIRN_PORT: "80.5" }, "CAIRN_PORT"],
      [{ CAIRN_HISTORY_RETENTION_DAYS: "3654" }, "CAIRN_HISTORY_RETENTION_DAYS"],
      [{ CAIRN_LOOKUP_EVENTS_TPS: "0" }, "CAIRN_LOOKUP_EVENTS_TPS"],
      [{ CAIRN_LOOKUP_EVENTS_TPS: "two" }, "CAIRN_LOOKUP_EVENTS_TPS"],
      // Below the API's own 1 MiB body cap, no CloudTrail call could be read.
      [{ CAIRN_MAX_INFLIGHT_BODY_BYTES: "65536" }, "CAIRN_MAX_INFLIGHT_BODY_BYTES"],
      [{ CAIRN_REGION: "moon" }, "CAIRN_REGION"],
      [{ CAIRN_ACCOUNT_ID: "1234567890123" }, "CAIRN_ACCOUNT_ID"],
    ] as const) {
      const [problem] = problemsOf(() => loadServerSettings({}, env));
      assert.ok(problem?.startsWith(`${expected}: must be`), problem);
    }
  });

  it("requires the admin key id and secret together", () => {
    const [problem] = problemsOf(() => loadServerSettings({}, { CAIRN_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE" }));
    assert.match(problem ?? "", /must be set together/);
  });

  it("accepts a fractional throttle", () => {
    assert.equal(loadServerSettings({}, { CAIRN_LOOKUP_EVENTS_TPS: "0.5" }).lookupEventsTps, 0.5);
  });
});

describe("loadSettings (a subset)", () => {
  it("ignores settings it was not asked for, even invalid ones", () => {
    const { accountId } = loadSettings(["accountId"], {}, { CAIRN_PORT: "abc", CAIRN_ACCOUNT_ID: "111122223333" });
    assert.equal(accountId, "111122223333");
  });
});

describe("settingSources", () => {
  it("gives every setting a CAIRN_ variable and a flag whose camelCase is the field name", () => {
    for (const [name, source] of settingSources()) {
      assert.match(source.env, /^CAIRN_[A-Z0-9_]+$/);
      // Only a secret may go without a flag (a key on the command line is visible in ps).
      if (source.flag === undefined) {
        assert.equal(source.secret, true, `${name} has no flag but is not a secret`);
        continue;
      }
      const camel = source.flag.replace(/^--/, "").replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
      assert.equal(camel, name, "commander derives the option name from the flag; it must match the field");
      assert.ok(source.description.length > 0);
    }
  });
});
