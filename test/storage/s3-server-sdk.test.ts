import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  DeleteObjectCommand,
  GetBucketLocationCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  paginateListObjectsV2,
} from "@aws-sdk/client-s3";
import {
  BUCKET,
  OTHER_BUCKET,
  OTHER_KEY,
  DIGEST_BODY,
  DIGEST_KEY,
  LOG_KEY,
  MANY_COUNT,
  MANY_PREFIX,
  SIGNATURE,
  SPECIAL_KEY,
  manyKey,
  startServedStore,
  type ServedStore,
} from "./s3-server-fixture.js";

async function rejectsWithS3Error(promise: Promise<unknown>, name: string, status: number): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof S3ServiceException, String(error));
    assert.equal(error.name, name);
    assert.equal(error.$metadata.httpStatusCode, status);
    assert.match(error.$metadata.requestId ?? "", /^[0-9A-F]{16}$/);
    return true;
  });
}

function clientFor(served: ServedStore, credentials: { accessKeyId: string; secretAccessKey: string }): S3Client {
  return new S3Client({ endpoint: served.server.url, region: "us-east-1", credentials, forcePathStyle: true });
}

describe("S3 server with @aws-sdk/client-s3", () => {
  let served: ServedStore;
  let client: S3Client;
  before(async () => {
    served = await startServedStore();
    client = clientFor(served, served.owner);
  });
  after(async () => {
    client?.destroy();
    await served?.close();
  });

  it("lists buckets and reports location and existence", async () => {
    const buckets = await client.send(new ListBucketsCommand({}));
    assert.deepEqual(
      buckets.Buckets?.map((bucket) => bucket.Name),
      ["empty-bucket", BUCKET],
    );
    assert.ok(buckets.Buckets?.[0]?.CreationDate instanceof Date);
    const location = await client.send(new GetBucketLocationCommand({ Bucket: BUCKET }));
    assert.equal(location.LocationConstraint ?? "", "");
    await client.send(new HeadBucketCommand({ Bucket: BUCKET }));
    await rejectsWithS3Error(client.send(new HeadBucketCommand({ Bucket: "no-such-bucket" })), "NotFound", 404);
  });

  it("pages ListObjects v1 with Marker/NextMarker over more than 1000 keys", async () => {
    const keys: string[] = [];
    let marker: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await client.send(
        new ListObjectsCommand({ Bucket: BUCKET, Prefix: MANY_PREFIX, ...(marker ? { Marker: marker } : {}) }),
      );
      pages += 1;
      keys.push(...(page.Contents ?? []).map((object) => object.Key!));
      if (!page.IsTruncated) break;
      assert.equal(page.Contents?.length, 1000);
      marker = page.NextMarker;
      assert.equal(marker, keys[keys.length - 1]);
    }
    assert.equal(pages, 2);
    assert.deepEqual(
      keys,
      Array.from({ length: MANY_COUNT }, (_, i) => manyKey(i)),
    );
  });

  it("pages ListObjectsV2 with continuation tokens, StartAfter and KeyCount", async () => {
    const keys: string[] = [];
    let pages = 0;
    for await (const page of paginateListObjectsV2(
      { client, pageSize: 300 },
      { Bucket: BUCKET, Prefix: MANY_PREFIX },
    )) {
      pages += 1;
      assert.equal(page.KeyCount, page.Contents?.length ?? 0);
      keys.push(...(page.Contents ?? []).map((object) => object.Key!));
    }
    assert.equal(pages, 5);
    assert.equal(keys.length, MANY_COUNT);
    const after = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: MANY_PREFIX, StartAfter: manyKey(1200) }),
    );
    assert.deepEqual(
      after.Contents?.map((object) => object.Key),
      [1201, 1202, 1203, 1204].map(manyKey),
    );
    assert.equal(after.KeyCount, 4);
    assert.equal(after.IsTruncated, false);
    assert.equal(after.StartAfter, manyKey(1200));
  });

  it("rolls keys up into CommonPrefixes with a delimiter, and pages through them", async () => {
    const top = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Delimiter: "/" }));
    assert.deepEqual(
      top.CommonPrefixes?.map((prefix) => prefix.Prefix),
      ["AWSLogs/", "many/", "special/"],
    );
    assert.equal(top.Contents, undefined);
    assert.equal(top.KeyCount, 3);
    const seen: string[] = [];
    let marker: string | undefined;
    for (let i = 0; i < 10; i += 1) {
      const page = await client.send(
        new ListObjectsCommand({ Bucket: BUCKET, Delimiter: "/", MaxKeys: 1, ...(marker ? { Marker: marker } : {}) }),
      );
      seen.push(...(page.CommonPrefixes ?? []).map((prefix) => prefix.Prefix!));
      if (!page.IsTruncated) break;
      marker = page.NextMarker;
    }
    assert.deepEqual(seen, ["AWSLogs/", "many/", "special/"]);
    const deep = await client.send(
      new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "AWSLogs/111122223333/", Delimiter: "/", MaxKeys: 1 }),
    );
    assert.deepEqual(
      deep.CommonPrefixes?.map((prefix) => prefix.Prefix),
      ["AWSLogs/111122223333/CloudTrail-Digest/"],
    );
    const next = await client.send(
      new ListObjectsV2Command({
        Bucket: BUCKET,
        Prefix: "AWSLogs/111122223333/",
        Delimiter: "/",
        ContinuationToken: deep.NextContinuationToken!,
      }),
    );
    assert.deepEqual(
      next.CommonPrefixes?.map((prefix) => prefix.Prefix),
      ["AWSLogs/111122223333/CloudTrail/"],
    );
  });

  it("gets a digest with its signature metadata, encoding, ETag and size", async () => {
    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: DIGEST_KEY }));
    const body = Buffer.from(await object.Body!.transformToByteArray());
    assert.deepEqual(body, DIGEST_BODY, "the gzip body is served as stored, not decoded");
    assert.deepEqual(object.Metadata, { signature: SIGNATURE, "signature-algorithm": "SHA256withRSA" });
    assert.equal(object.ContentEncoding, "gzip");
    assert.equal(object.ContentType, "application/json");
    assert.equal(object.ETag, `"${createHash("md5").update(DIGEST_BODY).digest("hex")}"`);
    assert.equal(object.ContentLength, DIGEST_BODY.length);
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: DIGEST_KEY }));
    assert.deepEqual(head.Metadata, object.Metadata);
    assert.equal(head.ContentLength, DIGEST_BODY.length);
    assert.equal(head.LastModified?.getTime(), object.LastModified?.getTime());
  });

  it("serves byte ranges", async () => {
    const part = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: LOG_KEY, Range: "bytes=0-1" }));
    assert.deepEqual(Buffer.from(await part.Body!.transformToByteArray()), Buffer.from([0x1f, 0x8b]));
    assert.match(part.ContentRange ?? "", /^bytes 0-1\/\d+$/);
    await rejectsWithS3Error(
      client.send(new GetObjectCommand({ Bucket: BUCKET, Key: LOG_KEY, Range: "bytes=99999-" })),
      "InvalidRange",
      416,
    );
  });

  it("round-trips keys with XML and URL special characters", async () => {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "special/" }));
    assert.deepEqual(
      listed.Contents?.map((object) => object.Key),
      [SPECIAL_KEY],
    );
    const v1 = await client.send(new ListObjectsCommand({ Bucket: BUCKET, Prefix: "special/", EncodingType: "url" }));
    assert.equal(v1.EncodingType, "url");
    assert.equal(decodeURIComponent(v1.Contents?.[0]?.Key ?? ""), SPECIAL_KEY);
    const object = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: SPECIAL_KEY }));
    assert.equal(await object.Body!.transformToString(), "special");
  });

  it("answers NoSuchKey, NoSuchBucket and MethodNotAllowed like S3", async () => {
    await rejectsWithS3Error(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "missing" })), "NoSuchKey", 404);
    await rejectsWithS3Error(client.send(new GetObjectCommand({ Bucket: BUCKET, Key: "a/../b" })), "NoSuchKey", 404);
    await rejectsWithS3Error(client.send(new ListObjectsV2Command({ Bucket: "no-such-bucket" })), "NoSuchBucket", 404);
    await rejectsWithS3Error(
      client.send(new PutObjectCommand({ Bucket: BUCKET, Key: "new", Body: "x" })),
      "MethodNotAllowed",
      405,
    );
    await rejectsWithS3Error(
      client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: LOG_KEY })),
      "MethodNotAllowed",
      405,
    );
    assert.ok(await served.store.getObject(BUCKET, LOG_KEY), "the write attempts changed nothing");
  });
});

