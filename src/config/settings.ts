import { delimiter, isAbsolute, resolve } from "node:path";
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

// Each field carries `mustBe` (the error wording) and `env`/`flag` (where it is read from) beside its
// constraints, so the loader, the error messages and docs/reference/config.md all come from one place.
const ACCESS_KEY_ID_PATTERN = "^[A-Za-z0-9]{16,128}$";
const SECRET_ACCESS_KEY_PATTERN = "^\\S{1,256}$";
/** One server of CAIRN_JOURNAL_URL: host (name, IPv4 or [IPv6]) and port. */
const NATS_HOST_PORT_PATTERN = "([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\]):[0-9]{1,5}";

/** Settings of `cairn server`; each is read from its flag, else its environment variable, else its default. */
const ServerSettingsSchema = Type.Object({
  host: Type.String({
    minLength: 1,
    default: "127.0.0.1",
    env: "CAIRN_HOST",
    flag: "--host",
    mustBe: "a host name or IP address",
    description: "Address the HTTP server listens on. Use 0.0.0.0 to accept connections from other machines.",
  }),
  port: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 7680,
    env: "CAIRN_PORT",
    flag: "--port",
    mustBe: "an integer 0–65535",
    description: "TCP port of the HTTP server. 0 picks a free port (the banner prints the one chosen).",
  }),
  dataDir: Type.String({
    minLength: 1,
    default: "./.cairn",
    env: "CAIRN_DATA_DIR",
    flag: "--data-dir",
    mustBe: "a directory path",
    description: "Directory for all state: principals.db, the journal, indexes, and the AWS client files.",
  }),
  accountId: Type.String({
    pattern: "^[0-9]{12}$",
    default: "123456789012",
    env: "CAIRN_ACCOUNT_ID",
    flag: "--account-id",
    mustBe: "12 digits",
    description: "AWS account id the server acts as; the bootstrap admin is this account's root principal.",
  }),
  region: Type.String({
    pattern: "^[a-z]{2}(-[a-z]+)+-[0-9]+$",
    default: "us-east-1",
    env: "CAIRN_REGION",
    flag: "--region",
    mustBe: "an AWS region name such as us-east-1",
    description: "AWS region the server acts as (appears in ARNs, in awsRegion and in SigV4 scopes).",
  }),
  accessKeyId: Type.Optional(
    Type.String({
      pattern: ACCESS_KEY_ID_PATTERN,
      env: "CAIRN_ACCESS_KEY_ID",
      flag: "--access-key-id",
      mustBe: "16–128 letters and digits",
      description:
        "Access key id of the bootstrap admin. Unset: reuse the one stored in the data dir, or generate one on first start.",
    }),
  ),
  secretAccessKey: Type.Optional(
    Type.String({
      pattern: SECRET_ACCESS_KEY_PATTERN,
      env: "CAIRN_SECRET_ACCESS_KEY",
      flag: "--secret-access-key",
      mustBe: "1–256 characters without spaces",
      description: "Secret access key of the bootstrap admin; required together with the access key id.",
    }),
  ),
  masterKey: Type.Optional(
    Type.String({
      pattern: "^[A-Za-z0-9+/]{43}=$",
      env: "CAIRN_MASTER_KEY",
      // No flag: a key on the command line is visible to every user of the machine (ps).
      secret: true,
      mustBe: "32 random bytes, base64-encoded (44 characters, e.g. from `openssl rand -base64 32`)",
      description:
        "Master key that seals secret access keys and digest signing keys at rest (docs/reference/security.md). Unset: CAIRN_MASTER_KEY_FILE, else <data-dir>/master.key, generated on first start.",
    }),
  ),
  masterKeyFile: Type.Optional(
    Type.String({
      minLength: 1,
      env: "CAIRN_MASTER_KEY_FILE",
      flag: "--master-key-file",
      mustBe: "a file path",
      description:
        "File holding the master key (base64 of 32 bytes), e.g. a mounted secret: keep it outside the data directory in production.",
    }),
  ),
  historyRetentionDays: Type.Integer({
    minimum: 1,
    maximum: 3653,
    default: 90,
    env: "CAIRN_HISTORY_RETENTION_DAYS",
    flag: "--history-retention-days",
    mustBe: "an integer 1–3653",
    description: "How many days of events LookupEvents (Event history) keeps. AWS keeps 90.",
  }),
  lookupEventsTps: Type.Optional(
    Type.Number({
      exclusiveMinimum: 0,
      maximum: 10000,
      env: "CAIRN_LOOKUP_EVENTS_TPS",
      flag: "--lookup-events-tps",
      mustBe: "a number greater than 0 and at most 10000",
      description:
        "LookupEvents calls allowed per second per account before ThrottlingException. Unset: no throttle (AWS allows 2).",
    }),
  ),
  maxInflightBodyBytes: Type.Integer({
    minimum: 1_048_576,
    maximum: 68_719_476_736,
    default: 268_435_456,
    env: "CAIRN_MAX_INFLIGHT_BODY_BYTES",
    flag: "--max-inflight-body-bytes",
    mustBe: "an integer 1048576–68719476736 (1 MiB–64 GiB)",
    description:
      "Request-body bytes the API server reads or holds at once, across all callers (each route also caps one body). A signed request whose body does not fit now is refused with 503 ServiceUnavailableException and Retry-After before its body is read; one larger than the whole budget with 413 (docs/reference/security.md, Bounded work).",
  }),
  s3Port: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 7681,
    env: "CAIRN_S3_PORT",
    flag: "--s3-port",
    mustBe: "an integer 0–65535",
    description:
      "TCP port of the read-only S3-protocol server over the embedded buckets (trail log files and digests). 0 picks a free port.",
  }),
  s3Endpoint: Type.Optional(
    Type.String({
      pattern: "^https?://",
      env: "CAIRN_S3_ENDPOINT",
      flag: "--s3-endpoint",
      mustBe: "an http:// or https:// URL",
      description:
        "Deliver trails to this S3-compatible endpoint (MinIO, Ceph, AWS) instead of the embedded buckets under the data dir.",
    }),
  ),
  s3Region: Type.String({
    minLength: 1,
    default: "us-east-1",
    env: "CAIRN_S3_REGION",
    flag: "--s3-region",
    mustBe: "a region name",
    description: "Signing region for CAIRN_S3_ENDPOINT.",
  }),
  s3AccessKeyId: Type.Optional(
    Type.String({
      minLength: 1,
      env: "CAIRN_S3_ACCESS_KEY_ID",
      flag: "--s3-access-key-id",
      mustBe: "an access key id",
      description: "Access key for CAIRN_S3_ENDPOINT (unset: the AWS SDK's default credential chain).",
    }),
  ),
  s3SecretAccessKey: Type.Optional(
    Type.String({
      minLength: 1,
      env: "CAIRN_S3_SECRET_ACCESS_KEY",
      flag: "--s3-secret-access-key",
      mustBe: "a secret access key",
      description: "Secret key for CAIRN_S3_ENDPOINT.",
    }),
  ),
  s3ForcePathStyle: Type.Boolean({
    default: true,
    env: "CAIRN_S3_FORCE_PATH_STYLE",
    flag: "--s3-force-path-style",
    mustBe: "true or false",
    description:
      "Address buckets as http://endpoint/bucket, as MinIO and most self-hosted stores need (no wildcard DNS); false for virtual-hosted style.",
  }),
  s3TimeoutMs: Type.Integer({
    minimum: 100,
    maximum: 600_000,
    default: 5_000,
    env: "CAIRN_S3_TIMEOUT_MS",
    flag: "--s3-timeout-ms",
    mustBe: "an integer 100–600000",
    description:
      "Connect timeout and idle timeout of every call to CAIRN_S3_ENDPOINT: a call with no byte moving for this long fails and is retried, and GetTrailStatus shows it as LatestDeliveryError. Not a deadline: uploads that keep moving are never cut.",
  }),
  deliveryIntervalSeconds: Type.Integer({
    minimum: 1,
    maximum: 86400,
    default: 60,
    env: "CAIRN_DELIVERY_INTERVAL_SECONDS",
    flag: "--delivery-interval-seconds",
    mustBe: "an integer 1–86400",
    description: "How often trails write log files (AWS: about every 5 minutes).",
  }),
  digestIntervalSeconds: Type.Integer({
    minimum: 1,
    maximum: 86400,
    default: 3600,
    env: "CAIRN_DIGEST_INTERVAL_SECONDS",
    flag: "--digest-interval-seconds",
    mustBe: "an integer 1–86400",
    description: "How often trails with log file validation write a signed digest file (AWS: hourly).",
  }),
  proxyUpstream: Type.Optional(
    Type.String({
      pattern: "^https?://",
      env: "CAIRN_PROXY_UPSTREAM",
      flag: "--proxy-upstream",
      mustBe: "an http:// or https:// URL",
      description:
        "Also run the capture proxy in the server's process, in front of this AWS-protocol endpoint: calls through it are recorded straight into the journal (docs/reference/proxy.md).",
    }),
  ),
  proxyPort: Type.Integer({
    minimum: 0,
    maximum: 65535,
    default: 7682,
    env: "CAIRN_PROXY_PORT",
    flag: "--proxy-port",
    mustBe: "an integer 0–65535",
    description: "TCP port of the in-process capture proxy (with CAIRN_PROXY_UPSTREAM). 0 picks a free port.",
  }),
  lakeFlushIntervalMs: Type.Integer({
    minimum: 50,
    maximum: 5000,
    default: 1000,
    env: "CAIRN_LAKE_FLUSH_INTERVAL_MS",
    flag: "--lake-flush-interval-ms",
    mustBe: "an integer 50–5000",
    description:
      "How often new events become Parquet in event data stores: the bound on how soon Lake queries see them.",
  }),
  importAllowedDirs: Type.Optional(
    Type.String({
      minLength: 1,
      env: "CAIRN_IMPORT_ALLOWED_DIRS",
      flag: "--import-allowed-dirs",
      mustBe: `absolute directory paths separated by '${delimiter}'`,
      description: `The only server directories StartImport may read a file:/// source from (and what lies below them, symlinks and '..' resolved), separated by '${delimiter}'. Unset: file:// sources are refused; imports read only s3:// buckets of the caller's account (docs/reference/security.md).`,
    }),
  ),
  lakeCompactionIntervalMs: Type.Integer({
    minimum: 0,
    maximum: 86_400_000,
    default: 30_000,
    env: "CAIRN_LAKE_COMPACTION_INTERVAL_MS",
    flag: "--lake-compaction-interval-ms",
    mustBe: "an integer 0–86400000",
    description:
      "How often small Parquet files of event data stores are merged (docs/reference/lake.md, Compaction); 0 turns compaction off.",
  }),
  insightsBaselineDays: Type.Integer({
    minimum: 1,
    maximum: 14,
    default: 7,
    env: "CAIRN_INSIGHTS_BASELINE_DAYS",
    flag: "--insights-baseline-days",
    mustBe: "an integer 1–14",
    description:
      "CloudTrail Insights: days of calls before each minute its rate is compared with (AWS: 7). At most 14, as 1-minute points are kept 15 days (docs/decisions/0019-insights.md).",
  }),
  insightsDetectionDelaySeconds: Type.Integer({
    minimum: 0,
    maximum: 3600,
    default: 30,
    env: "CAIRN_INSIGHTS_DETECTION_DELAY_SECONDS",
    flag: "--insights-detection-delay-seconds",
    mustBe: "an integer 0–3600",
    description:
      "CloudTrail Insights: a minute is judged once events this much later (eventTime) were seen in its account and region, or this long after the last one arrived: room for calls logged late.",
  }),
  insightsThresholdSigma: Type.Number({
    minimum: 1,
    maximum: 100,
    default: 6,
    env: "CAIRN_INSIGHTS_THRESHOLD_SIGMA",
    flag: "--insights-threshold-sigma",
    mustBe: "a number 1–100",
    description:
      "CloudTrail Insights: a minute is unusual when its calls exceed the baseline mean by this many standard deviations (and the minimum rate).",
  }),
  insightsMinimumRate: Type.Number({
    minimum: 1,
    maximum: 1_000_000,
    default: 10,
    env: "CAIRN_INSIGHTS_MINIMUM_RATE",
    flag: "--insights-minimum-rate",
    mustBe: "a number 1–1000000",
    description:
      "CloudTrail Insights: calls (or errors) per minute an API must exceed before its rate can be unusual, whatever its baseline.",
  }),
  insightsQuietMinutes: Type.Integer({
    minimum: 1,
    maximum: 1440,
    default: 5,
    env: "CAIRN_INSIGHTS_QUIET_MINUTES",
    flag: "--insights-quiet-minutes",
    mustBe: "an integer 1–1440",
    description: "CloudTrail Insights: minutes in a row back under the threshold that end an Insight (its End record).",
  }),
  healthMaxLagSeconds: Type.Integer({
    minimum: 1,
    maximum: 86400,
    default: 300,
    env: "CAIRN_HEALTH_MAX_LAG_SECONDS",
    flag: "--health-max-lag-seconds",
    mustBe: "an integer 1–86400",
    description:
      "GET /health reports `degraded` when a consumer's oldest waiting record is older than this, or its position has not moved for this long while records wait (docs/reference/security.md, Health).",
  }),
  databaseUrl: Type.Optional(
    Type.String({
      pattern: "^postgres(ql)?://\\S+$",
      env: "CAIRN_DATABASE_URL",
      // No flag, and errors give the length only: the URL usually carries the database password.
      secret: true,
      mustBe: "a postgres:// or postgresql:// URL",
      description:
        "Cluster mode: the PostgreSQL database every node shares (docs/reference/cluster.md). Needs CAIRN_JOURNAL_URL, CAIRN_S3_ENDPOINT and an explicit master key too. Unset: the embedded stores under the data dir.",
    }),
  ),
  journalUrl: Type.Optional(
    Type.String({
      pattern: `^nats://${NATS_HOST_PORT_PATTERN}(,(nats://)?${NATS_HOST_PORT_PATTERN})*$`,
      env: "CAIRN_JOURNAL_URL",
      flag: "--journal-url",
      mustBe: "nats://host:port, optionally followed by ,host:port for more servers of the same NATS cluster",
      description:
        "Cluster mode: the NATS servers whose JetStream stream is the journal (docs/reference/cluster.md). Needs CAIRN_DATABASE_URL too.",
    }),
  ),
  journalReplicas: Type.Integer({
    minimum: 1,
    maximum: 5,
    default: 1,
    env: "CAIRN_JOURNAL_REPLICAS",
    flag: "--journal-replicas",
    mustBe: "an integer 1–5",
    description:
      "Cluster mode: copies JetStream keeps of the journal stream; an append is acknowledged once a majority stored it. Used when the stream is created.",
  }),
  sigmaRulesDir: Type.Optional(
    Type.String({
      minLength: 1,
      env: "CAIRN_SIGMA_RULES_DIR",
      flag: "--sigma-rules-dir",
      mustBe: "a directory path",
      description:
        "Sigma rules (.yml/.yaml, walked recursively) evaluated live on every record: server-wide rules apply to every account's records. Loaded at start; a rule the engine refuses is reported with its reason and the server starts without it (docs/reference/sigma.md).",
    }),
  ),
  journalRetentionDays: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 3653,
      env: "CAIRN_JOURNAL_RETENTION_DAYS",
      flag: "--journal-retention-days",
      mustBe: "an integer 1–3653",
      description:
        "Cluster mode: days the JetStream journal keeps an entry once every consumer has processed it (default 7); repeats of a dedup key are recognised that long. Event history keeps its own copy of each record in PostgreSQL. The embedded journal always keeps CAIRN_HISTORY_RETENTION_DAYS, since the embedded Event history reads its records from it.",
    }),
  ),
  journalStream: Type.String({
    pattern: "^[A-Za-z0-9_-]{1,64}$",
    default: "cairn-journal",
    env: "CAIRN_JOURNAL_STREAM",
    flag: "--journal-stream",
    mustBe: "1–64 letters, digits, '-' or '_'",
    description: "Cluster mode: name of the JetStream stream holding the journal.",
  }),
  lakeBucket: Type.String({
    pattern: "^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
    default: "cairn-lake",
    env: "CAIRN_LAKE_BUCKET",
    flag: "--lake-bucket",
    mustBe: "an S3 bucket name (3–63 lowercase letters, digits, '.' or '-')",
    description:
      "Cluster mode: bucket on CAIRN_S3_ENDPOINT holding the Lake's Parquet files. An embedded server keeps its Lake under the data dir.",
  }),
  lakeCacheBytes: Type.Integer({
    minimum: 16_777_216,
    maximum: 1_125_899_906_842_624,
    default: 8_589_934_592,
    env: "CAIRN_LAKE_CACHE_BYTES",
    flag: "--lake-cache-bytes",
    mustBe: "an integer of bytes, 16 MiB–1 PiB",
    description:
      "Cluster mode: bound of this node's local read-through cache of the Lake's Parquet files (least recently used files are removed first; files a running query or compaction reads are kept).",
  }),
  lakeGraceMs: Type.Integer({
    minimum: 1_000,
    maximum: 604_800_000,
    default: 900_000,
    env: "CAIRN_LAKE_GRACE_MS",
    flag: "--lake-grace-ms",
    mustBe: "an integer of ms, 1000–604800000",
    description:
      "Cluster mode: how long a Parquet object that compaction or retention removed from the manifests (or that was uploaded but never committed) stays in the lake bucket before it is deleted, so other engines' running queries can still read it.",
  }),
  nodeId: Type.Optional(
    Type.String({
      pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
      env: "CAIRN_NODE_ID",
      flag: "--node-id",
      mustBe: "1–64 letters, digits, '.', '-' or '_', starting with a letter or digit",
      description:
        "Cluster mode: this node's name as a lease holder; unique per node. Unset: derived from the host name and port (a random suffix with --port 0).",
    }),
  ),
});

