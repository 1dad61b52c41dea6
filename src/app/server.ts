import { join } from "node:path";
import { randomUUID } from "node:crypto";
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import { isClusterMode, journalRetentionDays, type ServerSettings } from "../config/settings.js";
import { dataDirectoryKeyPath, type ResolvedMasterKey } from "../lib/master-key.js";
import { createHttpApp } from "../http/http-app.js";
import { recordRefusal, type RouteContext } from "../http/audited-route.js";
import { registerCloudTrailRoute } from "../http/routes/cloudtrail-route.js";
import { iamHandler, isIamQueryRequest } from "../http/routes/iam-route.js";
import { iamOperations } from "../control-plane/iam/index.js";
import { appAuthorizer, iamDependencies } from "./authorizer.js";
import { registerConsoleRoute } from "../http/routes/console-route.js";
import { registerExportEventsRoute } from "../http/routes/export-events-route.js";
import { InflightBodyBudget } from "../http/inflight-body-budget.js";
import { RequestGate } from "../http/request-gate.js";
import { UnauthenticatedRefusals } from "../http/unauthenticated-refusals.js";
import { senderOf } from "../http/send-error.js";
import { ApiError } from "../lib/api-error.js";
import { Throttle } from "../http/throttle.js";
import { openFileJournal, type Journal } from "../journal/index.js";
import { systemClock, type Clock } from "../lib/clock.js";
import { lockDataDirectory, type DataDirectoryLock } from "../lib/data-directory-lock.js";
import { LocalLeaseStore, type LeaseStore } from "../stores/lease/index.js";
import type { Principal, PrincipalStore } from "../stores/principals/index.js";
import { openSqliteQuarantineStore, type QuarantineStore } from "../stores/quarantine/index.js";
import { openSqliteSigmaStore, type SigmaStore } from "../stores/sigma/index.js";
import { openSqliteSavedQueryStore, type SavedQueryStore } from "../stores/saved-queries/index.js";
import { openSqliteSnsStore, type SnsStore } from "../stores/sns/index.js";
import { openFileSigningKeyStore, type SigningKeyStore } from "../stores/signing-keys/index.js";
import { openDataDirectorySecrets } from "./data-directory-secrets.js";
import { ensureBootstrapAdmin, writeAwsClientFiles } from "./bootstrap.js";
import { openBuckets, type Buckets } from "./buckets.js";
import { clusterModules, clusterNodeId, openClusterStores } from "./cluster-stores.js";
import { ingestModule, liveTailModule, proxyModule } from "./modules/capture-modules.js";
import { eventHistoryModule } from "./modules/event-history-module.js";
import { insightsModule } from "./modules/insights-module.js";
import { lakeModule } from "./modules/lake-module.js";
import { quarantineModule } from "./modules/quarantine-module.js";
import { trailsModule } from "./modules/trails-module.js";
import { snsModule } from "./modules/sns-module.js";
import { eventsModule } from "./modules/events-module.js";
import { sigmaModule } from "./modules/sigma-module.js";
import { HealthMonitor, type HealthFacts } from "./health.js";
import { ModuleRegistry, type CairnModule, type ModuleContext } from "./registry.js";

/**
 * Every module of the server, in start order (they close in reverse). A new consumer, route set or
 * background job is one more line here (docs/ARCHITECTURE.md, "Adding a module").
 */
const SERVER_MODULES: readonly CairnModule[] = [
  eventHistoryModule,
  trailsModule,
  insightsModule,
  lakeModule,
  snsModule,
  eventsModule,
  sigmaModule,
  ingestModule,
  liveTailModule,
  quarantineModule,
  proxyModule,
];

export interface RunningServer {
  readonly url: string;
  /** The read-only S3 endpoint over the embedded trail buckets, when trails use them. */
  readonly s3Url?: string;
  readonly credentialsFile: string;
  readonly configFile: string;
  /** The modules' consumers and jobs (tests check retention and /health against it). */
  readonly registry: ModuleRegistry;
  close(): Promise<void>;
}

/**
 * Starts the Cairn server: by default everything under `settings.dataDir`, no external service; in
 * cluster mode (CAIRN_DATABASE_URL, docs/reference/cluster.md) on PostgreSQL, JetStream and S3.
 * Stages (docs/ARCHITECTURE.md): capture → normalize → journal → consumers, wired by the module registry.
 */
