import { describePostgresOutage } from "../helpers/postgres-outage.js";
import { pollUntil } from "../helpers/poll.js";
import { deliveringOn } from "../helpers/trail-delivery.js";

describePostgresOutage({
  suite: "cluster mode: PostgreSQL is down for longer than the trail lease's TTL, under load",
  title:
    "lets the holder's lease lapse, then one node takes the trail again: nothing acknowledged lost or doubled, one digest chain",
  name: "pg-outage",
  lookupClients: 1,
  // Down until the holder could not renew its lease for a whole TTL and gave the trail up.
  whileDown: (load, holder) =>
    pollUntil(async () => (await deliveringOn(holder)).length === 0, {
      timeoutMs: 90_000,
      intervalMs: 250,
      message: () => `the holder to give the trail up while PostgreSQL is down: ${load.summary()}`,
    }),
});