export type ServerSettings = Static<typeof ServerSettingsSchema>;
export type ServerSettingName = keyof ServerSettings;

/** Names of the fields whose value is a number (and so is parsed from a string). */
const NUMERIC_SETTINGS: ReadonlySet<ServerSettingName> = new Set([
  "port",
  "historyRetentionDays",
  "lookupEventsTps",
  "maxInflightBodyBytes",
  "s3Port",
  "s3TimeoutMs",
  "deliveryIntervalSeconds",
  "digestIntervalSeconds",
  "proxyPort",
  "lakeFlushIntervalMs",
  "lakeCompactionIntervalMs",
  "healthMaxLagSeconds",
  "insightsBaselineDays",
  "insightsDetectionDelaySeconds",
  "insightsThresholdSigma",
  "insightsMinimumRate",
  "insightsQuietMinutes",
  "journalReplicas",
  "journalRetentionDays",
  "lakeCacheBytes",
  "lakeGraceMs",
]);
const BOOLEAN_SETTINGS: ReadonlySet<ServerSettingName> = new Set(["s3ForcePathStyle"]);

/** CAIRN_IMPORT_ALLOWED_DIRS as a list: empty when unset, so file:// imports are refused. */
export function importAllowedDirectories(settings: Pick<ServerSettings, "importAllowedDirs">): string[] {
  return (settings.importAllowedDirs ?? "").split(delimiter).filter((directory) => directory !== "");
}

