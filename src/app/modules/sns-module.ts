import {
  confirmFromSubscribeUrl,
  sendSubscriptionConfirmation,
  SnsPublisher,
  snsOperations,
} from "../../control-plane/sns/index.js";
import { isSnsRequest, snsHandler } from "../../http/routes/sns-route.js";
import { subscribeUrlService } from "../../http/routes/sns-subscribe-url-route.js";
import type { CairnModule } from "../registry.js";

/**
 * SNS on Cairn's endpoint (docs/reference/sns.md): topics, http/https subscriptions and Publish, on
 * `POST /` for calls signed for the service `sns`. The store is the node's (`ModuleContext.sns`:
 * `<data-dir>/sns.db` embedded, PostgreSQL in a cluster), shared with trail notifications and rule targets.
 */
export const snsModule: CairnModule = {
  name: "sns",
  async start(context) {
    const store = context.sns;
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
        subscribeUrlService({
          context: routeContext,
          confirm: (query, nowMs) => confirmFromSubscribeUrl(store, query, nowMs),
        }),
      ],
      close: async () => shutdown.abort(),
    };
  },
};
