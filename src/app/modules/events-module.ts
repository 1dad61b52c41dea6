import { randomUUID } from "node:crypto";
import { join } from "node:path";
import { eventsOperations } from "../../control-plane/events/index.js";
import { eventsHandler, isEventsRequest } from "../../http/routes/events-route.js";
import {
  openPostgresEventRuleStore,
  openSqliteEventRuleStore,
  type EventRuleStore,
} from "../../stores/event-rules/index.js";
import type { PostgresDatabase } from "../../stores/postgres/index.js";
import type { CairnModule, ModuleContext } from "../registry.js";

/**
 * EventBridge on Cairn's endpoint (docs/reference/events.md): TestEventPattern, rules, targets,
 * connections and API destinations, on `POST /` for calls whose target is `AWSEvents.<Operation>`.
 * `open` chooses the store: `<data-dir>/event-rules.db` embedded, PostgreSQL in a cluster; both seal
 * connection secrets with the master key.
 */
function eventsModuleOn(open: (context: ModuleContext) => Promise<EventRuleStore>): CairnModule {
  return {
    name: "events",
    async start(context) {
      const store = await open(context);
      const operations = eventsOperations({ store, newId: randomUUID });
      return {
        apiServices: (routeContext) => [
          { handler: eventsHandler({ context: routeContext, operations }), accepts: isEventsRequest },
        ],
        close: () => store.close(),
      };
    },
  };
}

export const eventsModule: CairnModule = eventsModuleOn(async ({ settings, masterKey }) =>
  openSqliteEventRuleStore(join(settings.dataDir, "event-rules.db"), { masterKey }),
);

/** Cluster mode: the rules in PostgreSQL, the same on every node (every node holds the same master key). */
export function clusterEventsModule(db: PostgresDatabase, masterKey: ModuleContext["masterKey"]): CairnModule {
  return eventsModuleOn(() => openPostgresEventRuleStore(db, { masterKey }));
}
