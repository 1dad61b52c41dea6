import { UsageError } from "./usage-error.js";
import { Command, InvalidArgumentError, Option } from "commander";
import { loadServerSettings, loadSettings, settingSources } from "../config/settings.js";
import { resolveClientSettings, type ClientFlags } from "../client/client-settings.js";
import { isPrincipalType, PRINCIPAL_TYPES } from "../stores/principals/index.js";
import { runIngest } from "./commands/ingest.js";
import { runRotateMasterKey } from "./commands/keys.js";
import { runPrincipalAdd, runPrincipalList } from "./commands/principal.js";
import { runPrincipalAttach, runPrincipalDetach, runPrincipalShow } from "./commands/principal-policies.js";
import { runTail } from "./commands/tail.js";
import { runServer } from "./server-command.js";

/** Set by a command whose work is done but whose outcome is a failure (e.g. a file that failed to ingest). */
export interface CommandOutcome {
  exitCode: number;
}

/**
 * Builds the `cairn` command tree. Actions throw on failure; main.ts turns errors into messages and
 * exit codes, so the tree itself stays testable.
 */
export function buildProgram(outcome: CommandOutcome): Command {
  const program = new Command("cairn")
    .description("Cairn: a self-hosted audit trail that speaks the AWS CloudTrail API and formats.")
    .showHelpAfterError()
    // Throw instead of exiting, so main.ts decides exit codes (2 for usage errors).
    .exitOverride();

  const server = program
    .command("server")
    .description("Run the Cairn server (settings: flags, else CAIRN_* variables).");
  // Commander names each option after its flag in camelCase (--data-dir → dataDir), which is the
  // settings field name: the flags object goes to loadServerSettings as it is.
  for (const [, source] of settingSources()) {
    if (source.flag === undefined) continue;
    const defaultText = source.default === undefined ? "" : ` (default: ${String(source.default)})`;
    server.option(`${source.flag} <value>`, `${source.description}${defaultText} [${source.env}]`);
  }
  server.action(async (flags: Record<string, unknown>) => {
    await runServer(loadServerSettings(flags, process.env));
  });

  addPrincipalCommands(program);
  addKeysCommands(program);
  addClientCommands(program, outcome);
  addQuarantineCommands(program);
  addEventsCommands(program);
  addValidateLogsCommand(program, outcome);
  addProxyCommand(program);
  addLakeCommands(program, outcome);
  addMigrateCommand(program);
  addSigmaCommands(program, outcome);
  return program;
}

/** The cluster settings `cairn migrate --to-cluster` reads: the target's, as a cluster node reads them. */
const MIGRATE_SETTINGS = [
  ...["dataDir", "databaseUrl", "journalUrl", "journalStream", "journalReplicas", "s3Endpoint", "s3Region"],
  ...["s3AccessKeyId", "s3SecretAccessKey", "s3ForcePathStyle", "s3TimeoutMs", "masterKey", "masterKeyFile"],
  "lakeBucket",
] as const;

function addMigrateCommand(program: Command): void {
  program
    .command("migrate")
    .description(
      "Copy a stopped embedded server's data directory into a cluster (PostgreSQL, JetStream, S3) named by the " +
        "CAIRN_DATABASE_URL, CAIRN_JOURNAL_URL, CAIRN_S3_* and CAIRN_MASTER_KEY[_FILE] variables. Safe to run again: " +
        "it resumes where it stopped and copies nothing twice (docs/reference/cluster.md).",
    )
    .option("--to-cluster", "copy into the cluster (the one target so far)")
    .option("--data-dir <dir>", "the embedded server's data directory (default: CAIRN_DATA_DIR or ./.cairn)")
    .option(
      "--source-master-key-file <file>",
      "the master key the embedded server used, when it is neither <data-dir>/master.key nor the cluster's",
    )
    .action(async (flags: { toCluster?: boolean; dataDir?: string; sourceMasterKeyFile?: string }) => {
      if (flags.toCluster !== true) throw new UsageError("Say where to migrate to: --to-cluster.");
      const settings = loadSettings(MIGRATE_SETTINGS, { dataDir: flags.dataDir }, process.env);
      if (settings.databaseUrl === undefined || settings.journalUrl === undefined)
        throw new UsageError(
          "cairn migrate --to-cluster needs the cluster's settings: CAIRN_DATABASE_URL, CAIRN_JOURNAL_URL, " +
            "CAIRN_S3_ENDPOINT and CAIRN_MASTER_KEY or CAIRN_MASTER_KEY_FILE (docs/reference/cluster.md).",
        );
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
      const { runMigrate } = await import("./commands/migrate.js");
      await runMigrate({
        dataDir: settings.dataDir,
        cluster: settings,
        ...(flags.sourceMasterKeyFile !== undefined ? { sourceMasterKeyFile: flags.sourceMasterKeyFile } : {}),
        stdout: process.stdout,
        stderr: process.stderr,
      });
    });
}