/** The metadata the schema keeps beside each field. */
export interface SettingSource {
  readonly env: string;
  /** Absent for settings read from the environment only (the master key). */
  readonly flag?: string;
  /** Error messages say how long the value was, never what it was. */
  readonly secret?: boolean;
  readonly mustBe: string;
  readonly description: string;
  readonly default?: unknown;
}

/** Every setting's flag, environment variable, default and description, in schema order. */
export function settingSources(): Array<[ServerSettingName, SettingSource]> {
  return (Object.keys(ServerSettingsSchema.properties) as ServerSettingName[]).map((name) => [
    name,
    ServerSettingsSchema.properties[name] as unknown as TSchema & SettingSource,
  ]);
}

/** One or more settings are invalid; `message` lists each on its own line. */
export class SettingsError extends Error {
  override readonly name = "SettingsError";
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
  }
}

/**
 * Reads the server settings: flag beats environment variable beats default. Throws SettingsError
 * naming every invalid value, e.g. `CAIRN_PORT: must be an integer 0–65535 (got "abc")`.
 *
 * @example
 * const settings = loadServerSettings({ port: "0" }, process.env);
 */
export function loadServerSettings(flags: Record<string, unknown>, env: NodeJS.ProcessEnv): ServerSettings {
  return loadSettings(Object.keys(ServerSettingsSchema.properties) as ServerSettingName[], flags, env);
}

