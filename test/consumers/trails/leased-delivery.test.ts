import assert from "node:assert/strict";
import { join } from "node:path";
import { after, afterEach, before, describe, it, type TestContext } from "node:test";
import { collectOutput } from "../../../src/cli/output.js";
import { dataDirPublicKeys } from "../../../src/cli/validate-logs/sources.js";
import { validateLogs } from "../../../src/cli/validate-logs/validate-run.js";
import {
  startTrailDelivery,
  type TrailDelivery,
} from "../../../src/consumers/trail-delivery/trail-delivery-manager.js";
import { systemClock } from "../../../src/lib/clock.js";
import type { CloudTrailRecord } from "../../../src/model/record.js";
import { compileEventSelectors } from "../../../src/selectors/selector-matcher.js";
import { openPostgresLeaseStore, type LeaseGrant, type LeaseStore } from "../../../src/stores/lease/index.js";
import { openPostgresDatabase, type PostgresDatabase } from "../../../src/stores/postgres/index.js";
import { openFileSigningKeyStore, type SigningKeyStore } from "../../../src/stores/signing-keys/index.js";
import { openPostgresDeliveryStateStore, type TrailConfig } from "../../../src/stores/trails/index.js";
import { startS3Server } from "../../../src/http/s3-server/start-s3-server.js";
import { digestTime } from "../../../src/model/digest-format.js";
import { awsCliMissingReason, runCommand } from "../../helpers/aws-cli.js";
import { testMasterKey } from "../../helpers/master-key.js";
import { openS3Access } from "../../helpers/s3-access.js";
import { startCloudTrailStub } from "../../validate-logs/cloudtrail-stub.js";
import { MemoryJournal } from "../../helpers/memory-journal.js";
import { pollUntil } from "../../helpers/poll.js";
import {
  postgresMissingReason,
  startPostgresServer,
  type PostgresServer,
  type TestDatabase,
} from "../../helpers/postgres-server.js";
import {
  BUCKET,
  MemoryTrailStore,
  appendRecords,
  readLogFiles,
  record,
  trailConfig,
  workspace,
  type Workspace,
} from "./harness.js";

/** Short, so the takeover in these tests comes soon; production leases run 15 s. */
const TTL_MS = 1500;

/**
 * A node's lease store whose renewals can be held back, as when the node pauses (GC, SIGSTOP): it
 * stops renewing without releasing, and keeps running when it wakes. Records every grant it got.
 */
class PausableLeases implements LeaseStore {
  readonly grants: LeaseGrant[] = [];
  private paused: Promise<void> | undefined;
  private resume: (() => void) | undefined;

  constructor(private readonly inner: LeaseStore) {}

  pause(): void {
    this.paused = new Promise((resolve) => (this.resume = resolve));
  }

  unpause(): void {
    this.resume?.();
    this.paused = undefined;
  }

  async acquire(name: string, holder: string, ttlMs: number): Promise<LeaseGrant | undefined> {
    await this.paused;
    const grant = await this.inner.acquire(name, holder, ttlMs);
    if (grant !== undefined) this.grants.push(grant);
    return grant;
  }

  async renew(grant: LeaseGrant, ttlMs: number): Promise<LeaseGrant | undefined> {
    await this.paused;
    return this.inner.renew(grant, ttlMs);
  }

