import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { openClusterStores, type ClusterStores } from "../../src/app/cluster-stores.js";
import { loadServerSettings, type ServerSettings } from "../../src/config/settings.js";
import { systemClock } from "../../src/lib/clock.js";
import { generatePrincipal } from "../../src/stores/principals/keys.js";
import { natsServerMissingReason, startNatsServer, type NatsServer } from "../helpers/nats-server.js";
import {
  postgresMissingReason,
  startPostgresServer,
  type PostgresServer,
  type TestDatabase,
} from "../helpers/postgres-server.js";
import { makeDataDir, removeDataDir } from "../helpers/server-process.js";
import { motoMissingReason, startMotoServer, type MotoServer } from "../storage/moto-server.js";

const missing = postgresMissingReason() || natsServerMissingReason() || motoMissingReason();
if (missing)
  process.stderr.write(
    `\n*** SKIPPED LOUDLY: cluster stores need PostgreSQL, nats-server and moto: ${missing} ***\n\n`,
  );

describe("openClusterStores: one node's stores on PostgreSQL, JetStream and S3", { skip: missing }, () => {
  let postgres: PostgresServer;
  let nats: NatsServer;
  let moto: MotoServer;
  let database: TestDatabase;
  const dirs: string[] = [];
  const masterKey = randomBytes(32).toString("base64");

  before(async () => {
    postgres = await startPostgresServer();
    nats = await startNatsServer();
    moto = await startMotoServer();
    database = await postgres.createDatabase();
  });
  after(async () => {
    await database?.drop();
    await postgres?.stop();
    await nats?.stop();
    await moto?.stop();
    dirs.forEach(removeDataDir);
  });

  function settingsOf(dataDir: string, key = masterKey): ServerSettings {
    return loadServerSettings(
      { dataDir },
      {
        CAIRN_DATABASE_URL: database.url,
        CAIRN_JOURNAL_URL: nats.urls.join(","),
        CAIRN_JOURNAL_STREAM: "cluster-stores-test",
        CAIRN_S3_ENDPOINT: moto.endpoint,
        CAIRN_S3_ACCESS_KEY_ID: "testing",
        CAIRN_S3_SECRET_ACCESS_KEY: "testing",
        CAIRN_MASTER_KEY: key,
      },
    );
  }
  const freshDir = () => {
    const dir = makeDataDir("cairn-cluster-node-");
    dirs.push(dir);
    return join(dir, "node");
  };

  async function withNode<T>(dataDir: string, body: (stores: ClusterStores) => Promise<T>): Promise<T> {
    const stores = await openClusterStores(settingsOf(dataDir), systemClock);
    try {
      return await body(stores);
    } finally {
      await stores.close();
    }
  }

  it("keeps everything outside the data dir: a node restarted with its data dir wiped finds it all, as does a second node", async () => {
    const alice = generatePrincipal({ name: "alice", type: "IAMUser", accountId: "123456789012", createdAtMs: 1 });
    const first = freshDir();
    const [nodeA, nodeB] = [first, freshDir()];
    const written = await withNode(first, async (stores) => {
      await stores.principals.add(alice);
      await stores.buckets.store.ensureBucket("cluster-trail-bucket");
      await stores.buckets.owners.claim("cluster-trail-bucket", "123456789012");
      const appended = await stores.journal.append([{ json: '{"eventName":"A"}', dedupKey: "cluster-a" }]);
      await stores.buckets.store.putObject("cluster-trail-bucket", "k", Buffer.from("bytes"));
      return appended.seqs[0]!;
    });
    assert.ok(existsSync(join(first, "journal-keys.sqlite")), "the per-node key index lives in the data dir");
    removeDataDir(first);
    for (const dataDir of [nodeA, nodeB]) {
      await withNode(dataDir, async (stores) => {
        assert.deepEqual(await stores.principals.findByAccessKeyId(alice.accessKeyId), alice);
        assert.equal(stores.journal.headSeq(), written);
        const [entry] = (await stores.journal.readMany([written])).values();
        assert.equal(entry?.json, '{"eventName":"A"}');
        const again = await stores.journal.append([{ json: '{"eventName":"A"}', dedupKey: "cluster-a" }]);
        assert.deepEqual(again.seqs, [null], "a repeat is dropped on any node, its key index rebuilt from the stream");
        assert.equal((await stores.buckets.store.getObject("cluster-trail-bucket", "k"))?.body.toString(), "bytes");
      });
    }
  });

  it("refuses a master key other than the one the cluster's secrets are sealed with", async () => {
    await assert.rejects(
      openClusterStores(settingsOf(freshDir(), randomBytes(32).toString("base64")), systemClock),
      (error: Error) => {
        assert.match(error.message, /master key|does not open/i);
        return !error.message.includes(masterKey);
      },
    );
  });
});
