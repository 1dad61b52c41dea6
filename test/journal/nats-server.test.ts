import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { natsServerMissingReason, startNatsCluster, startNatsServer, type NatsServer } from "../helpers/nats-server.js";

const skip = natsServerMissingReason();

async function timed(what: string, start: () => Promise<NatsServer>): Promise<NatsServer> {
  const began = performance.now();
  const server = await start();
  // Printed, not asserted: the CI budget (2 cores, 90 min) is planned from these figures.
  process.stdout.write(`# ${what} ready in ${Math.round(performance.now() - began)} ms\n`);
  return server;
}

/** A stream of `replicas` stores a message and serves it back by sequence. */
async function roundTrip(server: NatsServer, replicas: number): Promise<void> {
  const nc = await connect({ servers: [...server.urls] });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "probe", subjects: ["probe"], num_replicas: replicas });
    const ack = await jetstream(nc).publish("probe", "hello");
    assert.equal(ack.seq, 1);
    assert.equal((await jsm.streams.getMessage("probe", { seq: 1 }))?.string(), "hello");
    assert.equal((await jsm.streams.info("probe")).config.num_replicas, replicas);
  } finally {
    await nc.close();
  }
}

describe("nats-server test helper", { skip }, () => {
  it("starts one JetStream server and stops it", async () => {
    const server = await timed("one nats-server", startNatsServer);
    try {
      await roundTrip(server, 1);
    } finally {
      await server.stop();
    }
    await assert.rejects(connect({ servers: server.url, reconnect: false, timeout: 1_000 }));
  });

  it("starts a 3-node cluster that holds an R3 stream", async () => {
    const cluster = await timed("3-node nats cluster", startNatsCluster);
    try {
      assert.equal(cluster.urls.length, 3);
      await roundTrip(cluster, 3);
    } finally {
      await cluster.stop();
    }
  });
});