function addProxyCommand(program: Command): void {
  program
    .command("proxy")
    .description("Run the capture proxy: record every call to an AWS-compatible endpoint as a CloudTrail event.")
    .requiredOption("--upstream <url>", "the endpoint to proxy, e.g. http://127.0.0.1:5000")
    .option("--port <port>", "port to listen on (0: any free port)", nonNegativeInteger, 7682)
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option(
      "--server <url>",
      "Cairn server receiving the events (default: CAIRN_ENDPOINT_URL or http://127.0.0.1:7680)",
    )
    .option("--data-dir <dir>", "credentials, principals.db and the spool (default: CAIRN_DATA_DIR or ./.cairn)")
    .option("--verify-signatures", "refuse requests not signed with the secret of a known principal")
    .option("--tls-cert <file>", "listen with HTTPS: PEM certificate (default: CAIRN_PROXY_TLS_CERT)")
    .option("--tls-key <file>", "PEM private key for --tls-cert (default: CAIRN_PROXY_TLS_KEY)")
    .action(
      async (flags: {
        upstream: string;
        port: number;
        host: string;
        server?: string;
        dataDir?: string;
        verifySignatures?: boolean;
        tlsCert?: string;
        tlsKey?: string;
      }) => {
        if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
          throw new UsageError("--tls-cert and --tls-key go together");
        }
        const { dataDir, accountId } = loadSettings(["dataDir", "accountId"], flags, process.env);
        const { databaseUrl } = clusterSecretSettings();
        const { runProxy } = await import("./commands/proxy.js");
        const stopped = new Promise<void>((resolve) => {
          process.once("SIGINT", () => resolve());
          process.once("SIGTERM", () => resolve());
        });
        await runProxy({
          upstream: flags.upstream,
          port: flags.port,
          host: flags.host,
          server: flags.server,
          dataDir,
          accountId,
          verifySignatures: flags.verifySignatures === true,
          ...(databaseUrl !== undefined ? { databaseUrl } : {}),
          ...(flags.tlsCert !== undefined && flags.tlsKey !== undefined
            ? { tls: { certPath: flags.tlsCert, keyPath: flags.tlsKey } }
            : {}),
          env: process.env,
          stdout: process.stdout,
          stderr: process.stderr,
          stopped,
        });
      },
    );
}