/**
 * Reads only the named settings, so a command such as `cairn principal add` is not refused because
 * of an unrelated bad variable (say CAIRN_PORT) in the environment.
 */
export function loadSettings<K extends ServerSettingName>(
  names: readonly K[],
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): Pick<ServerSettings, K> {
  const problems: string[] = [];
  const settings: Partial<Record<ServerSettingName, unknown>> = {};
  // Set but refused: named as invalid above, so not also as missing from cluster mode.
  const invalid = new Set<ServerSettingName>();
  for (const name of names) {
    const source = ServerSettingsSchema.properties[name] as unknown as TSchema & SettingSource;
    const raw = readRaw(name, source, flags, env);
    if (raw === undefined) {
      if (source.default !== undefined) settings[name] = source.default;
      continue;
    }
    const value = NUMERIC_SETTINGS.has(name)
      ? parseNumber(raw.value)
      : BOOLEAN_SETTINGS.has(name)
        ? parseBoolean(raw.value)
        : raw.value;
    if (!Value.Check(source, value) || !passesExtraRule(name, value)) {
      invalid.add(name);
      const got = source.secret === true ? `${raw.value.length} characters` : JSON.stringify(raw.value);
      problems.push(`${raw.origin}: must be ${source.mustBe} (got ${got})`);
      continue;
    }
    settings[name] = value;
  }
  if (typeof settings.dataDir === "string") settings.dataDir = resolve(settings.dataDir);
  const keyNames = names as readonly ServerSettingName[];
  if (keyNames.includes("accessKeyId") && keyNames.includes("secretAccessKey")) {
    if ((settings.accessKeyId === undefined) !== (settings.secretAccessKey === undefined)) {
      problems.push("CAIRN_ACCESS_KEY_ID and CAIRN_SECRET_ACCESS_KEY: must be set together (or both left unset)");
    }
  }
  const clusterProblem = partialClusterProblem(keyNames, settings, invalid);
  if (clusterProblem !== undefined) problems.push(clusterProblem);
  if (
    settings.journalRetentionDays !== undefined &&
    settings.databaseUrl === undefined &&
    settings.journalUrl === undefined
  )
    problems.push(
      "CAIRN_JOURNAL_RETENTION_DAYS: applies to cluster mode only (the embedded journal keeps CAIRN_HISTORY_RETENTION_DAYS)",
    );
  if (problems.length > 0) throw new SettingsError(problems);
  return settings as Pick<ServerSettings, K>;
}