export async function startServer(
  settings: ServerSettings,
  clock: Clock = systemClock,
  log: (text: string) => void = (text) => process.stdout.write(text),
  modules?: readonly CairnModule[],
): Promise<RunningServer> {
  const node = isClusterMode(settings)
    ? await openClusterNode(settings, clock)
    : await openEmbeddedNode(settings, clock);
  const { masterKey, principals, journal, buckets, quarantine, sns, sigma, savedQueries, signingKeys, leases } = node;
  const admin = await ensureBootstrapAdmin(principals, settings);
  const authorizer = appAuthorizer(principals);
  const context: ModuleContext = {
    settings,
    journal,
    principals,
    clock,
    signingKeys,
    buckets,
    authorizer,
    quarantine,
    sns,
    sigma,
    savedQueries,
    masterKey: masterKey.key,
    onInternalError: reportInternalError,
  };
  const registry = await ModuleRegistry.start(modules ?? node.modules, context, {
    leases,
    nodeId: node.nodeId,
    journalRetentionMs: journalRetentionDays(settings) * 86_400_000,
    clusterWide: node.mode === "cluster",
  });
  const shutdown = new AbortController();
  const routeContext: RouteContext = { ...context, audit: auditDefaults(settings, clock), shutdown: shutdown.signal };
  const { gate, unauthenticated, budget } = requestGate(settings, routeContext);
  const app = createHttpApp((error, request) => gate.recordRefusal(request, error), reportInternalError);
  // Before any route: the gate's hooks run for every route and for unknown paths.
  gate.install(app);
  registerApiRoute(app, routeContext, registry, settings);
  await registry.registerRoutes(app, routeContext);
  // GET / serves the console and the API's unsigned GETs (an SNS SubscribeURL).
  await registerConsoleRoute(app, undefined, registry.apiServices(routeContext));
  registerHealthRoutes(app, { settings, node, registry, clock, budget });

  await app.listen({ host: settings.host, port: settings.port });
  const url = urlOf(app.server.address() as AddressInfo);
  const files = await writeAwsClientFiles(settings.dataDir, {
    accessKeyId: admin.accessKeyId,
    secretAccessKey: admin.secretAccessKey,
    region: settings.region,
    endpointUrl: url,
  });
  registry.startJobs();
  unauthenticated.start();
  log(banner({ settings, url, files, masterKey, admin, moduleLines: registry.banner() }));

  const s3Url = registry.endpoint("s3Url");
  return {
    url,
    ...(s3Url !== undefined ? { s3Url } : {}),
    credentialsFile: files.credentialsPath,
    configFile: files.configPath,
    registry,
    async close() {
      shutdown.abort();
      await registry.stopJobs();
      await app.close();
      // The counts of the last window, once no request can add to them, while the journal is open.
      await unauthenticated.close();
      await registry.close();
      await node.close();
    },
  };
}

/** The stores a node runs on, and the modules that fit them. */
interface NodeStores {
  readonly masterKey: ResolvedMasterKey;
  readonly principals: PrincipalStore;
  readonly journal: Journal;
  readonly buckets: Buckets;
  readonly quarantine: QuarantineStore;
  readonly sns: SnsStore;
  readonly sigma: SigmaStore;
  readonly savedQueries: SavedQueryStore;
  readonly signingKeys: SigningKeyStore;
  readonly leases: LeaseStore;
  readonly nodeId: string;
  readonly mode: "embedded" | "cluster";
  /** Cluster mode: a cheap statement on the shared database, for `/health`. */
  readonly checkDatabase?: () => Promise<void>;
  readonly modules: readonly CairnModule[];
  close(): Promise<void>;
}

/** Everything under `settings.dataDir`, no external service. */
async function openEmbeddedNode(settings: ServerSettings, clock: Clock): Promise<NodeStores> {
  // One process owns the directory: a second server, or `cairn migrate --to-cluster` copying it, is refused.
  const lock = lockDataDirectory(settings.dataDir);
  try {
    return await openEmbeddedStores(settings, clock, lock);
  } catch (error) {
    lock.release();
    throw error;
  }
}

