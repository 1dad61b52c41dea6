import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, request, Agent, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { ServiceModels } from "../../src/capture/protocols/service-models.js";
import { startProxy } from "../../src/capture/proxy/proxy-server.js";

/**
 * The proxy's upstream connections: reused when the upstream keeps them alive; opened ahead of need
 * when it closes every one (moto's `Connection: close`), with a call that meets a spare connection
 * the upstream has just closed sent again on a fresh one. Answers stay byte-identical throughout.
 */
const models = new ServiceModels();
const AUTHORIZATION = `AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`;
const BODY = '<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>';

interface Upstream {
  readonly url: string;
  readonly connections: Socket[];
  close(): Promise<void>;
}

/** An S3-ish upstream; `closeEach`: answers `Connection: close`; `resetConnection`: drops that connection (1-based) on its first bytes. */
async function startUpstream(options: { closeEach: boolean; resetConnection?: number }): Promise<Upstream> {
  const connections: Socket[] = [];
  const server = createServer((incoming, response) => {
    incoming.resume();
    incoming.once("end", () => {
      response.writeHead(200, "OK", [
        "x-amz-request-id",
        "REQ1",
        "Content-Type",
        "application/xml",
        "Content-Length",
        String(Buffer.byteLength(BODY)),
        ...(options.closeEach ? ["Connection", "close"] : []),
      ]);
      response.end(BODY);
    });
  });
  server.on("connection", (socket: Socket) => {
    connections.push(socket);
    if (connections.length === options.resetConnection) socket.once("data", () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function get(
  url: string,
  agent: Agent,
): Promise<{ status: number; headers: IncomingHttpHeaders; rawHeaders: string[]; body: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${url}/`,
      { agent, headers: { authorization: AUTHORIZATION, "x-amz-date": "20260101T000000Z" } },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on("data", (chunk: Buffer) => chunks.push(chunk));
        answer.once("end", () =>
          resolve({
            status: answer.statusCode ?? 0,
            headers: answer.headers,
            rawHeaders: answer.rawHeaders,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    outgoing.once("error", reject);
    outgoing.end();
  });
}

async function throughProxy(upstream: Upstream, calls: number): Promise<{ records: string[]; statuses: number[] }> {
  const records: string[] = [];
  const logged: string[] = [];
  const proxy = await startProxy({
    upstream: new URL(upstream.url),
    host: "127.0.0.1",
    port: 0,
    verifySignatures: false,
    models,
    principals: undefined,
    defaultAccountId: "123456789012",
    onRecord: (json) => records.push(json),
    log: (line) => logged.push(line),
  });
  const agent = new Agent({ keepAlive: true });
  const statuses: number[] = [];
  try {
    for (let call = 0; call < calls; call++) {
      const answer = await get(proxy.url, agent);
      statuses.push(answer.status);
      assert.equal(answer.body, BODY, `call ${call}: the body changed. Proxy log:\n${logged.join("\n")}`);
      assert.equal(answer.headers["x-amz-request-id"], "REQ1");
      // The upstream's headers, in its order and case; connection headers are the proxy's own.
      assert.deepEqual(answer.rawHeaders.slice(0, 6), [
        "x-amz-request-id",
        "REQ1",
        "Content-Type",
        "application/xml",
        "Content-Length",
        String(Buffer.byteLength(BODY)),
      ]);
    }
  } finally {
    agent.destroy();
    await proxy.close();
  }
  return { records, statuses };
}

describe("the proxy's upstream connections", () => {
  it("reuses one connection to an upstream that keeps it alive (no connection opened ahead)", async () => {
    const upstream = await startUpstream({ closeEach: false });
    try {
      const { records, statuses } = await throughProxy(upstream, 6);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
      assert.equal(upstream.connections.length, 1);
      assert.equal(records.length, 6);
    } finally {
      await upstream.close();
    }
  });

  it("opens connections ahead of need to an upstream that closes each one; answers and records unchanged", async () => {
    const upstream = await startUpstream({ closeEach: true });
    try {
      const { records, statuses } = await throughProxy(upstream, 6);
      assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
      // One per call, plus the spare left open when the proxy stopped (closed with it).
      assert.ok(upstream.connections.length >= 6, `${upstream.connections.length} connections`);
      assert.equal(records.length, 6);
      const event = JSON.parse(records[5]!) as Record<string, unknown>;
      assert.equal(event["eventName"], "ListBuckets");
      assert.equal(event["requestID"], "REQ1");
    } finally {
      await upstream.close();
    }
  });

  it("sends a call again on a fresh connection when the upstream closed the spare it went out on", async () => {
    // Call 1 opens connection 1; call 2 opens connection 2 and, calls now coming in a row, a spare
    // (connection 3); call 3 goes out on that spare, which the upstream drops as the request arrives.
    const upstream = await startUpstream({ closeEach: true, resetConnection: 3 });
    try {
      const { records, statuses } = await throughProxy(upstream, 4);
      assert.deepEqual(statuses, [200, 200, 200, 200]);
      assert.ok(upstream.connections.length >= 5, `${upstream.connections.length} connections`);
      // The call sent twice is recorded once.
      assert.equal(records.length, 4);
    } finally {
      await upstream.close();
    }
  });
});
