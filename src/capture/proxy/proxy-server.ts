/**
 * The capture proxy: a streaming reverse proxy (node:http) in front of an AWS-protocol endpoint.
 * Request and response bodies stream through untouched (the client gets the upstream's status,
 * headers and bytes as sent); a copy of each body up to the capture cap is kept for decoding, so a
 * large S3 object is never held whole. When the response has been sent, the call becomes a record.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import type { AddressInfo } from "node:net";
import { CappedCopy } from "./capped-copy.js";
import { recordOfCall, type RecordContext } from "./record-of-call.js";
import { scopeOf, signedRequestOf } from "./scope.js";
import { checkSignature, refusalOf, sendRefusal } from "./verify.js";
import type { CapturedRequest } from "../protocols/identify.js";
import type { CapturedResponse } from "../protocols/decode-call.js";

export interface ProxyOptions extends RecordContext {
  readonly upstream: URL;
  readonly host: string;
  readonly port: number;
  readonly verifySignatures: boolean;
  readonly captureBytesMax?: number;
  readonly onRecord: (json: string) => void;
  readonly log: (line: string) => void;
  readonly nowMs?: () => number;
}

export interface RunningProxy {
  readonly url: string;
  close(): Promise<void>;
}

/** Connection-level headers are the proxy's own business on each hop (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "upgrade", "te", "expect"]);

function forwardedHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let index = 0; index + 1 < raw.length; index += 2) {
    if (!HOP_BY_HOP.has(raw[index]!.toLowerCase())) out.push(raw[index]!, raw[index + 1]!);
  }
  return out;
}

type RecordArgs = [
  incoming: IncomingMessage,
  sourceIPAddress: string,
  body: Buffer | undefined,
  response: CapturedResponse,
];

/** Turns a finished exchange into a record; a call that cannot be recorded is logged, never thrown. */
function recordCall(
  options: ProxyOptions,
  nowMs: () => number,
  ...[incoming, sourceIPAddress, body, response]: RecordArgs
): void {
  try {
    const rawUrl = incoming.url ?? "/";
    const signed = signedRequestOf(incoming.method ?? "GET", rawUrl, incoming.headers, body ?? new Uint8Array());
    const scope = scopeOf(signed);
    if (scope === undefined) return;
    const question = rawUrl.indexOf("?");
    const captured: CapturedRequest = {
      method: incoming.method ?? "GET",
      path: question === -1 ? rawUrl : rawUrl.slice(0, question),
      rawQuery: question === -1 ? "" : rawUrl.slice(question + 1),
      headers: incoming.headers,
      body,
    };
    const json = recordOfCall(options, {
      scope,
      request: captured,
      response,
      sourceIPAddress,
      completedAtMs: nowMs(),
    });
    if (json !== undefined) options.onRecord(json);
  } catch (error) {
    options.log(`could not record ${incoming.method} ${incoming.url}: ${String(error)}`);
  }
}

/** Read while the socket is open: Node forgets the address once it closes. */
function sourceAddressOf(incoming: IncomingMessage): string {
  return (incoming.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
}

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const secure = options.upstream.protocol === "https:";
  const agent = secure ? new HttpsAgent({ keepAlive: true }) : new Agent({ keepAlive: true });
  const nowMs = options.nowMs ?? Date.now;
  const upstreamBase = options.upstream.pathname.replace(/\/+$/, "");

  const forward = (incoming: IncomingMessage, response: ServerResponse, bufferedBody: Buffer | undefined): void => {
    const sourceIPAddress = sourceAddressOf(incoming);
    const requestCopy = new CappedCopy(options.captureBytesMax);
    const responseCopy = new CappedCopy(options.captureBytesMax);
    const outgoing = (secure ? httpsRequest : httpRequest)({
      protocol: options.upstream.protocol,
      hostname: options.upstream.hostname,
      port: options.upstream.port,
      method: incoming.method,
      path: upstreamBase + (incoming.url ?? "/"),
      // The client's Host header is kept: its signature covers it.
      headers: forwardedHeaders(incoming.rawHeaders),
      agent,
    });
    outgoing.on("response", (upstream) => {
      response.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, upstream.rawHeaders);
      upstream.on("data", (chunk: Buffer) => responseCopy.push(chunk));
      upstream.pipe(response);
      response.once("finish", () => {
        const captured: CapturedResponse = {
          status: upstream.statusCode ?? 502,
          headers: upstream.headers,
          body: responseCopy.result(),
        };
        // After the client has its answer: recording never delays it.
        setImmediate(() => record(incoming, sourceIPAddress, bufferedBody ?? requestCopy.result(), captured));
      });
      upstream.once("error", () => response.destroy());
    });
    outgoing.once("error", (error) => {
      options.log(`upstream error for ${incoming.method} ${incoming.url}: ${error.message}`);
      if (!response.headersSent) {
        response.writeHead(502, { "content-type": "text/plain" });
        response.end(`Bad Gateway: ${error.message}\n`);
      } else response.destroy();
    });
    if (bufferedBody !== undefined) {
      outgoing.end(bufferedBody);
      return;
    }
    incoming.on("data", (chunk: Buffer) => requestCopy.push(chunk));
    incoming.pipe(outgoing);
  };

  const record = (...args: RecordArgs): void => recordCall(options, nowMs, ...args);

  /** --verify-signatures: the body must be read whole before anything reaches the upstream. */
  const verifyThenForward = async (incoming: IncomingMessage, response: ServerResponse): Promise<void> => {
    const copy = new CappedCopy(options.captureBytesMax);
    for await (const chunk of incoming) copy.push(chunk as Buffer);
    const body = copy.result();
    if (body === undefined) {
      response.writeHead(413, { "content-type": "text/plain" });
      response.end("With --verify-signatures, request bodies are limited to the capture cap.\n");
      return;
    }
    const signed = signedRequestOf(incoming.method ?? "GET", incoming.url ?? "/", incoming.headers, body);
    try {
      await checkSignature(signed, options.principals, nowMs());
    } catch (error) {
      const refusal = refusalOf(error, incoming.headers);
      sendRefusal(response, refusal);
      record(incoming, sourceAddressOf(incoming), body, {
        status: refusal.status,
        headers: { ...refusal.headers, "x-amzn-errortype": refusal.code },
        body: refusal.body,
      });
      return;
    }
    forward(incoming, response, body);
  };

  const server = createServer((incoming, response) => {
    if (options.verifySignatures) {
      verifyThenForward(incoming, response).catch((error: unknown) => {
        options.log(`verification failed: ${String(error)}`);
        response.destroy();
      });
    } else forward(incoming, response, undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address.includes(":") ? `[${address.address}]` : address.address}:${address.port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      agent.destroy();
    },
  };
}
