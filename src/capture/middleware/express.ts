/**
 * `cairnExpress(options)`: Express middleware (any `(req, res, next)` stack: Express 4/5, Connect)
 * that records each call as a CloudTrail event once its response is finished, so recording never
 * delays the client. Mount it before the routes; route params, `req.route` and the body parsed by
 * `express.json()` are read when the response finishes, after routing has filled them in.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { CappedCopy } from "../proxy/capped-copy.js";
import { plainAddress } from "./http-call.js";
import type { CairnMiddlewareOptions } from "./options.js";
import { createRecorder, type Recorder } from "./recorder.js";

/** What the middleware reads of an Express request; typed structurally so express stays optional. */
export interface ExpressLikeRequest extends IncomingMessage {
  readonly route?: { readonly path?: unknown } | undefined;
  readonly baseUrl?: string;
  readonly params?: unknown;
  readonly query?: unknown;
  readonly body?: unknown;
  readonly ip?: string | undefined;
  readonly path?: string;
  readonly originalUrl?: string;
}

export type CairnExpressOptions<Req extends ExpressLikeRequest> = CairnMiddlewareOptions<Req>;

export interface CairnExpressMiddleware<Req extends ExpressLikeRequest> {
  (req: Req, res: ServerResponse, next: (error?: unknown) => void): void;
  /** Delivers queued events (up to 5 s) and stops the sender; call it when the app shuts down. */
  close(): Promise<void>;
}

export function cairnExpress<Req extends ExpressLikeRequest = ExpressLikeRequest>(
  options: CairnExpressOptions<Req>,
): CairnExpressMiddleware<Req> {
  const recorder = createRecorder(options);
  const middleware = (req: Req, res: ServerResponse, next: (error?: unknown) => void): void => {
    observe(recorder, req, res);
    next();
  };
  return Object.assign(middleware, { close: () => recorder.close() });
}

function observe<Req extends ExpressLikeRequest>(recorder: Recorder<Req>, req: Req, res: ServerResponse): void {
  const sourceIPAddress = plainAddress(req.ip ?? req.socket.remoteAddress);
  const requestID = recorder.newRequestId();
  if (recorder.requestIdHeader !== false) res.setHeader(recorder.requestIdHeader, requestID);
  const copy = recorder.responseBytesMax > 0 ? copyResponseBody(res, recorder.responseBytesMax) : undefined;
  res.once("finish", () => {
    const url = req.originalUrl ?? req.url ?? "/";
    const question = url.indexOf("?");
    const template = typeof req.route?.path === "string" ? `${req.baseUrl ?? ""}${req.route.path}` : undefined;
    const contentType = res.getHeader("content-type");
    recorder.record(req, {
      method: req.method ?? "GET",
      routeTemplate: template,
      routeName: undefined,
      path: question === -1 ? url : url.slice(0, question),
      params: req.params,
      query: req.query,
      body: req.body,
      status: res.statusCode,
      responseContentType: typeof contentType === "string" ? contentType : undefined,
      responseBody: copy?.result(),
      // The app may have set its own id; CloudTrail's requestID is the one the client saw.
      requestID: headerValue(res.getHeader(recorder.requestIdHeader || "x-amzn-requestid")) ?? requestID,
      sourceIPAddress,
      userAgent: req.headers["user-agent"],
      // eslint-disable-next-line no-restricted-properties -- the host app's call happened now; the middleware takes no clock
      completedAtMs: Date.now(),
    });
  });
}

/** Tees what the app writes into a capped copy; the bytes still go out unchanged. */
function copyResponseBody(res: ServerResponse, capBytes: number): CappedCopy {
  const copy = new CappedCopy(capBytes);
  const take = (chunk: unknown, encoding: unknown): void => {
    if (typeof chunk === "string")
      copy.push(Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8"));
    else if (chunk instanceof Uint8Array) copy.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  };
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.write = ((...args: unknown[]) => {
    take(args[0], args[1]);
    return write(...args);
  }) as ServerResponse["write"];
  res.end = ((...args: unknown[]) => {
    if (typeof args[0] !== "function") take(args[0], args[1]);
    return end(...args);
  }) as ServerResponse["end"];
  return copy;
}

function headerValue(value: number | string | string[] | undefined): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}
