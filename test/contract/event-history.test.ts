import { join } from "node:path";
import { startSqliteEventHistory } from "../../src/consumers/event-history/sqlite-event-history.js";
import { ThreadedEventHistory } from "../../src/consumers/event-history/threaded-event-history.js";
import { eventHistoryContractSuite } from "./event-history.suite.js";

eventHistoryContractSuite("SqliteEventHistory, indexing on this thread", (setup) =>
  startSqliteEventHistory({ ...setup, path: join(setup.directory, "event-history.db") }),
);
eventHistoryContractSuite("ThreadedEventHistory, indexing on a worker thread", (setup) =>
  ThreadedEventHistory.start({ ...setup, path: join(setup.directory, "event-history.db") }),
);
