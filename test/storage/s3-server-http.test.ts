import assert from "node:assert/strict";
import { request } from "node:http";
import { after, before, describe, it } from "node:test";
import type { AuthorizationRequest } from "../../src/auth/authorizer.js";
import { OWNER_ACCOUNT, signS3, type Credentials } from "../helpers/s3-access.js";
import {
  BUCKET,
  DIGEST_KEY,
  OTHER_BUCKET,
  OTHER_KEY,
  SIGNATURE,
  SPECIAL_KEY,
  startServedStore,
  type ServedStore,
} from "./s3-server-fixture.js";

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A bare HTTP request, so the Host header and exact bytes are under the test's control, signed with
 * `signer`'s keys (SigV4 over exactly that path and Host) unless it is "unsigned".
 */
async function raw(
  url: string,
  path: string,
  options: {
    method?: string;
    host?: string;
    headers?: Record<string, string>;
    signer: Credentials | "unsigned";
  },
): Promise<RawResponse> {
  const target = new URL(url);
  const host = options.host ?? target.host;
  const method = options.method ?? "GET";
  const auth = options.signer === "unsigned" ? {} : await signS3(options.signer, { method, rawPath: path, host });
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: target.hostname,
        port: target.port,
        path,
        method,
        headers: { ...auth, host, ...options.headers },
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
    const response = await raw(served.server.url, `/${BUCKET}?list-type=2&prefix=special/`, {
      signer: served.owner,
    });
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
    const response = await raw(served.server.url, `/${BUCKET}?prefix=special%2F&encoding-type=url`, {
      signer: served.owner,
    });
    assert.ok(
      response.body.includes("<Key>special/a%20b%2Bc%26d%3Ce%3E&apos;%22%2541%20%C3%BC.json</Key>"),
      response.body,
    );
    assert.ok(response.body.includes("<EncodingType>url</EncodingType>"));
    assert.equal(decodeURIComponent("special/a%20b%2Bc%26d%3Ce%3E'%22%2541%20%C3%BC.json"), SPECIAL_KEY);
  });

  it("serves virtual-hosted requests for <bucket>.localhost", async () => {
    const listing = await raw(served.server.url, "/?list-type=2&prefix=AWSLogs/&max-keys=1", {
      signer: served.owner,
      host: `${BUCKET}.localhost:7681`,
    });
    assert.equal(listing.status, 200);
    assert.ok(listing.body.includes(`<Name>${BUCKET}</Name>`));
    assert.ok(listing.body.includes("<IsTruncated>true</IsTruncated><NextContinuationToken>"));
    const object = await raw(served.server.url, `/${DIGEST_KEY}`, {
      signer: served.owner,
      host: `${BUCKET}.localhost`,
    });
    assert.equal(object.status, 200);
    assert.equal(object.headers["x-amz-meta-signature"], SIGNATURE);
    assert.equal(object.headers["x-amz-meta-signature-algorithm"], "SHA256withRSA");
  });

  it("sends S3 error documents, and bare status codes for HEAD", async () => {
    const missing = await raw(served.server.url, `/${BUCKET}/no/such/key`, {
      signer: served.owner,
    });
    assert.equal(missing.status, 404);
    assert.match(
      missing.body,
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>NoSuchKey<\/Code><Message>The specified key does not exist.<\/Message><Key>no\/such\/key<\/Key><RequestId>[0-9A-F]{16}<\/RequestId><HostId>.+<\/HostId><\/Error>$/,
    );
    const head = await raw(served.server.url, `/${BUCKET}/no/such/key`, { signer: served.owner, method: "HEAD" });
    assert.equal(head.status, 404);
    assert.equal(head.body, "");
    const put = await raw(served.server.url, `/${BUCKET}/new`, {
      signer: served.owner,
      method: "PUT",
      headers: { "content-length": "0" },
    });
    assert.equal(put.status, 405);
    assert.equal(put.headers["allow"], "GET, HEAD");
    assert.ok(put.body.includes("<Code>MethodNotAllowed</Code>") && put.body.includes("<Method>PUT</Method>"));
    const bucket = await raw(served.server.url, "/no-such-bucket?list-type=2", {
      signer: served.owner,
    });
    assert.ok(
      bucket.status === 404 &&
        bucket.body.includes(
          "<Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message><BucketName>no-such-bucket</BucketName>",
        ),
    );
    const acl = await raw(served.server.url, `/${BUCKET}?acl`, { signer: served.owner });
    assert.equal(acl.status, 501);
    const badToken = await raw(served.server.url, `/${BUCKET}?list-type=2&continuation-token=bm9wZQ`, {
      signer: served.owner,
    });
    assert.equal(badToken.status, 400);
    const badUri = await raw(served.server.url, `/${BUCKET}/%E0%A4%A`, { signer: served.owner });
    assert.ok(badUri.status === 400 && badUri.body.includes("<Code>InvalidURI</Code>"));
  });

  it("refuses unsigned, presigned and forged reads with S3's AccessDenied document", async () => {
    const expectAccessDenied = (response: RawResponse, why: string): void => {
      assert.equal(response.status, 403, `${why}: ${response.body}`);
      assert.equal(response.headers["content-type"], "application/xml", why);
      assert.match(response.body, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Error><Code>AccessDenied<\/Code>/, why);
      assert.ok(!response.body.includes("Records"), why);
    };
    const url = served.server.url;
    expectAccessDenied(await raw(url, `/${BUCKET}/${DIGEST_KEY}`, { signer: "unsigned" }), "unsigned GetObject");
    expectAccessDenied(await raw(url, `/${BUCKET}?list-type=2`, { signer: "unsigned" }), "unsigned listing");
    expectAccessDenied(await raw(url, "/", { signer: "unsigned" }), "unsigned ListBuckets");
    expectAccessDenied(
      await raw(url, `/${BUCKET}/${DIGEST_KEY}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00`, {
        signer: "unsigned",
      }),
      "presigned",
    );
    const head = await raw(url, `/${BUCKET}/${DIGEST_KEY}`, { method: "HEAD", signer: "unsigned" });
    assert.equal(head.status, 403);
    assert.equal(head.headers["x-amz-meta-signature"], undefined);
    // A well-formed signature of the owner's key that matches no secret: S3's SignatureDoesNotMatch, as XML.
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, "")
      .replace(/\.\d{3}Z$/, "Z");
    const forged = await raw(url, `/${BUCKET}/${DIGEST_KEY}`, {
      signer: "unsigned",
      headers: {
        "x-amz-date": amzDate,
        authorization: `AWS4-HMAC-SHA256 Credential=${served.owner.accessKeyId}/${amzDate.slice(0, 8)}/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`,
      },
    });
    assert.equal(forged.status, 403);
    assert.match(forged.body, /<Error><Code>SignatureDoesNotMatch<\/Code>/);
    assert.ok(!forged.body.includes("Records"));
  });

  it("serves another account's keys only their own bucket, in either addressing style", async () => {
    const url = served.server.url;
    const stranger = served.stranger;
    const denied = [
      await raw(url, `/${BUCKET}/${DIGEST_KEY}`, { signer: stranger }),
      await raw(url, `/${BUCKET}?list-type=2&prefix=AWSLogs/`, { signer: stranger }),
      await raw(url, `/${DIGEST_KEY}`, { signer: stranger, host: `${BUCKET}.localhost` }),
      await raw(url, `/${OTHER_BUCKET}/${OTHER_KEY}`, { signer: served.owner }),
    ];
    for (const response of denied) {
      assert.equal(response.status, 403, response.body);
      assert.match(response.body, /<Code>AccessDenied<\/Code><Message>Access Denied<\/Message>/);
    }
    const buckets = await raw(url, "/", { signer: stranger });
    assert.equal(buckets.status, 200);
    assert.ok(buckets.body.includes(`<Name>${OTHER_BUCKET}</Name>`));
    assert.ok(!buckets.body.includes(`<Name>${BUCKET}</Name>`), buckets.body);
    const own = await raw(url, `/${OTHER_KEY}`, { signer: stranger, host: `${OTHER_BUCKET}.localhost` });
    assert.equal(own.status, 200);
  });
});