async function openEmbeddedStores(
  settings: ServerSettings,
  clock: Clock,
  lock: DataDirectoryLock,
): Promise<NodeStores> {
  const { masterKey, principals } = await openDataDirectorySecrets(settings.dataDir, settings);
  const journal = await openFileJournal({ directory: join(settings.dataDir, "journal"), clock });
  const buckets = openBuckets(settings);
  const quarantine = openSqliteQuarantineStore(join(settings.dataDir, "quarantine.db"));
  const sns = openSqliteSnsStore(join(settings.dataDir, "sns.db"));
  const sigma = openSqliteSigmaStore(join(settings.dataDir, "sigma.db"));
  const savedQueries = openSqliteSavedQueryStore(join(settings.dataDir, "saved-queries.db"));
  const leases = new LocalLeaseStore(clock);
  return {
    ...{ masterKey, principals, journal, buckets, quarantine, sns, sigma, savedQueries, leases },
    ...{ nodeId: "embedded", mode: "embedded" },
    modules: SERVER_MODULES,
    signingKeys: openFileSigningKeyStore({ dataDir: settings.dataDir, clock, masterKey: masterKey.key }),
    async close() {
      await buckets.owners.close();
      await journal.close();
      await quarantine.close();
      await sns.close();
      await sigma.close();
      await savedQueries.close();
      await leases.close();
      await principals.close();
      lock.release();
    },
  };
}

/** PostgreSQL, the JetStream journal and S3 (docs/reference/cluster.md); the data dir holds caches only. */
async function openClusterNode(settings: ServerSettings, clock: Clock): Promise<NodeStores> {
  const stores = await openClusterStores(settings, clock);
  const nodeId = clusterNodeId(settings);
  return {
    ...stores,
    masterKey: { ...stores.masterKey, generated: false },
    nodeId,
    mode: "cluster",
    checkDatabase: async () => void (await stores.db.query("SELECT 1")),
    modules: clusterModules(stores, nodeId),
  };
}

function auditDefaults(settings: ServerSettings, clock: Clock): RouteContext["audit"] {
  return { accountId: settings.accountId, region: settings.region, nowMs: () => clock.nowMs(), newEventId: randomUUID };
}

/**
 * `POST /`: the CloudTrail operations the modules registered, the modules' other services (SNS,
 * chosen by the SigV4 scope; EventBridge, by its target prefix), and the IAM-shaped API on the same endpoint.
 */
function registerApiRoute(
  app: FastifyInstance,
  context: RouteContext,
  registry: ModuleRegistry,
  settings: ServerSettings,
): void {
  const iam = iamHandler({
    context,
    operations: iamOperations(iamDependencies(context.principals)),
    operatorAccountId: settings.accountId,
  });
  const limits = throttles(settings, context.clock);
  const operations = registry.operations();
  registerCloudTrailRoute(app, { context, operations, throttles: limits }, ...registry.apiServices(context), {
    handler: iam,
    accepts: isIamQueryRequest,
  });
  // Every matching event of a LookupEvents search as one streamed file (decision 0026).
  const lookupEvents = operations.get("LookupEvents");
  if (lookupEvents !== undefined) {
    registerExportEventsRoute(app, context, { lookupEvents, throttle: limits.get("LookupEvents") });
  }
}

