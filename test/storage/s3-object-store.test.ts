import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { connect, createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { ObjectStoreError } from "../../src/stores/objects/object-store.js";
import { createS3ObjectStore, objectStoreFromEnvironment } from "../../src/stores/objects/s3-object-store.js";
import { objectStoreContractSuite } from "../contract/object-store.suite.js";
import { freePort, motoMissingReason, startMotoServer } from "./moto-server.js";

const motoMissing = motoMissingReason();

objectStoreContractSuite(
  "S3 (moto_server)",
  async () => {
    const moto = await startMotoServer();
    const store = createS3ObjectStore({
      endpoint: moto.endpoint,
      region: "us-east-1",
      accessKeyId: "testing",
      secretAccessKey: "testing",
      forcePathStyle: true,
    });
    return { store, cleanup: () => moto.stop() };
  },
  { skip: motoMissing },
);

function rejectsWith(code: string, messagePattern: RegExp): (error: unknown) => boolean {
  return (error: unknown) => {
    assert.ok(error instanceof ObjectStoreError, String(error));
    assert.equal(error.code, code, error.message);
    assert.match(error.message, messagePattern);
    return true;
  };
}

describe("S3 object store errors read well in LatestDeliveryError", () => {
  let denying: Server;
  let denyingEndpoint: string;
  before(async () => {
    // A stand-in for a bucket policy that refuses us: every request gets S3's AccessDenied document.
    denying = createServer((request, response) => {
      request.resume();
      response.writeHead(403, { "content-type": "application/xml", "x-amz-request-id": "TEST" });
      response.end(
        request.method === "HEAD"
          ? undefined
          : '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message><RequestId>TEST</RequestId></Error>',
      );
    });
    await new Promise<void>((resolve) => denying.listen(0, "127.0.0.1", resolve));
    const address = denying.address();
    denyingEndpoint = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`;
  });
  after(() => new Promise<void>((resolve) => denying.close(() => resolve())));

  const credentials = { region: "us-east-1", accessKeyId: "x", secretAccessKey: "y", forcePathStyle: true };

  it("AccessDenied", async () => {
    const store = createS3ObjectStore({ ...credentials, endpoint: denyingEndpoint });
    await assert.rejects(
      store.putObject("bucket", "AWSLogs/k.json.gz", Buffer.from("x")),
      rejectsWith(
        "AccessDenied",
        /^S3 PutObject s3:\/\/bucket\/AWSLogs\/k\.json\.gz failed: AccessDenied: Access Denied \(HTTP 403\)$/,
      ),
    );
    await assert.rejects(
      store.bucketExists("bucket"),
      rejectsWith("AccessDenied", /HeadBucket s3:\/\/bucket failed: AccessDenied.*HTTP 403/),
    );
  });

  it("connection refused", async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const store = createS3ObjectStore({ ...credentials, endpoint });
    await assert.rejects(
      store.putObject("bucket", "k", Buffer.from("x")),
      rejectsWith(
        "ECONNREFUSED",
        new RegExp(`^S3 PutObject s3://bucket/k failed: cannot connect to ${endpoint}: .*ECONNREFUSED`),
      ),
    );
  });

  it("NoSuchBucket", { skip: motoMissing }, async () => {
    const moto = await startMotoServer();
    try {
      const store = createS3ObjectStore({ ...credentials, endpoint: moto.endpoint });
      await assert.rejects(
        store.putObject("missing-bucket", "k", Buffer.from("x")),
        rejectsWith(
          "NoSuchBucket",
          /^S3 PutObject s3:\/\/missing-bucket\/k failed: NoSuchBucket: The specified bucket does not exist \(HTTP 404\)$/,
        ),
      );
      assert.equal(await store.bucketExists("missing-bucket"), false);
      await store.ensureBucket("missing-bucket");
      await store.ensureBucket("missing-bucket");
      assert.equal(await store.bucketExists("missing-bucket"), true);
    } finally {
      await moto.stop();
    }
  });
});

/**
 * A TCP relay that forwards what the client sends at at most 13 MB/s (64 KB every 5 ms) and answers at
 * full speed: a link on which a large upload keeps moving for seconds. Not slower: the kernel's socket
 * buffers (MBs on loopback) take in that much at once, and the client sees no progress while they drain.
 */
/**
 * What the slow link lets through every 5 ms: about 13 MB/s. Not slower: the sender's last write
 * completes once the tail of the body fits in the socket buffers (megabytes on loopback), and the
 * link must drain that tail well within the idle timeout.
 */
const TRICKLE_BYTES = 65_536;