  release(grant: LeaseGrant): Promise<void> {
    return this.inner.release(grant);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Node {
  readonly delivery: TrailDelivery;
  readonly leases: PausableLeases;
  readonly db: PostgresDatabase;
}

describe("trail delivery on two nodes under leases", { skip: postgresMissingReason() }, () => {
  let server: PostgresServer | undefined;
  let database: TestDatabase;
  let ws: Workspace;
  const nodes: Node[] = [];
  before(async () => (server = await startPostgresServer()));
  after(() => server?.stop());
  afterEach(async () => {
    for (const node of nodes.splice(0)) {
      node.leases.unpause();
      await node.delivery.stop();
      await node.db.close();
    }
    await database.drop();
    ws.cleanup();
  });

  /** One node: its own database handle, lease and delivery-state stores; the journal, trails, bucket and keys are shared. */
  async function startNode(id: string, journal: MemoryJournal, trails: MemoryTrailStore, keys: SigningKeyStore) {
    const db = openPostgresDatabase({ url: database.url });
    const leases = new PausableLeases(await openPostgresLeaseStore(db));
    const delivery = await startTrailDelivery({
      journal,
      trails,
      deliveryStates: await openPostgresDeliveryStateStore(db),
      objectStore: ws.store,
      keys,
      clock: systemClock,
      deliveryIntervalSeconds: 1,
      digestIntervalSeconds: 1,
      matcherFor: (t) => compileEventSelectors(t),
      tickMs: 50,
      leases: { store: leases, holder: id, ttlMs: TTL_MS },
    });
    const node = { delivery, leases, db };
    nodes.push(node);
    return node;
  }

  it("delivers each event once, and a paused holder's trail moves to the other node, whose token fences it off", async (t) => {
    database = await server!.createDatabase();
    ws = workspace();
    await ws.store.ensureBucket(BUCKET);
    const journal = new MemoryJournal();
    const trails = new MemoryTrailStore();
    const keys = openFileSigningKeyStore({ dataDir: ws.dataDir, clock: systemClock, masterKey: testMasterKey() });
    const trail = trailConfig({ isLogging: true, startLoggingTimeMs: Date.now(), deliverFromSeq: 1 });
    await trails.put(trail);
    const lease = `trail-delivery:${trail.trailArn}`;

    const a = await startNode("node-a", journal, trails, keys);
    const b = await startNode("node-b", journal, trails, keys);
    assert.deepEqual(a.delivery.leasesHeld(), [lease]);
    assert.deepEqual(b.delivery.leasesHeld(), [], "a node without the trail's lease does not deliver it");
    assert.deepEqual(b.delivery.consumers(), []);

    const appended: CloudTrailRecord[] = [];
    const batch = async () => {
      const records = Array.from({ length: 20 }, () => record());
      appended.push(...records);
      await appendRecords(journal, records);
    };
    await batch();
    await a.delivery.flush();
    await b.delivery.flush();
    assert.equal((await deliveredIds()).length, 20);

    // Node A pauses: it stops renewing but keeps delivering, believing it still holds the trail.
    a.leases.pause();
    await batch();
    await pollUntil(() => b.delivery.leasesHeld().includes(lease), { message: "node B to take the lease over" });
    const [tokenA] = a.leases.grants;
    const tokenB = b.leases.grants.at(-1);
    assert.ok(tokenB!.fencingToken > tokenA!.fencingToken, "the new holder's token is greater");

    // The zombie's next delivery-state save is refused (B's load claimed the state): it stops the
    // trail at once, although its renewals are still held back.
    await batch();
    await pollUntil(() => a.delivery.consumers().length === 0, { message: "node A to stop its fenced-off trail" });
    assert.equal(b.delivery.consumers().length, 1);

    a.leases.unpause();
    await batch();
    await b.delivery.flush();
    await a.delivery.flush();
    assert.deepEqual(a.delivery.leasesHeld(), [], "the woken node does not take the trail back");

    // StopLogging: the holder closes the digest chain.
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the final digest ends a second after the last
    await trails.put({ ...trail, isLogging: false, deliverUntilSeq: journal.headSeq() });
    await b.delivery.flush();
    await a.delivery.flush();

    const delivered = await deliveredIds();
    assert.equal(new Set(delivered).size, delivered.length, "no event is in two files");
    assert.deepEqual(delivered.sort(), appended.map((r) => r.eventID).sort(), "no event is lost");
    await assertChainValid(trail);
    await assertAwsCliValid(t, trail, keys);
  });

  async function deliveredIds(): Promise<string[]> {
    return (await readLogFiles(ws.store)).flatMap((file) => file.eventIds);
  }

  async function assertChainValid(trail: TrailConfig): Promise<void> {
    const stdout = collectOutput();
    const stderr = collectOutput();
    const result = await validateLogs({
      trailArn: trail.trailArn,
      target: { accountId: trail.accountId, trailName: trail.name, homeRegion: "us-east-1", sourceRegion: "us-east-1" },
      bucket: BUCKET,
      startMs: trail.startLoggingTimeMs! - 60_000,
      endMs: Date.now(),
      verbose: false,
      reader: ws.store,
      publicKeys: dataDirPublicKeys(ws.dataDir, "us-east-1"),
      stdout,
      stderr,
    });
    assert.equal(result.exitCode, 0, stderr.text() + stdout.text());
    assert.match(stdout.text(), /(\d+)\/\1 digest files valid\n(\d+)\/\2 log files valid\n$/);
  }

  /** The real `aws cloudtrail validate-logs`, reading the bucket through Cairn's S3 endpoint. */
  async function assertAwsCliValid(t: TestContext, trail: TrailConfig, keys: SigningKeyStore): Promise<void> {
    const missing = awsCliMissingReason();
    if (missing !== false) {
      t.diagnostic(missing);
      return;
    }
    const access = await openS3Access(ws.dir, [BUCKET]);
    const s3 = await startS3Server({
      store: ws.store,
      host: "127.0.0.1",
      port: 0,
      listBuckets: () => ws.store.listBuckets(),
      principals: access.principals,
      owners: access.owners,
      authorizer: access.authorizer,
    });
    const cloudTrail = await startCloudTrailStub(keys, () => [trail]);
    try {
      const range = [
        "--start-time",
        digestTime(trail.startLoggingTimeMs! - 60_000),
        "--end-time",
        digestTime(Date.now()),
      ];
      const result = await runCommand(
        "aws",
        ["cloudtrail", "validate-logs", "--trail-arn", trail.trailArn, ...range, "--endpoint-url", cloudTrail.url],
        {
          PATH: process.env["PATH"] ?? "",
          HOME: ws.dir,
          AWS_ACCESS_KEY_ID: access.owner.accessKeyId,
          AWS_SECRET_ACCESS_KEY: access.owner.secretAccessKey,
          AWS_DEFAULT_REGION: "us-east-1",
          AWS_CONFIG_FILE: join(ws.dir, "no-config"),
          AWS_SHARED_CREDENTIALS_FILE: join(ws.dir, "no-credentials"),
          AWS_ENDPOINT_URL_S3: s3.url,
        },
      );
      assert.equal(result.code, 0, result.stderr + result.stdout);
      assert.match(result.stdout, /(\d+)\/\1 digest files valid\n(\d+)\/\2 log files valid/);
      assert.doesNotMatch(result.stdout, /INVALID/);
      t.diagnostic(`aws cloudtrail validate-logs: ${result.stdout.trim().split("\n").slice(-2).join("; ")}`);
    } finally {
      await s3.close();
      await cloudTrail.close();
      await access.close();
    }
  }
});
