import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { delimiter, resolve } from "node:path";
import {
  importAllowedDirectories,
  isClusterMode,
  journalRetentionDays,
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
      insightsBaselineDays: 7,
      insightsDetectionDelaySeconds: 30,
      insightsMinimumRate: 10,
      insightsQuietMinutes: 5,
      insightsThresholdSigma: 6,
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
      journalReplicas: 1,
      journalStream: "cairn-journal",
      lakeBucket: "cairn-lake",
      lakeCacheBytes: 8 * 1024 ** 3,
      lakeGraceMs: 900_000,
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

describe("cluster-mode settings", () => {
  const MASTER_KEY = "A".repeat(43) + "=";
  const DATABASE_URL = "postgres://cairn:pg-secret-password@db.internal:5432/cairn";
  const complete = {
    CAIRN_DATABASE_URL: DATABASE_URL,
    CAIRN_JOURNAL_URL: "nats://nats-1:4222,nats-2:4222,nats://[::1]:4223",
    CAIRN_S3_ENDPOINT: "http://minio:9000",
    CAIRN_S3_ACCESS_KEY_ID: "minio",
    CAIRN_S3_SECRET_ACCESS_KEY: "minio-secret",
    CAIRN_MASTER_KEY: MASTER_KEY,
  };

  it("reads a complete cluster configuration with its stream, replicas, Lake bucket and node id", () => {
    const settings = loadServerSettings(
      { journalReplicas: "3", nodeId: "node-a.1" },
      { ...complete, CAIRN_JOURNAL_STREAM: "audit_journal", CAIRN_LAKE_BUCKET: "audit.lake-1" },
    );
    assert.equal(settings.databaseUrl, DATABASE_URL);
    assert.equal(settings.journalUrl, complete.CAIRN_JOURNAL_URL);
    assert.equal(settings.journalReplicas, 3);
    assert.equal(settings.journalStream, "audit_journal");
    assert.equal(settings.lakeBucket, "audit.lake-1");
    assert.equal(settings.nodeId, "node-a.1");
    assert.ok(isClusterMode(settings));
    assert.ok(!isClusterMode(loadServerSettings({}, { CAIRN_S3_ENDPOINT: "http://minio:9000" })));
  });

  it("accepts CAIRN_MASTER_KEY_FILE as the explicit master key", () => {
    const { CAIRN_MASTER_KEY: _unused, ...withoutKey } = complete;
    assert.ok(isClusterMode(loadServerSettings({ masterKeyFile: "/run/secrets/cairn.key" }, withoutKey)));
  });

  it("refuses invalid values, never echoing the database URL", () => {
    const problems = problemsOf(() =>
      loadServerSettings(
        {},
        {
          ...complete,
          CAIRN_DATABASE_URL: "mysql://root:hunter2@db/cairn",
          CAIRN_JOURNAL_URL: "http://nats:4222",
          CAIRN_JOURNAL_REPLICAS: "6",
          CAIRN_JOURNAL_STREAM: "a.b",
          CAIRN_LAKE_BUCKET: "Upper_Case",
          CAIRN_NODE_ID: "-x",
        },
      ),
    );
    assert.deepEqual(problems, [
      "CAIRN_DATABASE_URL: must be a postgres:// or postgresql:// URL (got 29 characters)",
      'CAIRN_JOURNAL_URL: must be nats://host:port, optionally followed by ,host:port for more servers of the same NATS cluster (got "http://nats:4222")',
      'CAIRN_JOURNAL_REPLICAS: must be an integer 1–5 (got "6")',
      "CAIRN_JOURNAL_STREAM: must be 1–64 letters, digits, '-' or '_' (got \"a.b\")",
      "CAIRN_LAKE_BUCKET: must be an S3 bucket name (3–63 lowercase letters, digits, '.' or '-') (got \"Upper_Case\")",
      "CAIRN_NODE_ID: must be 1–64 letters, digits, '.', '-' or '_', starting with a letter or digit (got \"-x\")",
    ]);
    assert.ok(!problems.join("\n").includes("hunter2"));
    for (const url of ["nats://host", "nats://a:1,", "nats://a:1,b"]) {
      assert.deepEqual(
        problemsOf(() => loadServerSettings({}, { ...complete, CAIRN_JOURNAL_URL: url })).length,
        1,
        url,
      );
    }
  });

  it("refuses a partial combination with one problem naming every missing piece", () => {
    const onlyDatabase = problemsOf(() => loadServerSettings({}, { CAIRN_DATABASE_URL: DATABASE_URL }));
    assert.deepEqual(onlyDatabase, [
      "cluster mode needs CAIRN_DATABASE_URL, CAIRN_JOURNAL_URL, CAIRN_S3_ENDPOINT and an explicit master key together; " +
        "missing: CAIRN_JOURNAL_URL, CAIRN_S3_ENDPOINT, CAIRN_MASTER_KEY or CAIRN_MASTER_KEY_FILE (docs/reference/cluster.md). " +
        "Unset CAIRN_DATABASE_URL and CAIRN_JOURNAL_URL for the embedded server.",
    ]);
    assert.ok(!onlyDatabase[0]!.includes("pg-secret-password"));
    const onlyJournal = problemsOf(() =>
      loadServerSettings({}, { CAIRN_JOURNAL_URL: "nats://n:4222", CAIRN_MASTER_KEY: MASTER_KEY }),
    );
    assert.match(onlyJournal[0]!, /missing: CAIRN_DATABASE_URL, CAIRN_S3_ENDPOINT \(/);
    const { CAIRN_S3_SECRET_ACCESS_KEY: _secret, ...halfCredentials } = complete;
    assert.match(
      problemsOf(() => loadServerSettings({}, halfCredentials))[0]!,
      /missing: CAIRN_S3_SECRET_ACCESS_KEY \(CAIRN_S3_ACCESS_KEY_ID is set\)/,
    );
  });

  it("keeps the journal as long as Event history embedded, CAIRN_JOURNAL_RETENTION_DAYS (default 7) in a cluster", () => {
    assert.equal(journalRetentionDays(loadServerSettings({}, { CAIRN_HISTORY_RETENTION_DAYS: "30" })), 30);
    assert.equal(journalRetentionDays(loadServerSettings({}, complete)), 7);
    assert.equal(journalRetentionDays(loadServerSettings({}, { ...complete, CAIRN_JOURNAL_RETENTION_DAYS: "90" })), 90);
    assert.deepEqual(
      problemsOf(() => loadServerSettings({}, { CAIRN_JOURNAL_RETENTION_DAYS: "3" })),
      [
        "CAIRN_JOURNAL_RETENTION_DAYS: applies to cluster mode only (the embedded journal keeps CAIRN_HISTORY_RETENTION_DAYS)",
      ],
    );
  });

  it("leaves an embedded server with CAIRN_S3_ENDPOINT, and commands that read a few settings, alone", () => {
    const embedded = loadServerSettings({}, { CAIRN_S3_ENDPOINT: "http://minio:9000", CAIRN_S3_ACCESS_KEY_ID: "a" });
    assert.equal(embedded.databaseUrl, undefined);
    assert.deepEqual(loadSettings(["dataDir"], {}, { CAIRN_DATABASE_URL: DATABASE_URL }), {
      dataDir: resolve("./.cairn"),
    });
  });
});
