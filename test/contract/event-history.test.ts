import { join } from "node:path";
import { after, before, describe } from "node:test";
import type { EventHistory } from "../../src/consumers/event-history/event-history.js";
import { startPostgresEventHistory } from "../../src/consumers/event-history/postgres-event-history.js";
import { startSqliteEventHistory } from "../../src/consumers/event-history/sqlite-event-history.js";
import { ThreadedEventHistory } from "../../src/consumers/event-history/threaded-event-history.js";
import { openPostgresDatabase } from "../../src/stores/postgres/index.js";
import { postgresMissingReason, startPostgresServer, type PostgresServer } from "../helpers/postgres-server.js";
import { eventHistoryContractSuite } from "./event-history.suite.js";

eventHistoryContractSuite("SqliteEventHistory, indexing on this thread", (setup) =>
  startSqliteEventHistory({ ...setup, path: join(setup.directory, "event-history.db") }),
);
eventHistoryContractSuite("ThreadedEventHistory, indexing on a worker thread", (setup) =>
  ThreadedEventHistory.start({ ...setup, path: join(setup.directory, "event-history.db") }),
);

describe("PostgreSQL event history", { skip: postgresMissingReason() }, () => {
  let server: PostgresServer;
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());

  // Each subject gets a fresh database; closing the subject closes the history, then its pool, then drops it.
  eventHistoryContractSuite("PostgresEventHistory", async (setup) => {
    const database = await server.createDatabase();
    const db = openPostgresDatabase({ url: database.url });
    let history: EventHistory;
    try {
      history = await startPostgresEventHistory({ ...setup, db });
    } catch (error) {
      await db.close();
      await database.drop();
      throw error;
    }
    return {
      lookup: (query) => history.lookup(query),
      cursor: () => history.cursor(),
      waitFor: (seq, timeoutMs) => history.waitFor(seq, timeoutMs),
      prune: () => history.prune(),
      async close() {
        await history.close();
        await db.close();
        await database.drop();
      },
    };
  });
});