async function startSlowLink(targetEndpoint: string): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const target = new URL(targetEndpoint);
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    upstream.pipe(client);
    const trickle = setInterval(() => {
      // read() also asks the socket for more; what is over 64 KB goes back for the next tick.
      const chunk = client.read() as Buffer | null;
      if (chunk === null) return;
      upstream.write(chunk.subarray(0, TRICKLE_BYTES));
      if (chunk.length > TRICKLE_BYTES) client.unshift(chunk.subarray(TRICKLE_BYTES));
    }, 5);
    const drop = (): void => {
      clearInterval(trickle);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", drop).on("close", drop);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("S3 object store timeouts (CAIRN_S3_TIMEOUT_MS)", { skip: motoMissing }, () => {
  const credentials = { region: "us-east-1", accessKeyId: "x", secretAccessKey: "y", forcePathStyle: true };

  it("fails a call to a hung endpoint after one idle timeout, not after three attempts", async () => {
    const moto = await startMotoServer();
    try {
      const store = createS3ObjectStore({ ...credentials, endpoint: moto.endpoint, timeoutMs: 500 });
      await store.ensureBucket("hung");
      moto.signal("SIGSTOP");
      const startedMs = Date.now();
      await assert.rejects(
        store.putObject("hung", "AWSLogs/k.json.gz", Buffer.from("x")),
        rejectsWith(
          "TimeoutError",
          new RegExp(
            `^S3 PutObject s3://hung/AWSLogs/k\\.json\\.gz failed: no answer from ${moto.endpoint}: the request socket timed out after 500 ms of inactivity \\(TimeoutError\\)$`,
          ),
        ),
      );
      const elapsedMs = Date.now() - startedMs;
      assert.ok(elapsedMs >= 450 && elapsedMs < 1_400, `failed after ${elapsedMs} ms`);
      await assert.rejects(
        store.bucketExists("hung"),
        rejectsWith("TimeoutError", /^S3 HeadBucket s3:\/\/hung failed/),
      );
      moto.signal("SIGCONT");
      // The timed-out put may land late; the same call again simply succeeds.
      await store.putObject("hung", "AWSLogs/k.json.gz", Buffer.from("x"));
      assert.deepEqual((await store.getObject("hung", "AWSLogs/k.json.gz"))?.body, Buffer.from("x"));
    } finally {
      moto.signal("SIGCONT");
      await moto.stop();
    }
  });

  it("does not cut an upload that keeps moving for longer than the timeout", async () => {
    const moto = await startMotoServer();
    const link = await startSlowLink(moto.endpoint);
    try {
      const direct = createS3ObjectStore({ ...credentials, endpoint: moto.endpoint });
      await direct.ensureBucket("slow");
      // The timeout leaves moto time to store the body once it has all arrived (a loaded machine is slow).
      const timeoutMs = 2_000;
      const store = createS3ObjectStore({ ...credentials, endpoint: link.endpoint, timeoutMs });
      // 5 s or more on the link: the upload is never idle, yet lasts longer than two timeouts.
      const body = Buffer.alloc(64_000_000, 7);
      const startedMs = Date.now();
      await store.putObject("slow", "big.bin", body);
      const elapsedMs = Date.now() - startedMs;
      assert.ok(elapsedMs > 2 * timeoutMs, `the upload took ${elapsedMs} ms, longer than two timeouts`);
      assert.ok((await direct.getObject("slow", "big.bin"))?.body.equals(body), "the whole body arrived");
    } finally {
      await link.stop();
      await moto.stop();
    }
  });

  it("refuses a timeout that would switch the timeouts off", () => {
    for (const timeoutMs of [0, -1, 1.5]) {
      assert.throws(
        () => createS3ObjectStore({ ...credentials, endpoint: "http://127.0.0.1:9", timeoutMs }),
        (error: unknown) => error instanceof ObjectStoreError && error.code === "InvalidConfig",
      );
    }
  });
});

describe("objectStoreFromEnvironment", () => {
  it("is embedded under <data-dir>/buckets without CAIRN_S3_ENDPOINT", () => {
    const chosen = objectStoreFromEnvironment({}, "/tmp/cairn-data");
    assert.equal(chosen.kind, "embedded");
    assert.equal((chosen.store as unknown as { root: string }).root, "/tmp/cairn-data/buckets");
    assert.equal(objectStoreFromEnvironment({ CAIRN_S3_ENDPOINT: " " }, "/d").kind, "embedded");
  });

  it("is S3 with an endpoint, and names the variable on a bad value", () => {
    assert.equal(objectStoreFromEnvironment({ CAIRN_S3_ENDPOINT: "http://127.0.0.1:9000" }, "/d").kind, "s3");
    assert.throws(
      () => objectStoreFromEnvironment({ CAIRN_S3_ENDPOINT: "127.0.0.1:9000" }, "/d"),
      /CAIRN_S3_ENDPOINT must be an http:\/\/ or https:\/\/ URL/,
    );
    assert.throws(
      () => objectStoreFromEnvironment({ CAIRN_S3_ENDPOINT: "http://h", CAIRN_S3_FORCE_PATH_STYLE: "maybe" }, "/d"),
      /CAIRN_S3_FORCE_PATH_STYLE must be true or false/,
    );
    assert.throws(
      () => objectStoreFromEnvironment({ CAIRN_S3_ENDPOINT: "http://h", CAIRN_S3_ACCESS_KEY_ID: "a" }, "/d"),
      /Set both CAIRN_S3_ACCESS_KEY_ID and CAIRN_S3_SECRET_ACCESS_KEY/,
    );
    for (const bad of ["0", "-5", "2s"]) {
      assert.throws(
        () => objectStoreFromEnvironment({ CAIRN_S3_ENDPOINT: "http://h", CAIRN_S3_TIMEOUT_MS: bad }, "/d"),
        /CAIRN_S3_TIMEOUT_MS must be a positive integer of milliseconds/,
      );
    }
  });

  it("talks to the endpoint it names", { skip: motoMissing }, async () => {
    const moto = await startMotoServer();
    try {
      const { store } = objectStoreFromEnvironment(
        {
          CAIRN_S3_ENDPOINT: moto.endpoint,
          CAIRN_S3_REGION: "eu-west-1",
          CAIRN_S3_ACCESS_KEY_ID: "x",
          CAIRN_S3_SECRET_ACCESS_KEY: "y",
        },
        "/unused",
      );
      await store.ensureBucket("env-bucket");
      await store.putObject("env-bucket", "k", Buffer.from("v"), { metadata: { signature: "00" } });
      assert.deepEqual((await store.getObject("env-bucket", "k"))?.metadata, { signature: "00" });
    } finally {
      await moto.stop();
    }
  });
});
