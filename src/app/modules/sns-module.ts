import { join } from "node:path";
import { sendSubscriptionConfirmation, SnsPublisher, snsOperations } from "../../control-plane/sns/index.js";
import { isSnsRequest, snsHandler } from "../../http/routes/sns-route.js";
import type { PostgresDatabase } from "../../stores/postgres/index.js";
import { openPostgresSnsStore, openSqliteSnsStore, type SnsStore } from "../../stores/sns/index.js";
import type { CairnModule, ModuleContext } from "../registry.js";

/**
 * SNS on Cairn's endpoint (docs/reference/sns.md): topics, http/https subscriptions and Publish, on `POST /`
 * for calls signed for the service `sns`. `open` chooses the backend: `<data-dir>/sns.db`
 * embedded, PostgreSQL in a cluster.
 */
function snsModuleOn(open: (context: ModuleContext) => Promise<SnsStore>): CairnModule {
  return {
    name: "sns",
    async start(context) {
      const store = await open(context);
      const shutdown = new AbortController();
      const log = (line: string) => process.stderr.write(line);
      const operations = snsOperations({
        store,
        sendConfirmation: sendSubscriptionConfirmation(log, shutdown.signal),
        publisher: new SnsPublisher({ store, shutdown: shutdown.signal, nowMs: () => context.clock.nowMs() }),
        log,
      });
      return {
        apiServices: (routeContext) => [
          { handler: snsHandler({ context: routeContext, operations }), accepts: isSnsRequest },
        ],
        close: async () => {
          shutdown.abort();
          await store.close();
        },
      };
    },
  };
}

export const snsModule: CairnModule = snsModuleOn(async ({ settings }) =>
  openSqliteSnsStore(join(settings.dataDir, "sns.db")),
);

/** Cluster mode: the topics in PostgreSQL, the same on every node. */
export function clusterSnsModule(db: PostgresDatabase): CairnModule {
  return snsModuleOn(() => openPostgresSnsStore(db));
}
