import { randomBytes } from "node:crypto";
import { motoMissingReason, startMotoServer, type MotoServer } from "../storage/moto-server.js";
import { natsServerMissingReason, startNatsCluster, startNatsServer, type NatsServer } from "./nats-server.js";
import {
  postgresMissingReason,
  startPostgresServer,
  type PostgresServer,
  type TestDatabase,
} from "./postgres-server.js";

/** `false` when PostgreSQL, nats-server and moto are all here, else the loud reason cluster tests skip. */
export function clusterEnginesMissingReason(what: string): string | false {
  const missing = postgresMissingReason() || natsServerMissingReason() || motoMissingReason();
  if (missing)
    process.stderr.write(`\n*** SKIPPED LOUDLY: ${what} need PostgreSQL, nats-server and moto: ${missing} ***\n\n`);
  return missing;
}

/** The engines a cluster node runs on, started by the test: PostgreSQL (one database), nats-server, moto as S3. */
export interface ClusterEngines {
  readonly postgres: PostgresServer;
  readonly nats: NatsServer;
  readonly moto: MotoServer;
  readonly database: TestDatabase;
  /** The master key every node shares. */
  readonly masterKey: string;
  /** A node's cluster settings as environment variables, plus `extra`. */
  nodeEnv(nodeId: string, extra?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

/** `natsNodes: 3` starts a 3-server JetStream cluster (for CAIRN_JOURNAL_REPLICAS=3) instead of one server. */
export async function startClusterEngines(options: { natsNodes?: 1 | 3 } = {}): Promise<ClusterEngines> {
  const postgres = await startPostgresServer();
  const nats = options.natsNodes === 3 ? await startNatsCluster(3) : await startNatsServer();
  const moto = await startMotoServer();
  const database = await postgres.createDatabase();
  const masterKey = randomBytes(32).toString("base64");
  return {
    postgres,
    nats,
    moto,
    database,
    masterKey,
    nodeEnv: (nodeId, extra = {}) => ({
      CAIRN_DATABASE_URL: database.url,
      CAIRN_JOURNAL_URL: nats.urls.join(","),
      CAIRN_S3_ENDPOINT: moto.endpoint,
      CAIRN_S3_ACCESS_KEY_ID: "testing",
      CAIRN_S3_SECRET_ACCESS_KEY: "testing",
      CAIRN_MASTER_KEY: masterKey,
      CAIRN_NODE_ID: nodeId,
      ...extra,
    }),
    async stop() {
      await database.drop();
      await postgres.stop();
      await nats.stop();
      await moto.stop();
    },
  };
}