describe("S3 server with @aws-sdk/client-s3, across accounts", () => {
  let served: ServedStore;
  let owner: S3Client;
  let stranger: S3Client;
  before(async () => {
    served = await startServedStore();
    owner = clientFor(served, served.owner);
    stranger = clientFor(served, served.stranger);
  });
  after(async () => {
    owner?.destroy();
    stranger?.destroy();
    await served?.close();
  });

  it("lists each account only its own buckets", async () => {
    const mine = await owner.send(new ListBucketsCommand({}));
    assert.deepEqual(
      mine.Buckets?.map((bucket) => bucket.Name),
      ["empty-bucket", BUCKET],
    );
    const theirs = await stranger.send(new ListBucketsCommand({}));
    assert.deepEqual(
      theirs.Buckets?.map((bucket) => bucket.Name),
      [OTHER_BUCKET],
    );
  });

  it("refuses every read of another account's bucket with AccessDenied, and reveals nothing of it", async () => {
    const refusals = [
      () => stranger.send(new ListObjectsV2Command({ Bucket: BUCKET })),
      () => stranger.send(new ListObjectsCommand({ Bucket: BUCKET, Prefix: "AWSLogs/" })),
      () => stranger.send(new GetObjectCommand({ Bucket: BUCKET, Key: LOG_KEY })),
      () => stranger.send(new GetObjectCommand({ Bucket: BUCKET, Key: "no/such/key" })),
      () => stranger.send(new GetBucketLocationCommand({ Bucket: BUCKET })),
      () => owner.send(new GetObjectCommand({ Bucket: OTHER_BUCKET, Key: OTHER_KEY })),
      () => owner.send(new ListObjectsV2Command({ Bucket: OTHER_BUCKET })),
    ];
    for (const refusal of refusals) await rejectsWithS3Error(refusal(), "AccessDenied", 403);
    // HEAD answers carry no body, so the SDK knows only the status (it names HeadBucket's 403 "Unknown").
    for (const head of [
      () => stranger.send(new HeadBucketCommand({ Bucket: BUCKET })),
      () => stranger.send(new HeadObjectCommand({ Bucket: BUCKET, Key: LOG_KEY })),
    ])
      await assert.rejects(head(), (error: unknown) => {
        assert.ok(error instanceof S3ServiceException, String(error));
        assert.equal(error.$metadata.httpStatusCode, 403);
        return true;
      });
    // Its own bucket still works, and a bucket nobody has is still NoSuchBucket.
    const own = await stranger.send(new GetObjectCommand({ Bucket: OTHER_BUCKET, Key: OTHER_KEY }));
    assert.match(await own.Body!.transformToString(), /secret/);
    await rejectsWithS3Error(
      stranger.send(new ListObjectsV2Command({ Bucket: "no-such-bucket" })),
      "NoSuchBucket",
      404,
    );
  });

  it("refuses an unknown access key and a wrong secret", async () => {
    const unknown = clientFor(served, { accessKeyId: "AKIAUNKNOWNKEY000000", secretAccessKey: "x" });
    const forged = clientFor(served, { accessKeyId: served.owner.accessKeyId, secretAccessKey: "not-the-secret" });
    try {
      await rejectsWithS3Error(unknown.send(new ListBucketsCommand({})), "InvalidAccessKeyId", 403);
      await rejectsWithS3Error(
        forged.send(new GetObjectCommand({ Bucket: BUCKET, Key: LOG_KEY })),
        "SignatureDoesNotMatch",
        403,
      );
    } finally {
      unknown.destroy();
      forged.destroy();
    }
  });
});