/** The settings that together make cluster mode (docs/reference/cluster.md). */
const CLUSTER_NAMES = ["databaseUrl", "journalUrl", "s3Endpoint", "masterKey", "masterKeyFile"] as const;

/** Cluster mode's journal retention when CAIRN_JOURNAL_RETENTION_DAYS is unset. */
const CLUSTER_JOURNAL_RETENTION_DAYS = 7;

/**
 * How long the journal keeps what every consumer processed: in cluster mode its own setting; the
 * embedded Event history reads its records from the journal, so there it is the history's period.
 */
export function journalRetentionDays(
  settings: Pick<ServerSettings, "databaseUrl" | "journalUrl" | "journalRetentionDays" | "historyRetentionDays">,
): number {
  return isClusterMode(settings)
    ? (settings.journalRetentionDays ?? CLUSTER_JOURNAL_RETENTION_DAYS)
    : settings.historyRetentionDays;
}

/** Cluster mode: every node shares PostgreSQL, the JetStream journal and S3 instead of the data dir. */
export function isClusterMode(settings: Pick<ServerSettings, "databaseUrl" | "journalUrl">): boolean {
  return settings.databaseUrl !== undefined || settings.journalUrl !== undefined;
}

/**
 * One problem naming every missing piece when CAIRN_DATABASE_URL or CAIRN_JOURNAL_URL is set without
 * the rest: half a cluster (say nodes sharing PostgreSQL but each with its own journal on its disk)
 * would lose or split data silently, so it is refused before anything opens.
 */