function addPrincipalCommands(program: Command): void {
  const principal = program.command("principal").description("Manage principals (callers and their access keys).");
  principal
    .command("add")
    .description(
      "Create a principal with an access key and print the key. Works whether or not the server runs. " +
        "With CAIRN_DATABASE_URL (cluster mode) it goes to the cluster's PostgreSQL.",
    )
    .requiredOption("--name <name>", "IAM user name, role/session for AssumedRole, or a label for Root")
    .addOption(new Option("--type <type>", "principal type").choices(PRINCIPAL_TYPES).default("IAMUser"))
    .option("--account-id <id>", "12-digit account id (default: CAIRN_ACCOUNT_ID or 123456789012)")
    .option("--access-key-id <id>", "use this access key id instead of generating one")
    .option("--secret-access-key <secret>", "secret for --access-key-id")
    .option("--data-dir <dir>", "data directory (default: CAIRN_DATA_DIR or ./.cairn)")
    .option("--policy <file>", "give an inline policy read from this JSON file (repeatable)", collect, [])
    .option("--policy-arn <arn>", "attach this AWS managed policy (repeatable)", collect, [])
    .option("--json", "print JSON")
    .action(async (flags: Record<string, unknown>) => {
      const type = String(flags.type);
      if (!isPrincipalType(type))
        throw new InvalidArgumentError(`--type: must be one of ${PRINCIPAL_TYPES.join(", ")}`);
      const { dataDir, accountId } = loadSettings(["dataDir", "accountId"], flags, process.env);
      // Keys come from the flags only: CAIRN_ACCESS_KEY_ID in the environment is the server's admin key.
      const keys = loadSettings(["accessKeyId", "secretAccessKey"], flags, {});
      const { databaseUrl, ...masterKeySource } = clusterSecretSettings();
      await runPrincipalAdd({
        dataDir,
        accountId,
        masterKeySource,
        ...(databaseUrl !== undefined ? { databaseUrl } : {}),
        type,
        name: String(flags.name),
        json: flags.json === true,
        stdout: process.stdout,
        policyFiles: flags.policy as string[],
        policyArns: flags.policyArn as string[],
        ...keys,
      });
    });
  addPrincipalPolicyCommands(principal);
  principal
    .command("list")
    .description("List principals and their access key ids (never secrets); the cluster's with CAIRN_DATABASE_URL.")
    .option("--data-dir <dir>", "data directory (default: CAIRN_DATA_DIR or ./.cairn)")
    .option("--json", "print JSON")
    .action(async (flags: Record<string, unknown>) => {
      const { dataDir } = loadSettings(["dataDir"], flags, process.env);
      const { databaseUrl, ...masterKeySource } = clusterSecretSettings();
      await runPrincipalList({
        dataDir,
        ...(databaseUrl !== undefined ? { databaseUrl, masterKeySource } : {}),
        json: flags.json === true,
        stdout: process.stdout,
      });
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** attach, detach and show: clients of the IAM-shaped API, authorised and recorded like `aws iam`. */
function addPrincipalPolicyCommands(principal: Command): void {
  const common = (command: Command) =>
    withClientOptions(command)
      .requiredOption("--name <user>", "IAM user name")
      .option("--account-id <id>", "another account's user (the bootstrap admin only)")
      .option("--json", "print JSON");
  const api = (flags: Record<string, unknown>) => ({
    client: resolveClientSettings(flags as ClientFlags, process.env),
    userName: String(flags.name),
    ...(typeof flags.accountId === "string" ? { accountId: flags.accountId } : {}),
    json: flags.json === true,
    stdout: process.stdout,
  });
  const change = (flags: Record<string, unknown>) => ({
    policyArns: flags.policyArn as string[],
    policyFiles: (flags.policy as string[] | undefined) ?? [],
    ...(typeof flags.policyName === "string" ? { policyName: flags.policyName } : {}),
  });
  common(principal.command("attach"))
    .description("Attach managed policies or put inline policies on a user (IAM AttachUserPolicy/PutUserPolicy).")
    .option("--policy-arn <arn>", "AWS managed policy ARN (repeatable)", collect, [])
    .option("--policy <file>", "inline policy JSON file (repeatable)", collect, [])
    .option("--policy-name <name>", "inline policy name (default: the file name without extension)")
    .action(async (flags: Record<string, unknown>) => runPrincipalAttach({ ...api(flags), ...change(flags) }));
  common(principal.command("detach"))
    .description("Detach a managed policy or delete an inline policy (IAM DetachUserPolicy/DeleteUserPolicy).")
    .option("--policy-arn <arn>", "AWS managed policy ARN (repeatable)", collect, [])
    .option("--policy-name <name>", "inline policy name")
    .action(async (flags: Record<string, unknown>) => runPrincipalDetach({ ...api(flags), ...change(flags) }));
  common(principal.command("show"))
    .description("Show a user, its access key ids and its policies.")
    .action(async (flags: Record<string, unknown>) => {
      await runPrincipalShow(api(flags));
    });
}

/**
 * The master key settings, and CAIRN_DATABASE_URL when the environment asks for cluster mode, read
 * as the server reads them: a partial cluster combination is refused (exit 2) before anything opens,
 * rather than a command quietly working on a data directory no node uses.
 */
function clusterSecretSettings(): { databaseUrl?: string; masterKey?: string; masterKeyFile?: string } {
  const settings = loadSettings(
    ["databaseUrl", "journalUrl", "s3Endpoint", "s3AccessKeyId", "s3SecretAccessKey", "masterKey", "masterKeyFile"],
    {},
    process.env,
  );
  return {
    ...(settings.databaseUrl !== undefined ? { databaseUrl: settings.databaseUrl } : {}),
    ...(settings.masterKey !== undefined ? { masterKey: settings.masterKey } : {}),
    ...(settings.masterKeyFile !== undefined ? { masterKeyFile: settings.masterKeyFile } : {}),
  };
}

function addKeysCommands(program: Command): void {
  const keys = program
    .command("keys")
    .description(
      "Manage the master key that seals the data directory's (or, with CAIRN_DATABASE_URL, the cluster's) secrets.",
    );
  keys
    .command("rotate-master")
    .description(
      "Re-seal every secret of the data directory (secret access keys, signing private keys) under a new master key. " +
        "Stop the server first: Cairn cannot tell whether a server is using the directory. " +
        "The current key is found as the server finds it (CAIRN_MASTER_KEY, CAIRN_MASTER_KEY_FILE, else <data-dir>/master.key). " +
        "Crash-safe: if it stops midway, run it again with the same keys to finish. " +
        "With CAIRN_DATABASE_URL (cluster mode) it re-seals the cluster's secrets in PostgreSQL in one transaction: " +
        "stop every node first, give the new key with --new-master-key-file, then start every node with it.",
    )
    .option("--data-dir <dir>", "data directory (default: CAIRN_DATA_DIR or ./.cairn)")
    .option(
      "--new-master-key-file <file>",
      "the new key (base64 of 32 bytes, e.g. from `openssl rand -base64 32`); without it, a generated key replaces <data-dir>/master.key",
    )
    .action(async (flags: { dataDir?: string; newMasterKeyFile?: string }) => {
      const { dataDir } = loadSettings(["dataDir"], flags, process.env);
      const { databaseUrl, ...masterKeySource } = clusterSecretSettings();
      await runRotateMasterKey({
        dataDir,
        masterKeySource,
        ...(databaseUrl !== undefined ? { databaseUrl } : {}),
        ...(flags.newMasterKeyFile !== undefined ? { newMasterKeyFile: flags.newMasterKeyFile } : {}),
        stdout: process.stdout,
      });
    });
}

function withClientOptions(command: Command): Command {
  return command
    .option("--endpoint-url <url>", "server URL (default: CAIRN_ENDPOINT_URL or http://127.0.0.1:7680)")
    .option("--region <region>", "signing region (default: AWS_REGION, AWS_DEFAULT_REGION, CAIRN_REGION or us-east-1)")
    .option(
      "--data-dir <dir>",
      "where to read the credentials file when AWS_ACCESS_KEY_ID is unset (default: CAIRN_DATA_DIR or ./.cairn)",
    );
}

function addClientCommands(program: Command, outcome: CommandOutcome): void {
  withClientOptions(
    program.command("ingest").argument("<paths...>", "trail log files (.json, .json.gz) or directories"),
  )
    .description("Send CloudTrail log files to a running server's /ingest endpoint.")
    .action(async (paths: string[], flags: ClientFlags) => {
      const client = resolveClientSettings(flags, process.env);
      const report = await runIngest({
        paths,
        client,
        stdout: process.stdout,
        stderr: process.stderr,
        progress: process.stderr.isTTY === true,
      });
      outcome.exitCode = report.exitCode;
    });

  withClientOptions(program.command("lookup"))
    .description("Query Event history (LookupEvents) and print a table.")
    .option(
      "--attribute <Key=Value>",
      "filter; repeat to AND several",
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option("--start-time <time>", "ISO-8601, epoch seconds, now, or relative: -15m, -2h, -7d")
    .option("--end-time <time>", "same forms as --start-time")
    .option("--max-results <n>", "page size, 1–50", positiveInteger)
    .option("--max-items <n>", "stop after this many events", positiveInteger)
    .option("--json", "print the raw Events array")
    .action(
      async (
        flags: ClientFlags & {
          attribute: string[];
          startTime?: string;
          endTime?: string;
          maxResults?: number;
          maxItems?: number;
          json?: boolean;
        },
      ) => {
        // The SDK warns on every run that future versions need Node 22; Cairn supports Node 20, so it is noise here.
        process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
        // Loaded here: the AWS SDK adds a fifth of a second to every start of every other command.
        const { runLookup } = await import("./commands/lookup.js");
        await runLookup({
          ...flags,
          attributes: flags.attribute,
          client: resolveClientSettings(flags, process.env),
          stdout: process.stdout,
        });
      },
    );

  withClientOptions(program.command("tail"))
    .description("Follow new events as the server records them.")
    .option("--json", "print each record as a JSON line")
    .option(
      "--from-seq <n>",
      "first replay records from this journal sequence number (0: from the first record still in the journal)",
      nonNegativeInteger,
    )
    .option("--with-provenance", "also show who ingested each record (principal, access key, path)")
    .action(async (flags: ClientFlags & { json?: boolean; fromSeq?: number; withProvenance?: boolean }) => {
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      await runTail({
        ...flags,
        client: resolveClientSettings(flags, process.env),
        stdout: process.stdout,
        stderr: process.stderr,
        signal: controller.signal,
      });
    });
}

/** `cairn quarantine list|dismiss`: through the server's API, as `cairn lookup` (the quarantine is the server's state). */
function addQuarantineCommands(program: Command): void {
  const quarantine = program
    .command("quarantine")
    .description("Records the server's consumers set aside because a store refused them.");
  withClientOptions(quarantine.command("list"))
    .description("List quarantined records: consumer, journal seq, eventID, error, time (oldest first).")
    .option("--consumer <name>", "only this consumer's: event-history, lake-writer or trail-delivery:<trail ARN>")
    .option("--max-items <n>", "stop after this many records", positiveInteger)
    .option("--json", "print JSON")
    .action(async (flags: ClientFlags & { consumer?: string; maxItems?: number; json?: boolean }) => {
      const { runQuarantineList } = await import("./commands/quarantine.js");
      await runQuarantineList({
        ...flags,
        client: resolveClientSettings(flags, process.env),
        stdout: process.stdout,
      });
    });
  withClientOptions(quarantine.command("dismiss"))
    .description("Clear quarantined records you have looked at: by consumer and/or seq, or --all.")
    .option("--consumer <name>", "only this consumer's: event-history, lake-writer or trail-delivery:<trail ARN>")
    .option("--seq <n>", "only the records of this journal seq", positiveInteger)
    .option("--all", "every quarantined record you may see (not with --consumer or --seq)")
    .action(async (flags: ClientFlags & { consumer?: string; seq?: number; all?: boolean }) => {
      if ((flags.all === true) === (flags.consumer !== undefined || flags.seq !== undefined))
        throw new UsageError("Name the records to dismiss: --consumer and/or --seq, or --all alone.");
      const { runQuarantineDismiss } = await import("./commands/quarantine.js");
      await runQuarantineDismiss({
        ...flags,
        client: resolveClientSettings(flags, process.env),
        stdout: process.stdout,
      });
    });
}

/** `cairn events failures`: what EventBridge rule delivery gave up on (Cairn's own EventBridge operation). */
function addEventsCommands(program: Command): void {
  const events = program.command("events").description("EventBridge rules on the server.");
  withClientOptions(events.command("failures"))
    .description("List the events your rules gave up delivering to a target (oldest first).")
    .option("--rule <name>", "only this rule's")
    .option("--max-items <n>", "stop after this many failures", positiveInteger)
    .option("--json", "print JSON")
    .action(async (flags: ClientFlags & { rule?: string; maxItems?: number; json?: boolean }) => {
      const { runEventsFailures } = await import("./commands/events.js");
      await runEventsFailures({ ...flags, client: resolveClientSettings(flags, process.env), stdout: process.stdout });
    });
}

function addValidateLogsCommand(program: Command, outcome: CommandOutcome): void {
  withClientOptions(program.command("validate-logs"))
    .description("Validate a trail's log files against its signed digest files (as `aws cloudtrail validate-logs`).")
    .requiredOption("--trail-arn <arn>", "ARN of the trail to validate")
    .requiredOption("--start-time <time>", "validate files delivered at or after this UTC time")
    .option("--end-time <time>", "validate files delivered at or before this UTC time (default: now)")
    .option("--s3-bucket <bucket>", "bucket holding the digests (default: the trail's, from DescribeTrails)")
    .option("--s3-prefix <prefix>", "key prefix to use with --s3-bucket")
    .option("--account-id <id>", "account whose files to validate (default: the trail's)")
    .option("--verbose", "print a line for every valid digest and log file too")
    .option("--s3-endpoint-url <url>", "S3 endpoint holding the files (default: AWS_ENDPOINT_URL_S3)")
    .option("--bucket-dir <dir>", "offline: read buckets from this directory (one directory per bucket)")
    .action(async (flags: import("./commands/validate-logs.js").ValidateLogsFlags) => {
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
      // Loaded here: the AWS SDK adds a fifth of a second to every start of every other command.
      const { runValidateLogs } = await import("./commands/validate-logs.js");
      outcome.exitCode = await runValidateLogs({
        flags,
        env: process.env,
        stdout: process.stdout,
        stderr: process.stderr,
        progress: process.stderr.isTTY === true,
      });
    });
}

function addLakeCommands(program: Command, outcome: CommandOutcome): void {
  withClientOptions(program.command("query").argument("<sql>", "a Lake SELECT statement naming an event data store id"))
    .description("Run a CloudTrail Lake query (StartQuery, then GetQueryResults) and print the rows.")
    .option("--json", "print the rows as a JSON list of objects")
    .option("--csv", "print the rows as CSV")
    .action(async (sql: string, flags: ClientFlags & { json?: boolean; csv?: boolean }) => {
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
      const { runQuery } = await import("./commands/query.js");
      await runQuery({ ...flags, sql, client: resolveClientSettings(flags, process.env), stdout: process.stdout });
    });
  withClientOptions(program.command("import").argument("<dir>", "directory of trail log files (.json, .json.gz)"))
    .description("Import CloudTrail log archives into an event data store (StartImport with a file:// source).")
    .requiredOption("--event-data-store <id>", "event data store id or ARN")
    .action(async (dir: string, flags: ClientFlags & { eventDataStore: string }) => {
      process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
      const { runImport } = await import("./commands/import.js");
      outcome.exitCode = await runImport({
        directory: dir,
        eventDataStore: flags.eventDataStore,
        client: resolveClientSettings(flags, process.env),
        stdout: process.stdout,
        stderr: process.stderr,
        progress: process.stderr.isTTY === true,
      });
    });
}

/** `cairn sigma test|run`: Sigma rules over record files, or over an event data store's history. */
function addSigmaCommands(program: Command, outcome: CommandOutcome): void {
  const sigma = program
    .command("sigma")
    .description("Sigma rules (product: aws, service: cloudtrail) over CloudTrail records.");
  sigma
    .command("test")
    .argument("<rules...>", "Sigma rule files (.yml, .yaml) or directories")
    .requiredOption("--records <paths...>", "CloudTrail log files (.json, .json.gz), JSON lines files, or directories")
    .option("--json", "print one JSON object per match: ruleId, title, level, eventID, eventTime")
    .description("Evaluate Sigma rules over record files in eventTime order and print the matches.")
    .action(async (rulePaths: string[], flags: { records: string[]; json?: boolean }) => {
      const { runSigmaTest } = await import("./commands/sigma-test.js");
      outcome.exitCode = await runSigmaTest({
        rulePaths,
        recordPaths: flags.records,
        json: flags.json === true,
        stdout: process.stdout,
        stderr: process.stderr,
      });
    });
  withClientOptions(sigma.command("run").argument("<rules...>", "Sigma rule files (.yml, .yaml) or directories"))
    .requiredOption("--event-data-store <id>", "event data store id or ARN to hunt over")
    .option("--start-time <time>", "only events at or after: ISO-8601, epoch seconds, now, or relative: -15m, -2h, -7d")
    .option("--end-time <time>", "only events at or before (same forms as --start-time)")
    .option("--json", "print one JSON object per match: ruleId, title, level, eventID, eventTime")
    .description("Translate Sigma rules to Lake SQL, run them over an event data store's history, print the matches.")
    .action(
      async (
        rulePaths: string[],
        flags: ClientFlags & { eventDataStore: string; startTime?: string; endTime?: string; json?: boolean },
      ) => {
        process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
        const { runSigmaRun } = await import("./commands/sigma-run.js");
        outcome.exitCode = await runSigmaRun({
          client: resolveClientSettings(flags, process.env),
          rulePaths,
          eventDataStore: flags.eventDataStore,
          ...(flags.startTime !== undefined ? { startTime: flags.startTime } : {}),
          ...(flags.endTime !== undefined ? { endTime: flags.endTime } : {}),
          json: flags.json === true,
          stdout: process.stdout,
          stderr: process.stderr,
        });
      },
    );
  addSigmaLiveCommands(sigma, outcome);
}

function addSigmaLiveCommands(sigma: Command, outcome: CommandOutcome): void {
  const streams = { stdout: process.stdout, stderr: process.stderr };
  withClientOptions(sigma.command("add").argument("<files...>", "Sigma rule files, one rule each"))
    .description("Add Sigma rules to your account: evaluated live on its records (a rule of the same id is replaced).")
    .action(async (files: string[], flags: ClientFlags) => {
      const { runSigmaAdd } = await import("./commands/sigma-rules.js");
      outcome.exitCode = await runSigmaAdd({ ...streams, files, client: resolveClientSettings(flags, process.env) });
    });
  withClientOptions(sigma.command("list"))
    .description("List your account's live Sigma rules.")
    .option("--json", "print one JSON object per rule")
    .action(async (flags: ClientFlags & { json?: boolean }) => {
      const { runSigmaList } = await import("./commands/sigma-rules.js");
      await runSigmaList({ ...streams, json: flags.json === true, client: resolveClientSettings(flags, process.env) });
    });
  withClientOptions(sigma.command("remove").argument("<id>", "the rule's id"))
    .description("Remove one of your account's live Sigma rules.")
    .action(async (id: string, flags: ClientFlags) => {
      const { runSigmaRemove } = await import("./commands/sigma-rules.js");
      await runSigmaRemove({ ...streams, id, client: resolveClientSettings(flags, process.env) });
    });
  withClientOptions(sigma.command("matches"))
    .description("List the live matches of Sigma rules on your account's records, oldest first.")
    .option("--rule <id>", "only this rule's matches")
    .option(
      "--start-time <time>",
      "only matches of events at or after: ISO-8601, epoch seconds, now, or -15m, -2h, -7d",
    )
    .option("--end-time <time>", "only matches of events at or before (same forms as --start-time)")
    .option("--json", "print one JSON object per match: ruleId, title, level, eventID, eventIDs, eventTime, matchedAt")
    .action(async (flags: ClientFlags & { rule?: string; startTime?: string; endTime?: string; json?: boolean }) => {
      const { runSigmaMatches } = await import("./commands/sigma-rules.js");
      await runSigmaMatches({
        ...streams,
        client: resolveClientSettings(flags, process.env),
        json: flags.json === true,
        ...(flags.rule !== undefined ? { ruleId: flags.rule } : {}),
        ...(flags.startTime !== undefined ? { startTime: flags.startTime } : {}),
        ...(flags.endTime !== undefined ? { endTime: flags.endTime } : {}),
      });
    });
}

function positiveInteger(text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new InvalidArgumentError("must be a positive integer.");
  return Number(text);
}

function nonNegativeInteger(text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new InvalidArgumentError("must be a non-negative integer.");
  return Number(text);
}
