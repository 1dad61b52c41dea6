import { startInProcessProxy } from "../../capture/proxy/in-process.js";
import { isClusterMode } from "../../config/settings.js";
import { principalsDatabasePath } from "../data-directory-secrets.js";
import { registerIngestRoute } from "../../http/routes/ingest-route.js";
import { registerTailRoute } from "../../http/routes/tail-route.js";
import type { CairnModule } from "../registry.js";

/** `POST /ingest`: trail log-file documents from callers (docs/reference/ingest-rules.md). */
export const ingestModule: CairnModule = {
  name: "ingest",
  async start({ settings }) {
    return {
      routes: (app, context) => registerIngestRoute(app, context, settings.accountId),
      close: async () => undefined,
    };
  },
};

/** `GET /tail`: live tail, a consumer whose cursor lives in the client (it resumes with `fromSeq`). */
export const liveTailModule: CairnModule = {
  name: "live-tail",
  async start() {
    return { routes: (app, context) => registerTailRoute(app, context), close: async () => undefined };
  },
};

/** The capture proxy inside the server (`--proxy-upstream`), recording straight into the journal. */
export const proxyModule: CairnModule = {
  name: "proxy",
  async start({ settings, journal, principals, clock }) {
    // A cluster node's principals are in PostgreSQL; its data dir holds no principals.db.
    const principalsPath = isClusterMode(settings) ? undefined : principalsDatabasePath(settings.dataDir);
    const proxy = await startInProcessProxy({
      settings,
      journal,
      principals,
      clock,
      ...(principalsPath === undefined ? {} : { principalsPath }),
    });
    return {
      banner: () => (proxy === undefined ? [] : [proxy.bannerLine]),
      close: async () => proxy?.close(),
    };
  },
};