function partialClusterProblem(
  names: readonly ServerSettingName[],
  settings: Partial<Record<ServerSettingName, unknown>>,
  invalid: ReadonlySet<ServerSettingName>,
): string | undefined {
  if (!CLUSTER_NAMES.every((name) => names.includes(name))) return undefined;
  const given = (name: ServerSettingName) => settings[name] !== undefined || invalid.has(name);
  if (!given("databaseUrl") && !given("journalUrl")) return undefined;
  const missing: string[] = [];
  if (!given("databaseUrl")) missing.push("CAIRN_DATABASE_URL");
  if (!given("journalUrl")) missing.push("CAIRN_JOURNAL_URL");
  if (!given("s3Endpoint")) missing.push("CAIRN_S3_ENDPOINT");
  // Every node must seal and open secrets with the same key: a generated <data-dir>/master.key is one node's only.
  if (!given("masterKey") && !given("masterKeyFile")) missing.push("CAIRN_MASTER_KEY or CAIRN_MASTER_KEY_FILE");
  if (names.includes("s3AccessKeyId") && names.includes("s3SecretAccessKey")) {
    if (given("s3AccessKeyId") && !given("s3SecretAccessKey")) {
      missing.push("CAIRN_S3_SECRET_ACCESS_KEY (CAIRN_S3_ACCESS_KEY_ID is set)");
    }
    if (!given("s3AccessKeyId") && given("s3SecretAccessKey")) {
      missing.push("CAIRN_S3_ACCESS_KEY_ID (CAIRN_S3_SECRET_ACCESS_KEY is set)");
    }
  }
  if (missing.length === 0) return undefined;
  return (
    "cluster mode needs CAIRN_DATABASE_URL, CAIRN_JOURNAL_URL, CAIRN_S3_ENDPOINT and an explicit master key together; " +
    `missing: ${missing.join(", ")} (docs/reference/cluster.md). Unset CAIRN_DATABASE_URL and CAIRN_JOURNAL_URL for the embedded server.`
  );
}

