/**
 * The capture proxy: a streaming reverse proxy (node:http) in front of an AWS-protocol endpoint.
 * Request and response bodies stream through untouched (the client gets the upstream's status,
 * headers and bytes as sent); a copy of each body up to the capture cap is kept for decoding, so a
 * large S3 object is never held whole. When the response has been sent, the call becomes a record.
 */
import { readFileSync } from "node:fs";
import { pipeline } from "node:stream";
import { createServer, request as httpRequest, Agent, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, request as httpsRequest, Agent as HttpsAgent } from "node:https";
import { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { CappedCopy } from "./capped-copy.js";
import type { ObservedCall, RecordContext } from "./record-of-call.js";
import { Recorder } from "./recorder.js";
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
  /** Listen with HTTPS (PEM files); default: `CAIRN_PROXY_TLS_CERT` / `CAIRN_PROXY_TLS_KEY`, else HTTP. */
  readonly tls?: { readonly certPath: string; readonly keyPath: string };
  /** Build records on a worker thread (default), off the proxy's event loop. */
  readonly recordOnWorker?: boolean;
}

export interface RunningProxy {
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Connection-level headers are the proxy's own business on each hop (RFC 9110 §7.6.1), both ways: an
 * upstream that closes every connection (moto's `Connection: close`) does not make the client
 * reconnect to the proxy for every call.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "upgrade",
  "te",
  "expect",
  "trailer",
  "proxy-authenticate",
  "proxy-authorization",
]);

function forwardedHeaders(raw: readonly string[]): string[] {
  const out: string[] = [];
  for (let index = 0; index + 1 < raw.length; index += 2) {
    if (!HOP_BY_HOP.has(raw[index]!.toLowerCase())) out.push(raw[index]!, raw[index + 1]!);
  }
  return out;
}

/** What is known of the client while its socket is open (Node forgets the address once it closes). */
interface ClientFacts {
  readonly sourceIPAddress: string;
  readonly tlsDetails?: ObservedCall["tlsDetails"];
}

type RecordArgs = [
  incoming: IncomingMessage,
  client: ClientFacts,
  body: Buffer | undefined,
  response: CapturedResponse,
  bodyBytes?: number,
];

