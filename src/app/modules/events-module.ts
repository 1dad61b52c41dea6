import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { eventsOperations } from "../../control-plane/events/index.js";
import { SnsPublisher } from "../../control-plane/sns/index.js";
import { ApiDestinationInvoker } from "../../consumers/event-rules/api-destination-invoker.js";
import { ConnectionAuthorizer } from "../../consumers/event-rules/connection-authorizer.js";
import { RuleDelivery, ruleDeliveryFloor } from "../../consumers/event-rules/rule-delivery.js";
import { RuleTargetSender, type TopicPublisher } from "../../consumers/event-rules/target-sender.js";
import { LeasedWork } from "../../consumers/leased-work.js";
import { quarantineFor } from "../../consumers/quarantine.js";
import { eventsHandler, isEventsRequest } from "../../http/routes/events-route.js";
import {
  openPostgresEventRuleStore,
  openSqliteEventRuleStore,
  type EventRuleStore,
} from "../../stores/event-rules/index.js";
import type { LeaseStore } from "../../stores/lease/index.js";
import type { PostgresDatabase } from "../../stores/postgres/index.js";
import {
  openPostgresRuleDeliveryStore,
  openSqliteRuleDeliveryStore,
  type RuleDeliveryStore,
} from "../../stores/rule-deliveries/index.js";
import type { SnsStore } from "../../stores/sns/index.js";
import type { CairnModule, Job, ModuleContext } from "../registry.js";

/** Failures of rule targets are kept this long (as Event history keeps records), then trimmed daily. */
const FAILURE_RETENTION_MS = 90 * 86_400_000;
const DAY_MS = 86_400_000;
/** How often `/health` and journal retention learn the oldest record a queued delivery needs. */
const QUEUE_FLOOR_EVERY_MS = 10_000;
/** The one lease of a cluster's rule delivery. */
const RULE_DELIVERY_LEASE = "event-rules";

interface EventsBackends {
  readonly rules: EventRuleStore;
  readonly deliveries: RuleDeliveryStore;
}

/** How rule delivery runs: on this node at once (embedded), or on the holder of a lease (cluster). */
type Placement =
  { readonly kind: "local" } | { readonly kind: "leased"; readonly leases: LeaseStore; readonly nodeId: string };

/**
 * EventBridge on Cairn's endpoint (docs/reference/events.md): TestEventPattern, rules, targets,
 * connections and API destinations, on `POST /` for calls whose target is `AWSEvents.<Operation>`,
 * and the delivery of matching records to the rules' targets. `open` chooses the stores: SQLite
 * files in the data dir embedded, PostgreSQL in a cluster; both seal connection secrets with the
 * master key.
 */
function eventsModuleOn(open: (context: ModuleContext) => Promise<EventsBackends>, placement: Placement): CairnModule {
  return {
    name: "events",
    async start(context) {
      const backends = await open(context);
      const shutdown = new AbortController();
      const { delivery, authorizer } = ruleDelivery(context, backends, shutdown.signal);
      const operations = eventsOperations({
        store: backends.rules,
        newId: randomUUID,
        failures: backends.deliveries,
        authorizeConnection: (connection) => authorizer.start(connection),
      });
      const running = await place(delivery, placement, context);
      return {
        apiServices: (routeContext) => [
          { handler: eventsHandler({ context: routeContext, operations }), accepts: isEventsRequest },
        ],
        consumers: () => (running.active() ? [delivery.status()] : []),
        jobs: ruleDeliveryJobs(backends.deliveries, delivery, context),
        ...(placement.kind === "leased"
          ? { clusterFloor: () => ruleDeliveryFloor(backends.deliveries), leasesHeld: running.leasesHeld }
          : {}),
        async close() {
          shutdown.abort();
          await Promise.all([running.close(), authorizer.close()]);
          await Promise.all([backends.rules.close(), backends.deliveries.close()]);
        },
      };
    },
  };
}

/**
 * The rule delivery consumer and the authorizer of OAuth connections, sharing one invoker (so the
 * token an authorization fetched serves the deliveries after it).
 */
