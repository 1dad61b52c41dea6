import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
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