describe("S3 server and the IAM seam", () => {
  const asked: AuthorizationRequest[] = [];
  let served: ServedStore;
  before(async () => {
    // An authorizer that denies object reads explicitly and allows the rest, recording each question.
    served = await startServedStore({
      authorizer: {
        decide: async (request) => {
          asked.push(request);
          return request.action === "s3:GetObject" ? "ExplicitDeny" : "Allow";
        },
      },
    });
  });
  after(() => served?.close());

  it("asks it for each read's S3 action and resource, and answers its denial as S3 XML", async () => {
    const listing = await raw(served.server.url, `/${BUCKET}?list-type=2&prefix=AWSLogs/`, { signer: served.owner });
    assert.equal(listing.status, 200);
    const denied = await raw(served.server.url, `/${BUCKET}/${DIGEST_KEY}`, { signer: served.owner });
    assert.equal(denied.status, 403);
    assert.equal(denied.headers["content-type"], "application/xml");
    assert.match(
      denied.body,
      new RegExp(
        `<Error><Code>AccessDenied</Code><Message>User: arn:aws:iam::${OWNER_ACCOUNT}:root is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::${BUCKET}/${DIGEST_KEY} with an explicit deny in an identity-based policy</Message>`,
      ),
    );
    await raw(served.server.url, "/", { signer: served.owner });
    await raw(served.server.url, `/${BUCKET}?location`, { signer: served.owner });
    assert.deepEqual(
      asked.map((r) => [r.principal.accountId, r.action, r.resource, r.context ?? {}]),
      [
        [OWNER_ACCOUNT, "s3:ListBucket", `arn:aws:s3:::${BUCKET}`, { "s3:prefix": "AWSLogs/" }],
        [OWNER_ACCOUNT, "s3:GetObject", `arn:aws:s3:::${BUCKET}/${DIGEST_KEY}`, {}],
        [OWNER_ACCOUNT, "s3:ListAllMyBuckets", "*", {}],
        [OWNER_ACCOUNT, "s3:GetBucketLocation", `arn:aws:s3:::${BUCKET}`, {}],
      ],
    );
    assert.ok(asked.every((r) => r.sourceIp === "127.0.0.1" && r.secureTransport === false));
  });
});
