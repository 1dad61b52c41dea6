import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Authorizer } from "../../auth/authorizer.js";
import { systemClock, type Clock } from "../../lib/clock.js";
import type { BucketOwnerStore } from "../../stores/bucket-owners/index.js";
import type { ObjectStore } from "../../stores/objects/index.js";
import type { PrincipalStore } from "../../stores/principals/index.js";
import { handleRead, type S3Context, type S3Reply } from "./handle-request.js";
import { authenticateS3, authorizeS3 } from "./s3-access.js";
import { resolveTarget } from "./resolve-target.js";
import { S3_ERRORS, S3RequestError, errorDocument, hostId } from "./s3-errors.js";

const S3_SERVER_PORT_DEFAULT = 7681;

export interface S3ServerOptions {
  readonly store: ObjectStore;
  /** Bind address (plain HTTP: keep it loopback or on a trusted network). */
  readonly host: string;
  /** Default 7681; 0 picks a free port (see `url`). */
  readonly port?: number;
  /** Every bucket of the store; ListBuckets shows the caller's account's. */
  readonly listBuckets: () => Promise<string[]>;
  /** Whose access keys sign requests (SigV4, service `s3`). */
  readonly principals: PrincipalStore;
  /** Which account owns each bucket: a caller reads its own account's buckets only. */
  readonly owners: BucketOwnerStore;
  /** Decides each read's IAM action on its resource (`s3:GetObject` on `arn:aws:s3:::bucket/key`…). */
  readonly authorizer: Authorizer;
  /** Reported by GetBucketLocation and `x-amz-bucket-region`; default us-east-1. */
  readonly region?: string;
  readonly clock?: Clock;
}

export interface S3Server {
  /** e.g. `http://127.0.0.1:7681`: use as `--endpoint-url` or `AWS_ENDPOINT_URL_S3`. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A read-only S3-protocol endpoint over an ObjectStore, so the AWS CLI (`aws s3`, `aws cloudtrail
 * validate-logs`), SDKs, DuckDB and Athena-like tools can read the embedded trail buckets with a
 * principal's own keys. Supports ListBuckets, HeadBucket, GetBucketLocation, ListObjects v1/v2,
 * GetObject, HeadObject; path-style and `<bucket>.localhost` requests. Every read must be signed
 * (SigV4) by a principal, is authorised through the IAM seam, and reaches only buckets of the
 * principal's account (s3-access.ts); every write is refused with MethodNotAllowed (docs/reference/s3.md).
 *
 * @example
 * const s3 = await startS3Server({ store, host: "127.0.0.1", port: 0, listBuckets: () => store.listBuckets(), principals, owners, authorizer });
 * // AWS_ENDPOINT_URL_S3=${s3.url} aws s3 ls s3://trail-bucket --recursive
 */
export async function startS3Server(options: S3ServerOptions): Promise<S3Server> {
  const clock = options.clock ?? systemClock;
  const context: ServeContext = {
    store: options.store,
    listBuckets: options.listBuckets,
    owners: options.owners,
    region: options.region ?? "us-east-1",
    startedAtMs: clock.nowMs(),
    principals: options.principals,
    authorizer: options.authorizer,
    clock,
  };
  const server = createServer((request, response) => void serve(context, request, response));
  // Idle keep-alive sockets must not hold close() open.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? S3_SERVER_PORT_DEFAULT, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

interface ServeContext extends S3Context {
  readonly principals: PrincipalStore;
  readonly authorizer: Authorizer;
  readonly clock: Clock;
}

async function serve(context: ServeContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const requestId = randomBytes(8).toString("hex").toUpperCase();
  const method = request.method ?? "GET";
  response.setHeader("x-amz-request-id", requestId);
  response.setHeader("x-amz-id-2", hostId());
  response.setHeader("server", "Cairn");
  // Reads carry no body; a write's body is discarded so the connection stays usable.
  request.resume();
  try {
    const target = resolveTarget(request.headers.host, request.url ?? "/");
    if (method !== "GET" && method !== "HEAD") {
      throw new S3RequestError("MethodNotAllowed", {
        Method: method,
        ResourceType: target.key !== undefined ? "OBJECT" : target.bucket !== undefined ? "BUCKET" : "SERVICE",
      });
    }
    const nowMs = context.clock.nowMs();
    const principal = await authenticateS3(context.principals, request, nowMs);
    const sourceIp = request.socket.remoteAddress;
    await authorizeS3(
      context.authorizer,
      { principal, nowMs, ...(sourceIp !== undefined ? { sourceIp } : {}) },
      target,
    );
    const reply = await handleRead(context, {
      method,
      target,
      accountId: principal.accountId,
      ...(request.headers.range !== undefined ? { range: request.headers.range } : {}),
    });
    send(response, method, reply);
  } catch (error) {
    const failure = error instanceof S3RequestError ? error : internalError(error);
    const headers: Record<string, string> = { "content-type": "application/xml" };
    if (failure.code === "MethodNotAllowed") headers["allow"] = "GET, HEAD";
    const body = Buffer.from(errorDocument(failure, requestId), "utf8");
    send(response, method, { status: S3_ERRORS[failure.code].status, headers, body });
  }
}

/** A bug or a failing store: the whole error goes to the operator's log, S3's generic words to the caller. */
function internalError(error: unknown): S3RequestError {
  process.stderr.write(
    `Cairn S3 endpoint internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  return new S3RequestError("InternalError");
}

function send(response: ServerResponse, method: string, reply: S3Reply): void {
  if (response.headersSent) {
    response.destroy();
    return;
  }
  response.writeHead(reply.status, { "content-length": String(reply.body.length), ...reply.headers });
  // HEAD answers carry the headers of the GET, errors included, and never a body.
  response.end(method === "HEAD" ? undefined : reply.body);
}
