import { registerQuarantineDismissRoute } from "../../http/routes/quarantine-dismiss-route.js";
import { registerQuarantineRoute } from "../../http/routes/quarantine-route.js";
import type { CairnModule } from "../registry.js";

/**
 * `GET /quarantine` and `DELETE /quarantine`: the records consumers set aside because their stores
 * refused them, listed and dismissed. The store itself is the server's (ModuleContext.quarantine):
 * every consumer writes to it, `/health` counts it.
 */
export const quarantineModule: CairnModule = {
  name: "quarantine",
  async start({ settings, quarantine }) {
    return {
      routes: (app, context) => {
        registerQuarantineRoute(app, context, quarantine, settings.accountId);
        registerQuarantineDismissRoute(app, context, quarantine, {
          homeAccountId: settings.accountId,
          log: (line) => process.stderr.write(line),
        });
      },
      close: async () => undefined,
    };
  },
};
