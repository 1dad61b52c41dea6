/**
 * `cairn proxy`: runs the capture proxy in front of an AWS-compatible endpoint and sends every call's
 * record to a Cairn server over `POST /ingest`, until SIGINT/SIGTERM.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { resolveClientSettings } from "../../client/client-settings.js";
import { openClusterPrincipals } from "../../app/cluster-secrets.js";
import { loadSettings } from "../../config/settings.js";
import { readDataDirectoryKey } from "../../lib/master-key.js";
import { openSqlitePrincipalStore, type PrincipalStore } from "../../stores/principals/index.js";
import { EventSink } from "../../capture/proxy/event-sink.js";
import { startProxy } from "../../capture/proxy/proxy-server.js";
import { ServiceModels } from "../../capture/protocols/service-models.js";
import { UsageError } from "../usage-error.js";

export interface ProxyCommandOptions {
  readonly upstream: string;
  readonly port: number;
  readonly host: string;
  readonly server: string | undefined;
  readonly dataDir: string;
  readonly accountId: string;
  readonly verifySignatures: boolean;
  /**
   * CAIRN_DATABASE_URL (cluster mode, checked as the server checks it): callers are looked up in the
   * cluster's PostgreSQL, with the cluster's master key, instead of the data directory's principals.db.
   */
  readonly databaseUrl?: string;
  /** HTTPS identity; without it the proxy falls back to CAIRN_PROXY_TLS_CERT/KEY, else plain HTTP. */
  readonly tls?: { readonly certPath: string; readonly keyPath: string };
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Resolves when the proxy should stop (a signal). */
  readonly stopped: Promise<void>;
}

/** How long a stopping proxy keeps trying to deliver queued records before leaving them in the spool. */
const DRAIN_ON_STOP_MS = 5_000;

export async function runProxy(options: ProxyCommandOptions): Promise<void> {
  let upstream: URL;
  try {
    upstream = new URL(options.upstream);
  } catch {
    throw new UsageError(`--upstream: not a URL: ${JSON.stringify(options.upstream)}`);
  }
  if (upstream.protocol !== "http:" && upstream.protocol !== "https:") {
    throw new UsageError("--upstream: must be an http:// or https:// URL");
  }
  const client = resolveClientSettings(
    { dataDir: options.dataDir, ...(options.server === undefined ? {} : { endpointUrl: options.server }) },
    options.env,
  );
  const log = (line: string): void => void options.stderr.write(`cairn proxy: ${line}\n`);
  const { principals, principalsPath, close: closePrincipals } = await openCallers(options, log);
  // The spool lives in the data dir; a proxy on another host than the server starts with none.
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const sink = new EventSink({
    client,
    spoolPath: join(options.dataDir, `proxy-spool-${options.port}.ndjson`),
    log,
  });
  const proxy = await startProxy({
    upstream,
    host: options.host,
    port: options.port,
    verifySignatures: options.verifySignatures,
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
    models: new ServiceModels(),
    principals,
    ...(principalsPath === undefined ? {} : { principalsPath }),
    defaultAccountId: options.accountId,
    onRecord: (json) => sink.enqueue(json),
    log,
  });
  options.stdout.write(
    `cairn proxy listening on ${proxy.url} → upstream ${upstream.origin}; events to ${client.endpointUrl}\n`,
  );
  await options.stopped;
  await proxy.close();
  await sink.close(DRAIN_ON_STOP_MS);
  await closePrincipals();
  if (sink.pending > 0) log(`${sink.pending} record(s) left in the spool; they are sent at the next start`);
}

interface Callers {
  readonly principals: PrincipalStore | undefined;
  /** The SQLite file behind `principals`, which the recording worker then reads itself. */
  readonly principalsPath?: string;
  close(): Promise<void>;
}

/** Where callers are looked up: the cluster's PostgreSQL, else the data directory's principals.db. */
async function openCallers(options: ProxyCommandOptions, log: (line: string) => void): Promise<Callers> {
  if (options.databaseUrl !== undefined) {
    const settings = loadSettings(["masterKey", "masterKeyFile"], {}, options.env);
    const opened = await openClusterPrincipals({
      ...settings,
      dataDir: options.dataDir,
      databaseUrl: options.databaseUrl,
    });
    return { principals: opened.principals, close: opened.close };
  }
  // The principals file is the server's: read it when it is there, never create one elsewhere.
  const principalsPath = join(options.dataDir, "principals.db");
  if (!existsSync(principalsPath)) {
    log(`${principalsPath} not found: every caller will be logged as type Unknown`);
    return { principals: undefined, close: async () => undefined };
  }
  const principals = await openProxyPrincipals(principalsPath, options);
  return { principals, principalsPath, close: () => principals.close() };
}

/**
 * The server's principals, read-only. Naming callers needs identities only; checking signatures
 * needs their secrets, so --verify-signatures needs the master key (CAIRN_MASTER_KEY,
 * CAIRN_MASTER_KEY_FILE or the data directory's master.key), as the server resolves it.
 */
async function openProxyPrincipals(path: string, options: ProxyCommandOptions): Promise<PrincipalStore> {
  const masterKey = await readDataDirectoryKey(
    options.dataDir,
    loadSettings(["masterKey", "masterKeyFile"], {}, options.env),
  );
  if (masterKey === undefined && options.verifySignatures) {
    throw new UsageError(
      "--verify-signatures: the secrets in principals.db are sealed; set CAIRN_MASTER_KEY or CAIRN_MASTER_KEY_FILE to the server's master key.",
    );
  }
  return openSqlitePrincipalStore(path, masterKey === undefined ? {} : { masterKey });
}