function ruleDelivery(
  context: ModuleContext,
  backends: EventsBackends,
  shutdown: AbortSignal,
): { delivery: RuleDelivery; authorizer: ConnectionAuthorizer } {
  const report = context.onInternalError;
  const nowMs = () => context.clock.nowMs();
  const invoker = new ApiDestinationInvoker({
    shutdown,
    clock: context.clock,
    // Called only by deliveries, which start after this function returned.
    onAuthorization: (arn, result) => authorizer.onDelivery(arn, result),
  });
  const authorizer = new ConnectionAuthorizer({ store: backends.rules, invoker, nowMs, report });
  const sns = new SnsPublisher({ store: context.sns, shutdown, nowMs });
  const delivery = new RuleDelivery({
    journal: context.journal,
    rules: backends.rules,
    deliveries: backends.deliveries,
    sender: new RuleTargetSender({
      store: backends.rules,
      invoker,
      publish: topicPublisher(context.sns, sns, report),
    }),
    quarantine: quarantineFor(context.quarantine, "event-rules", context.clock, (line) => process.stderr.write(line)),
    sigmaMatches: context.sigma,
    region: context.settings.region,
    clock: context.clock,
    report,
  });
  return { delivery, authorizer };
}

/**
 * A topic target is delivered once SNS accepted the message, as EventBridge counts it; the SNS
 * publisher then retries each subscriber on its own.
 */
function topicPublisher(store: SnsStore, publisher: SnsPublisher, report: (error: unknown) => void): TopicPublisher {
  return async (topicArn, message) => {
    const topic = await store.getTopic(topicArn);
    if (topic === undefined) return { kind: "not-retryable", error: "The SNS topic does not exist." };
    void publisher.publish(topic, { message }).catch(report);
    return { kind: "delivered", httpStatus: 200 };
  };
}

interface Running {
  readonly active: () => boolean;
  readonly leasesHeld: () => readonly string[];
  readonly close: () => Promise<void>;
}

async function place(delivery: RuleDelivery, placement: Placement, context: ModuleContext): Promise<Running> {
  if (placement.kind === "local") {
    await delivery.start();
    return { active: () => true, leasesHeld: () => [], close: () => delivery.stop() };
  }
  // Delivery is at least once (a receiver drops repeated ids): its writes need no fencing token.
  const leased = new LeasedWork({
    key: RULE_DELIVERY_LEASE,
    leases: { store: placement.leases, holder: placement.nodeId },
    start: () => delivery.start(),
    stop: () => delivery.stop(),
    report: context.onInternalError,
  });
  leased.begin();
  return { active: () => leased.held(), leasesHeld: () => leased.leasesHeld(), close: () => leased.close() };
}

function ruleDeliveryJobs(deliveries: RuleDeliveryStore, delivery: RuleDelivery, context: ModuleContext): Job[] {
  return [
    {
      name: "event-rules-queue-floor",
      intervalMs: QUEUE_FLOOR_EVERY_MS,
      runAtStart: true,
      run: () => delivery.refreshQueueFloor(),
    },
    {
      name: "event-rules-failure-retention",
      intervalMs: DAY_MS,
      run: async () => void (await deliveries.trimFailures(context.clock.nowMs() - FAILURE_RETENTION_MS)),
    },
  ];
}

export const eventsModule: CairnModule = eventsModuleOn(
  async ({ settings, masterKey }) => ({
    rules: openSqliteEventRuleStore(join(settings.dataDir, "event-rules.db"), { masterKey }),
    deliveries: openSqliteRuleDeliveryStore(join(settings.dataDir, "rule-deliveries.db")),
  }),
  { kind: "local" },
);

/**
 * Cluster mode: the rules and the delivery queue in PostgreSQL, the same on every node (every node
 * holds the same master key); the node holding `event-rules` matches and delivers.
 */
export function clusterEventsModule(
  stores: { db: PostgresDatabase; leases: LeaseStore; masterKey: { key: ModuleContext["masterKey"] } },
  nodeId: string,
): CairnModule {
  return eventsModuleOn(
    async () => ({
      rules: await openPostgresEventRuleStore(stores.db, { masterKey: stores.masterKey.key }),
      deliveries: await openPostgresRuleDeliveryStore(stores.db),
    }),
    { kind: "leased", leases: stores.leases, nodeId },
  );
}