function reportInternalError(error: unknown): void {
  process.stderr.write(
    `Cairn internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
}

/**
 * The checks before a body is read, the in-flight body budget, and the count of unauthenticated
 * refusals (docs/reference/security.md, "Bounded work").
 */
function requestGate(
  settings: ServerSettings,
  routeContext: RouteContext,
): { gate: RequestGate; unauthenticated: UnauthenticatedRefusals; budget: InflightBodyBudget } {
  const unauthenticated = new UnauthenticatedRefusals({
    journal: routeContext.journal,
    audit: routeContext.audit,
    clock: routeContext.clock,
    onInternalError: reportInternalError,
  });
  const budget = new InflightBodyBudget(settings.maxInflightBodyBytes);
  const gate = new RequestGate({
    principals: routeContext.principals,
    clock: routeContext.clock,
    budget,
    unauthenticated,
    recordKnown: (request, error, known) => recordRefusal(routeContext, request, error, known),
  });
  return { gate, unauthenticated, budget };
}

function throttles(settings: ServerSettings, clock: Clock): Map<string, Throttle> {
  const out = new Map<string, Throttle>();
  if (settings.lookupEventsTps !== undefined) out.set("LookupEvents", new Throttle(settings.lookupEventsTps, clock));
  return out;
}

/** `GET /health` (what the node is like) and `GET /health/ready` (whether a load balancer should send it requests). */
function registerHealthRoutes(
  app: ReturnType<typeof createHttpApp>,
  parts: {
    settings: ServerSettings;
    node: NodeStores;
    registry: ModuleRegistry;
    clock: Clock;
    budget: InflightBodyBudget;
  },
): void {
  const { settings, node, registry } = parts;
  const monitor = new HealthMonitor({
    journal: node.journal,
    consumers: () => registry.consumers(),
    quarantine: node.quarantine,
    clock: parts.clock,
    maxLagSeconds: settings.healthMaxLagSeconds,
    ...(node.checkDatabase !== undefined ? { database: node.checkDatabase } : {}),
    // Cluster mode: every node's consumers as the database holds them, the floor retention uses.
    ...(node.mode === "cluster" ? { retentionFloor: () => registry.journalFloor() } : {}),
  });
  app.get("/health", async () => healthOf(settings, node, registry, await monitor.facts(), parts.budget));
  app.get("/health/ready", async (_request, reply) => {
    const { journalProblem, databaseProblem } = await monitor.facts();
    if (journalProblem === undefined && databaseProblem === undefined) return { status: "ready" };
    // Only a node that cannot make a write durable, or cannot reach its database (who is calling,
    // the trails, the index), is taken out: a lagging consumer is no reason.
    const message =
      journalProblem !== undefined
        ? `Cairn cannot take writes now: ${journalProblem}`
        : `Cairn cannot reach its database now: ${databaseProblem}`;
    senderOf("json-1.1")(
      reply,
      randomUUID(),
      new ApiError("ServiceUnavailableException", message, { "retry-after": "1" }),
    );
    return reply;
  });
}

/**
 * `GET /health`: `ok` or `degraded` with the reasons (docs/reference/security.md, "Health"), the
 * node's mode, id and role (the leases it holds), the journal (and in cluster mode the database),
 * every registered consumer's cursor and lag, the quarantine, and the modules' own facts.
 * Always 200: it describes the node; `/health/ready` is the probe that takes a node out.
 */
function healthOf(
  settings: ServerSettings,
  node: NodeStores,
  registry: ModuleRegistry,
  facts: HealthFacts,
  budget: InflightBodyBudget,
): Record<string, unknown> {
  const { consumers, modules } = registry.health();
  const { journal } = node;
  return {
    status: facts.status,
    reasons: facts.reasons,
    mode: node.mode,
    nodeId: node.nodeId,
    role: { leasesHeld: registry.leasesHeld() },
    accountId: settings.accountId,
    region: settings.region,
    journal: {
      headSeq: journal.headSeq(),
      firstSeq: journal.firstSeq(),
      retentionFloorSeq: node.mode === "cluster" ? facts.retentionFloorSeq : registry.retentionFloor(),
      writable: facts.journalProblem === undefined,
    },
    ...(node.checkDatabase !== undefined ? { database: { reachable: facts.databaseProblem === undefined } } : {}),
    consumers: Object.fromEntries(
      Object.entries(consumers).map(([name, status]) => [
        name,
        { ...status, lagSeconds: facts.consumers[name]?.lagSeconds ?? 0 },
      ]),
    ),
    quarantine: { records: facts.quarantinedRecords ?? null },
    requestBodies: { inflightBytes: budget.heldBytes, inflightBytesMax: budget.capacityBytes },
    ...modules,
  };
}

function urlOf(address: AddressInfo): string {
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** What the server prints once it accepts requests: where it is, where its data and client files are. */
function banner(facts: {
  settings: ServerSettings;
  url: string;
  files: { credentialsPath: string; configPath: string };
  masterKey: ResolvedMasterKey;
  admin: Principal;
  moduleLines: readonly string[];
}): string {
  const { settings, url, files } = facts;
  return [
    `Cairn is listening on ${url}`,
    `  data directory:   ${settings.dataDir}`,
    `  account / region: ${settings.accountId} / ${settings.region}`,
    `  credentials:      ${files.credentialsPath} (admin access key ${facts.admin.accessKeyId})`,
    `  config:           ${files.configPath}`,
    ...masterKeyLines(facts.masterKey, settings.dataDir),
    `  web console:      ${url}/console/ (sign in with the admin access key and its secret from the credentials file)`,
    ...facts.moduleLines,
    `  try:              AWS_SHARED_CREDENTIALS_FILE=${files.credentialsPath} aws cloudtrail lookup-events --endpoint-url ${url} --region ${settings.region}`,
    "",
  ].join("\n");
}

/** Where the master key came from (never the key); the embedded default's own file is for trying Cairn out. */
function masterKeyLines(masterKey: ResolvedMasterKey, dataDir: string): string[] {
  const lines = [
    `  master key:       ${masterKey.key.id} from ${masterKey.origin}${masterKey.generated ? " (generated now)" : ""}`,
  ];
  if (masterKey.origin === dataDirectoryKeyPath(dataDir)) {
    lines.push(
      "                    it sits beside the secrets it seals: in production set CAIRN_MASTER_KEY_FILE (or",
      "                    CAIRN_MASTER_KEY) to a key kept outside the data directory (docs/reference/security.md)",
    );
  }
  return lines;
}
