import { describePostgresOutage } from "../helpers/postgres-outage.js";
import { pollUntil } from "../helpers/poll.js";

describePostgresOutage({
  suite: "cluster mode: PostgreSQL restarts while clients ingest and look up",
  title: "answers clear 503s during the outage, recovers without a node restart, and loses nothing acknowledged",
  name: "pg-restart",
  lookupClients: 2,
  // Down until the lookup clients were told so: the outage is observed, not timed.
  whileDown: (load) =>
    pollUntil(() => (load.tally.unavailable.get("LookupEvents") ?? 0) >= 4, {
      timeoutMs: 60_000,
      intervalMs: 50,
      message: () => `LookupEvents to answer 503 while PostgreSQL is down: ${load.summary()}`,
    }),
});
