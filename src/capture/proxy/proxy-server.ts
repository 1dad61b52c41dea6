/**
 * The capture proxy: a streaming reverse proxy (node:http) in front of an AWS-protocol endpoint.
 * Request and response bodies stream through untouched (the client gets the upstream's status,
 * headers and bytes as sent); a copy of each body up to the capture cap is kept for decoding, so a
 * large S3 object is never held whole. When the response has been sent, the call becomes a record.
 */
import { readFileSync } from "node:fs";
import {
  createServer,
  request as httpRequest,
  type ClientRequest,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer, request as httpsRequest } from "node:https";
import { TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { systemClock } from "../../lib/clock.js";
import { CappedCopy } from "./capped-copy.js";
import { rawHeadersOf, type CapturedCall } from "./captured-call.js";
import type { ObservedCall } from "./record-of-call.js";
import { Recorder, type RecorderContext } from "./recorder.js";
import { signedRequestOf } from "./scope.js";
import { upstreamAgent, type UpstreamAgent } from "./upstream-agent.js";
import { checkSignature, refusalOf, sendRefusal } from "./verify.js";

export interface ProxyOptions extends RecorderContext {
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
  /** The SQLite file behind `principals`: the recording worker then looks callers up itself. */
  readonly principalsPath?: string;
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

/** Methods a call may be sent again with (RFC 9110 §9.2.2) when its connection failed before any answer. */
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);

/** A request without a body (no Transfer-Encoding, no or zero Content-Length): nothing to stream. */
function isBodiless(raw: readonly string[]): boolean {
  for (let index = 0; index + 1 < raw.length; index += 2) {
    const name = raw[index]!.toLowerCase();
    if (name === "transfer-encoding") return false;
    if (name === "content-length" && raw[index + 1]!.trim() !== "0") return false;
  }
  return true;
}

/** What is known of the client while its socket is open (Node forgets the address once it closes). */
interface ClientFacts {
  readonly sourceIPAddress: string;
  readonly tlsDetails?: ObservedCall["tlsDetails"];
}

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

interface ForwardContext {
  readonly options: ProxyOptions;
  readonly upstreamConnections: UpstreamAgent;
  readonly recorder: Recorder;
  readonly nowMs: () => number;
}

type Forward = (incoming: IncomingMessage, response: ServerResponse, bufferedBody: Buffer | undefined) => void;

/** One call in flight: the client's side, and the copies of both bodies kept for the record. */
interface Exchange {
  readonly incoming: IncomingMessage;
  readonly response: ServerResponse;
  /** The whole request body when it was read before forwarding (--verify-signatures). */
  readonly bufferedBody: Buffer | undefined;
  readonly client: ClientFacts;
  readonly requestCopy: CappedCopy;
  readonly responseCopy: CappedCopy;
}

/** Hands the finished call to the recorder, after the client has its answer: recording never delays it. */
function recordExchange(exchange: Exchange, upstream: IncomingMessage, { recorder, nowMs }: ForwardContext): void {
  const { incoming, bufferedBody, client, requestCopy, responseCopy } = exchange;
  const requestBody = bufferedBody ?? requestCopy.result();
  const responseBody = responseCopy.result();
  const call: CapturedCall = {
    method: incoming.method ?? "GET",
    url: incoming.url ?? "/",
    rawHeaders: incoming.rawHeaders,
    body: requestBody,
    bodyBytes: bufferedBody?.length ?? requestCopy.totalBytes,
    status: upstream.statusCode ?? 502,
    responseRawHeaders: upstream.rawHeaders,
    responseBody,
    responseBodyBytes: responseCopy.totalBytes,
    sourceIPAddress: client.sourceIPAddress,
    completedAtMs: nowMs(),
    ...(client.tlsDetails === undefined ? {} : { tlsDetails: client.tlsDetails }),
  };
  // The copies are the proxy's own: moved to the recording worker, not copied. (A buffered body
  // was also written upstream, so it is copied.)
  const transfer: ArrayBuffer[] = [];
  if (bufferedBody === undefined && requestBody !== undefined) transfer.push(requestBody.buffer as ArrayBuffer);
  if (responseBody !== undefined) transfer.push(responseBody.buffer as ArrayBuffer);
  setImmediate(() => recorder.record(call, transfer));
}

/** Streams the upstream's answer to the client, keeping a copy; records the call once it is sent. */
function relayAnswer(exchange: Exchange, upstream: IncomingMessage, context: ForwardContext): void {
  const { response, responseCopy } = exchange;
  response.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, forwardedHeaders(upstream.rawHeaders));
  upstream.on("data", (chunk: Buffer) => responseCopy.push(chunk));
  // A broken upstream answer resets the client (a client that goes away tears the upstream
  // exchange down, in forwarder).
  upstream.on("error", () => response.destroy());
  upstream.once("close", () => {
    if (!upstream.complete) response.destroy();
  });
  // Backpressure.
  upstream.pipe(response);
  response.once("finish", () => recordExchange(exchange, upstream, context));
}

