import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { ServerSettings } from "../config/settings.js";
import { openSqlitePrincipalStore } from "../stores/principals/sqlite-principal-store.js";
import { ensureBootstrapAdmin, writeAwsClientFiles } from "./bootstrap.js";
import { openFileJournal } from "../journal/file-journal.js";
import { ThreadedEventHistory } from "../consumers/event-history/threaded-event-history.js";
import { systemClock, type Clock } from "../lib/clock.js";
import { createHttpApp } from "../http/http-app.js";
import { registerCloudTrailRoute } from "../http/routes/cloudtrail-route.js";
import { createLookupEventsOperation } from "../control-plane/lookup-events.js";
import type { OperationHandler } from "../control-plane/operation.js";
import { Throttle } from "../http/throttle.js";
import { registerIngestRoute } from "../http/routes/ingest-route.js";
import { registerTailRoute } from "../http/routes/tail-route.js";
import { auditRecordOf } from "../capture/self-audit/audit-record.js";
import { randomUUID } from "node:crypto";
import { startTrailsModule } from "./modules/trails-module.js";
import { registerPutAuditEventsRoute, startLakeModule } from "./modules/lake-module.js";
import { registerConsoleRoute } from "../http/routes/console-route.js";
import { startInProcessProxy } from "../capture/proxy/in-process.js";

/** How long a LookupEvents call waits for the index to catch up with what was acknowledged before it. */
const READ_YOUR_WRITES_WAIT_MS = 2_000;
const RETENTION_SWEEP_MS = 60 * 60 * 1000;

export interface RunningServer {
  readonly url: string;
  /** The read-only S3 endpoint over the embedded trail buckets, when trails use them. */
  readonly s3Url?: string;
  readonly credentialsFile: string;
  readonly configFile: string;
  close(): Promise<void>;
}

/**
 * Starts the embedded-default Cairn server: everything under `settings.dataDir`, no external service.
 * Stages (docs/ARCHITECTURE.md): capture (API self-audit, /ingest) → normalize → journal → consumers.
 */