function clientFactsOf(incoming: IncomingMessage): ClientFacts {
  const sourceIPAddress = (incoming.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
  if (!(incoming.socket instanceof TLSSocket)) return { sourceIPAddress };
  const host = incoming.headers.host;
  return {
    sourceIPAddress,
    tlsDetails: {
      tlsVersion: incoming.socket.getProtocol() ?? "",
      // OpenSSL's name, as CloudTrail logs it (`ECDHE-RSA-AES128-GCM-SHA256`, `TLS_AES_128_GCM_SHA256`).
      cipherSuite: incoming.socket.getCipher().name,
      ...(host === undefined ? {} : { clientProvidedHostHeader: host }),
    },
  };
}

/** The call as the recorder needs it; undefined for an unsigned request (not recorded). */
function observedCall(
  nowMs: () => number,
  ...[incoming, client, body, response, bodyBytes]: RecordArgs
): ObservedCall | undefined {
  const rawUrl = incoming.url ?? "/";
  const signed = signedRequestOf(incoming.method ?? "GET", rawUrl, incoming.headers, body ?? new Uint8Array());
  const scope = scopeOf(signed);
  if (scope === undefined) return undefined;
  const question = rawUrl.indexOf("?");
  const request: CapturedRequest = {
    method: incoming.method ?? "GET",
    path: question === -1 ? rawUrl : rawUrl.slice(0, question),
    rawQuery: question === -1 ? "" : rawUrl.slice(question + 1),
    headers: incoming.headers,
    body,
    bodyBytes: bodyBytes ?? body?.length ?? 0,
  };
  return {
    scope,
    request,
    response,
    sourceIPAddress: client.sourceIPAddress,
    completedAtMs: nowMs(),
    ...(client.tlsDetails === undefined ? {} : { tlsDetails: client.tlsDetails }),
  };
}

/** The HTTPS identity from the options or `CAIRN_PROXY_TLS_CERT` / `CAIRN_PROXY_TLS_KEY` (PEM files). */
function tlsIdentityOf(options: ProxyOptions): { cert: Buffer; key: Buffer } | undefined {
  const certPath = options.tls?.certPath ?? process.env["CAIRN_PROXY_TLS_CERT"];
  const keyPath = options.tls?.keyPath ?? process.env["CAIRN_PROXY_TLS_KEY"];
  if (certPath === undefined && keyPath === undefined) return undefined;
  if (certPath === undefined || keyPath === undefined) {
    throw new Error("HTTPS needs both a certificate and a key (CAIRN_PROXY_TLS_CERT and CAIRN_PROXY_TLS_KEY)");
  }
  return { cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const tls = tlsIdentityOf(options);
  const secure = options.upstream.protocol === "https:";
  // Upstream connections are reused (when the upstream allows it) and sent without Nagle delays.
  const agentOptions = { keepAlive: true, noDelay: true, scheduling: "lifo" as const };
  const agent = secure ? new HttpsAgent(agentOptions) : new Agent(agentOptions);
  const nowMs = options.nowMs ?? Date.now;
  const upstreamBase = options.upstream.pathname.replace(/\/+$/, "");

  const forward = (incoming: IncomingMessage, response: ServerResponse, bufferedBody: Buffer | undefined): void => {
    const client = clientFactsOf(incoming);
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
      response.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, forwardedHeaders(upstream.rawHeaders));
      upstream.on("data", (chunk: Buffer) => responseCopy.push(chunk));
      // Backpressure; on an error on either side pipeline destroys both (a client that goes away
      // tears the upstream answer down, a broken upstream answer resets the client).
      pipeline(upstream, response, () => undefined);
      response.once("finish", () => {
        const captured: CapturedResponse = {
          status: upstream.statusCode ?? 502,
          headers: upstream.headers,
          body: responseCopy.result(),
          bodyBytes: responseCopy.totalBytes,
        };
        const requestBytes = bufferedBody?.length ?? requestCopy.totalBytes;
        // After the client has its answer: recording never delays it.
        setImmediate(() => record(incoming, client, bufferedBody ?? requestCopy.result(), captured, requestBytes));
      });
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
    // pipe (backpressure) rather than pipeline: an upstream failure must not destroy the client's
    // socket before its 502 is written. A client that goes away aborts the upstream request.
    incoming.pipe(outgoing);
    response.once("close", () => {
      if (!response.writableFinished) outgoing.destroy();
    });
  };

  const recorder = new Recorder(options, options.onRecord, options.log, options.recordOnWorker ?? true);
  const record = (...args: RecordArgs): void => {
    try {
      const call = observedCall(nowMs, ...args);
      if (call !== undefined) recorder.record(call);
    } catch (error) {
      options.log(`could not record ${args[0].method} ${args[0].url}: ${String(error)}`);
    }
  };

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
      record(incoming, clientFactsOf(incoming), body, {
        status: refusal.status,
        headers: { ...refusal.headers, "x-amzn-errortype": refusal.code },
        body: refusal.body,
      });
      return;
    }
    forward(incoming, response, body);
  };

  const handle = (incoming: IncomingMessage, response: ServerResponse): void => {
    if (options.verifySignatures) {
      verifyThenForward(incoming, response).catch((error: unknown) => {
        options.log(`verification failed: ${String(error)}`);
        response.destroy();
      });
    } else forward(incoming, response, undefined);
  };
  const server = tls === undefined ? createServer(handle) : createHttpsServer(tls, handle);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => resolve());
    });
  } catch (error) {
    agent.destroy();
    await recorder.close(0);
    throw error;
  }
  const address = server.address() as AddressInfo;
  return {
    url: `${tls === undefined ? "http" : "https"}://${address.address.includes(":") ? `[${address.address}]` : address.address}:${address.port}`,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      agent.destroy();
      await recorder.close();
    },
  };
}