/** Answers 502 for an upstream that could not be reached, or resets a client whose answer had begun. */
function failUpstream(exchange: Exchange, error: Error, log: (line: string) => void): void {
  const { incoming, response } = exchange;
  log(`upstream error for ${incoming.method} ${incoming.url}: ${error.message}`);
  if (!response.headersSent) {
    response.writeHead(502, { "content-type": "text/plain" });
    response.end(`Bad Gateway: ${error.message}\n`);
  } else response.destroy();
}

/**
 * Streams one call to the upstream and its answer back. Between the request's arrival and the
 * upstream request going out, and between the answer's end and the next request, the proxy's thread
 * only moves bytes: the record is built from raw facts on the recording worker.
 */
function forwarder(context: ForwardContext): Forward {
  const { options, upstreamConnections } = context;
  const secure = options.upstream.protocol === "https:";
  const agent = upstreamConnections.agent;
  const upstreamBase = options.upstream.pathname.replace(/\/+$/, "");
  return (incoming: IncomingMessage, response: ServerResponse, bufferedBody: Buffer | undefined): void => {
    const exchange: Exchange = {
      incoming,
      response,
      bufferedBody,
      client: clientFactsOf(incoming),
      requestCopy: new CappedCopy(options.captureBytesMax),
      responseCopy: new CappedCopy(options.captureBytesMax),
    };
    const headers = forwardedHeaders(incoming.rawHeaders);
    const bodiless = bufferedBody === undefined && isBodiless(incoming.rawHeaders);
    let outgoing: ClientRequest | undefined;
    let retried = false;

    const send = (): void => {
      const sent = (secure ? httpsRequest : httpRequest)({
        protocol: options.upstream.protocol,
        hostname: options.upstream.hostname,
        port: options.upstream.port,
        method: incoming.method,
        path: upstreamBase + (incoming.url ?? "/"),
        // The client's Host header is kept: its signature covers it.
        headers,
        agent,
      });
      outgoing = sent;
      sent.on("response", (upstream: IncomingMessage) => relayAnswer(exchange, upstream, context));
      sent.once("error", (error) => {
        // A connection opened ahead of need that the upstream closed just as the call went out, before
        // any answer: an idempotent call whose body is at hand goes again, once, on a fresh connection.
        const replayable = (bufferedBody !== undefined || bodiless) && IDEMPOTENT.has(incoming.method ?? "");
        if (!retried && replayable && !response.headersSent && upstreamConnections.wasSpare(sent.socket)) {
          retried = true;
          send();
          return;
        }
        failUpstream(exchange, error, options.log);
      });
      if (bufferedBody !== undefined) sent.end(bufferedBody);
      else if (bodiless) {
        sent.end();
        incoming.resume();
      } else {
        incoming.on("data", (chunk: Buffer) => exchange.requestCopy.push(chunk));
        // pipe (backpressure) rather than pipeline: an upstream failure must not destroy the client's
        // socket before its 502 is written.
        incoming.pipe(sent);
      }
    };

    // A client that goes away aborts the upstream exchange.
    response.on("error", () => undefined);
    response.once("close", () => {
      if (!response.writableFinished) outgoing?.destroy();
    });
    send();
  };
}

export async function startProxy(options: ProxyOptions): Promise<RunningProxy> {
  const tls = tlsIdentityOf(options);
  const secure = options.upstream.protocol === "https:";
  // Upstream connections are reused when the upstream allows it, and opened ahead of need when it does not.
  const upstreamConnections = upstreamAgent(secure);
  const nowMs = options.nowMs ?? systemClock.nowMs;
  const recorder = new Recorder(options, options.onRecord, options.log, {
    onWorker: options.recordOnWorker ?? true,
    ...(options.principalsPath === undefined ? {} : { principalsPath: options.principalsPath }),
  });

  const forward = forwarder({ options, upstreamConnections, recorder, nowMs });
  const record = (call: CapturedCall): void => recorder.record(call);

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
      const client = clientFactsOf(incoming);
      record({
        method: incoming.method ?? "GET",
        url: incoming.url ?? "/",
        rawHeaders: incoming.rawHeaders,
        body,
        bodyBytes: body.length,
        status: refusal.status,
        responseRawHeaders: rawHeadersOf({ ...refusal.headers, "x-amzn-errortype": refusal.code }),
        responseBody: refusal.body,
        responseBodyBytes: refusal.body.length,
        sourceIPAddress: client.sourceIPAddress,
        completedAtMs: nowMs(),
        ...(client.tlsDetails === undefined ? {} : { tlsDetails: client.tlsDetails }),
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
    upstreamConnections.destroy();
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
      upstreamConnections.destroy();
      await recorder.close();
    },
  };
}