/** Rules a schema cannot say: every directory of CAIRN_IMPORT_ALLOWED_DIRS is absolute. */
function passesExtraRule(name: ServerSettingName, value: unknown): boolean {
  if (name !== "importAllowedDirs" || typeof value !== "string") return true;
  return value.split(delimiter).every((directory) => directory === "" || isAbsolute(directory));
}

function readRaw(
  name: ServerSettingName,
  source: SettingSource,
  flags: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
): { value: string; origin: string } | undefined {
  const flagValue = flags[name];
  if (source.flag !== undefined && flagValue !== undefined && flagValue !== null) {
    return { value: String(flagValue), origin: source.flag };
  }
  const envValue = env[source.env];
  // An empty variable counts as unset, so `CAIRN_PORT= cairn server` behaves like no variable at all.
  if (envValue !== undefined && envValue !== "") return { value: envValue, origin: source.env };
  return undefined;
}

/** Strict decimal parsing: Number("") is 0 and Number("0x10") is 16, neither of which we want to accept. */
function parseNumber(text: string): number | string {
  return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(text.trim()) ? Number(text) : text;
}

function parseBoolean(text: string): boolean | string {
  const lower = text.trim().toLowerCase();
  return lower === "true" || lower === "1" ? true : lower === "false" || lower === "0" ? false : text;
}
