import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import { BUCKET, DIGEST_KEY, SIGNATURE, SPECIAL_KEY, startServedStore, type ServedStore } from "./s3-server-fixture.js";

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A bare HTTP request, so the Host header and exact bytes are under the test's control. */
function raw(
  url: string,
  path: string,
  options: { method?: string; host?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: target.hostname,
        port: target.port,
        path,
        method: options.method ?? "GET",
        headers: { ...(options.host ? { host: options.host } : {}), ...options.headers },
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
      },
    );
    outgoing.on("error", reject);
    outgoing.end();
  });
}

describe("S3 server wire format", () => {
  let served: ServedStore;
  before(async () => {
    served = await startServedStore();
  });
  after(() => served?.close());

  it("writes listings with S3's namespace, millisecond timestamps and quoted, escaped ETags", async () => {
    const response = await raw(served.server.url, `/${BUCKET}?list-type=2&prefix=special/`);
    assert.equal(response.status, 200);
    assert.equal(response.headers["content-type"], "application/xml");
    assert.match(response.headers["x-amz-request-id"] as string, /^[0-9A-F]{16}$/);
    assert.ok(
      response.body.startsWith(
        '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
      ),
    );
    assert.match(response.body, /<LastModified>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z<\/LastModified>/);
    assert.match(response.body, /<ETag>&quot;[0-9a-f]{32}&quot;<\/ETag>/);
    assert.ok(response.body.includes("<Key>special/a b+c&amp;d&lt;e&gt;&apos;&quot;%41 ü.json</Key>"), response.body);
    assert.ok(response.body.includes("<KeyCount>1</KeyCount>"));
  });

  it("url-encodes keys and prefixes on request, decodable with unquote_plus", async () => {
    const response = await raw(served.server.url, `/${BUCKET}?prefix=special%2F&encoding-type=url`);
    assert.ok(
      response.body.includes("<Key>special/a%20b%2Bc%26d%3Ce%3E&apos;%22%2541%20%C3%BC.json</Key>"),
      response.body,
    );
    assert.ok(response.body.includes("<EncodingType>url</EncodingType>"));
    assert.equal(decodeURIComponent("special/a%20b%2Bc%26d%3Ce%3E'%22%2541%20%C3%BC.json"), SPECIAL_KEY);
  });

  it("serves virtual-hosted requests for <bucket>.localhost", async () => {
    const listing = await raw(served.server.url, "/?list-type=2&prefix=AWSLogs/&max-keys=1", {
      host: `${BUCKET}.localhost:7681`,
    });
    assert.equal(listing.status, 200);
    assert.ok(listing.body.includes(`<Name>${BUCKET}</Name>`));
    assert.ok(listing.body.includes("<IsTruncated>true</IsTruncated><NextContinuationToken>"));
    const object = await raw(served.server.url, `/${DIGEST_KEY}`, { host: `${BUCKET}.localhost` });
    assert.equal(object.status, 200);
    assert.equal(object.headers["x-amz-meta-signature"], SIGNATURE);
    assert.equal(object.headers["x-amz-meta-signature-algorithm"], "SHA256withRSA");
  });

  it("sends S3 error documents, and bare status codes for HEAD", async () => {
    const missing = await raw(served.server.url, `/${BUCKET}/no/such/key`);
    assert.equal(missing.status, 404);
    assert.match(
      missing.body,
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>NoSuchKey<\/Code><Message>The specified key does not exist.<\/Message><Key>no\/such\/key<\/Key><RequestId>[0-9A-F]{16}<\/RequestId><HostId>.+<\/HostId><\/Error>$/,
    );
    const head = await raw(served.server.url, `/${BUCKET}/no/such/key`, { method: "HEAD" });
    assert.equal(head.status, 404);
    assert.equal(head.body, "");
    const put = await raw(served.server.url, `/${BUCKET}/new`, { method: "PUT", headers: { "content-length": "0" } });
    assert.equal(put.status, 405);
    assert.equal(put.headers["allow"], "GET, HEAD");
    assert.ok(put.body.includes("<Code>MethodNotAllowed</Code>") && put.body.includes("<Method>PUT</Method>"));
    const bucket = await raw(served.server.url, "/no-such-bucket?list-type=2");
    assert.ok(
      bucket.status === 404 &&
        bucket.body.includes(
          "<Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>no-such-bucket</BucketName>",
        ),
    );
    const acl = await raw(served.server.url, `/${BUCKET}?acl`);
    assert.equal(acl.status, 501);
    const badToken = await raw(served.server.url, `/${BUCKET}?list-type=2&continuation-token=bm9wZQ`);
    assert.equal(badToken.status, 400);
    const badUri = await raw(served.server.url, `/${BUCKET}/%E0%A4%A`);
    assert.ok(badUri.status === 400 && badUri.body.includes("<Code>InvalidURI</Code>"));
  });

  it("accepts SigV4-signed, presigned and unsigned reads alike", async () => {
    const signed = await raw(served.server.url, `/${BUCKET}/${DIGEST_KEY}`, {
      headers: {
        authorization:
          "AWS4-HMAC-SHA256 Credential=x/20261120/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00",
      },
    });
    assert.equal(signed.status, 200);
    const presigned = await raw(
      served.server.url,
      `/${BUCKET}/${DIGEST_KEY}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00`,
    );
    assert.equal(presigned.status, 200);
  });
});