export async function startServer(
  settings: ServerSettings,
  clock: Clock = systemClock,
  log: (text: string) => void = (text) => process.stdout.write(text),
): Promise<RunningServer> {
  await mkdir(settings.dataDir, { recursive: true });
  const principals = openSqlitePrincipalStore(join(settings.dataDir, "principals.db"));
  const admin = await ensureBootstrapAdmin(principals, settings);
  const journal = await openFileJournal({ directory: join(settings.dataDir, "journal"), clock });
  const onInternalError = (error: unknown): void => {
    process.stderr.write(
      `Cairn internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  };
  // Indexed on a worker thread (docs/decisions/0006-event-history-worker.md).
  const history = await ThreadedEventHistory.start({
    path: join(settings.dataDir, "event-history.db"),
    journal,
    clock,
    retentionDays: settings.historyRetentionDays,
    onError: onInternalError,
  });
  const operations = new Map<string, OperationHandler>([
    [
      "LookupEvents",
      createLookupEventsOperation({
        history,
        retentionDays: settings.historyRetentionDays,
        waitForIndex: () => history.waitFor(journal.headSeq(), READ_YOUR_WRITES_WAIT_MS),
      }),
    ],
  ]);
  const trails = await startTrailsModule({ settings, journal, clock, operations });
  const lake = await startLakeModule({ settings, journal, clock, operations, signingKeys: trails.delivery.keys });
  const throttles = new Map<string, Throttle>();
  if (settings.lookupEventsTps !== undefined)
    throttles.set("LookupEvents", new Throttle(settings.lookupEventsTps, clock));

  const audit = {
    accountId: settings.accountId,
    region: settings.region,
    nowMs: () => clock.nowMs(),
    newEventId: randomUUID,
  };
  const app = createHttpApp(async (error, request) => {
    const record = auditRecordOf(request, audit, {
      eventName: "UnknownOperation",
      attribution: {},
      requestId: randomUUID(),
      readOnly: false,
      input: null,
      responseElements: null,
      failure: error,
    });
    await journal.append([{ json: record.json }]);
  });
  const shutdown = new AbortController();
  const common = { journal, principals, clock, accountId: settings.accountId, region: settings.region, audit };
  registerCloudTrailRoute(app, { ...common, operations, throttles, onInternalError });
  registerIngestRoute(app, { ...common, onInternalError });
  registerTailRoute(app, { ...common, shutdown: shutdown.signal });
  registerPutAuditEventsRoute(app, { ...common, lake, onInternalError });
  await registerConsoleRoute(app);
  app.get("/health", async () => ({
    status: "ok",
    accountId: settings.accountId,
    region: settings.region,
    journal: { headSeq: journal.headSeq(), firstSeq: journal.firstSeq() },
    consumers: {
      "event-history": { cursor: history.cursor(), lagRecords: journal.headSeq() - history.cursor() },
    },
    lake: { compaction: lake.compaction() },
  }));

  await app.listen({ host: settings.host, port: settings.port });
  const address = app.server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  const files = await writeAwsClientFiles(settings.dataDir, {
    accessKeyId: admin.accessKeyId,
    secretAccessKey: admin.secretAccessKey,
    region: settings.region,
    endpointUrl: url,
  });

  const sweep = async (): Promise<void> => {
    try {
      await history.prune();
      const retainedSinceMs = clock.nowMs() - settings.historyRetentionDays * 86_400_000;
      // Journal retention keeps whatever a consumer has not yet made durable in its own store.
      const neededFromSeq = Math.min(history.cursor() + 1, trails.neededFromSeq(), lake.neededFromSeq());
      await journal.deleteBefore(neededFromSeq, retainedSinceMs);
    } catch (error) {
      onInternalError(error);
    }
  };
  const sweepTimer = setInterval(() => void sweep(), RETENTION_SWEEP_MS);
  sweepTimer.unref();
  void sweep();

  const proxy = await startInProcessProxy({ settings, journal, principals, clock });
  log(banner({ settings, url, s3Url: trails.s3Url, files, adminAccessKeyId: admin.accessKeyId }));
  if (proxy !== undefined) log(`${proxy.bannerLine}\n`);

  return {
    url,
    ...(trails.s3Url !== undefined ? { s3Url: trails.s3Url } : {}),
    credentialsFile: files.credentialsPath,
    configFile: files.configPath,
    async close() {
      await proxy?.close();
      clearInterval(sweepTimer);
      shutdown.abort();
      await app.close();
      await trails.close();
      await lake.close();
      await history.close();
      await journal.close();
      await principals.close();
    },
  };
}

/** What the server prints once it accepts requests: where it is, where its data and client files are. */
function banner(facts: {
  settings: ServerSettings;
  url: string;
  s3Url: string | undefined;
  files: { credentialsPath: string; configPath: string };
  adminAccessKeyId: string;
}): string {
  const { settings, url, s3Url, files } = facts;
  return [
    `Cairn is listening on ${url}`,
    `  data directory:   ${settings.dataDir}`,
    `  account / region: ${settings.accountId} / ${settings.region}`,
    `  credentials:      ${files.credentialsPath} (admin access key ${facts.adminAccessKeyId})`,
    `  config:           ${files.configPath}`,
    `  web console:      ${url}/console/ (sign in with the admin access key and its secret from the credentials file)`,
    s3Url !== undefined
      ? `  trail buckets:    ${join(settings.dataDir, "buckets")} (read-only S3 endpoint ${s3Url})`
      : `  trail buckets:    ${settings.s3Endpoint} (S3)`,
    `  try:              AWS_SHARED_CREDENTIALS_FILE=${files.credentialsPath} aws cloudtrail lookup-events --endpoint-url ${url} --region ${settings.region}`,
    "",
  ].join("\n");
}
