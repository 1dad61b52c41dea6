import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { ApiError, isApiError } from "../lib/api-error.js";
import { closeIfBodyUnread, sendNoRoute, senderOf } from "./send-error.js";
import { signedRouteOf } from "./signed-routes.js";
import { storeUnavailableAnswer } from "./store-unavailable.js";

/** The CloudTrail API's own request bodies are small; /ingest raises its own limit. */
const API_BODY_BYTES_MAX = 1024 * 1024;

/**
 * How long a client may take to send one whole request. Fastify turns Node's limit off; without
 * one, a caller trickling a body holds its share of the in-flight body budget for ever. Node's own
 * default, long enough for a 32 MiB ingest over a slow link.
 */
const REQUEST_RECEIVE_MS_MAX = 300_000;

/**
 * A request Node cannot parse as HTTP (a Content-Length that does not match the body, a malformed
 * header) never reaches a route: it still gets an AWS JSON error, and the connection is closed.
 */
function answerUnparsableRequest(error: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) return;
  const tooLarge = error.code === "HPE_HEADER_OVERFLOW";
  const body = JSON.stringify({
    __type: tooLarge ? "RequestEntityTooLargeException" : "SerializationException",
    message: tooLarge ? "The request headers are too large." : "The request is not well-formed HTTP.",
  });
  socket.end(
    `HTTP/1.1 ${tooLarge ? "431 Request Header Fields Too Large" : "400 Bad Request"}\r\n` +
      "Content-Type: application/x-amz-json-1.1\r\n" +
      `x-amzn-RequestId: ${randomUUID()}\r\n` +
      `x-amzn-ErrorType: ${tooLarge ? "RequestEntityTooLargeException" : "SerializationException"}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * The HTTP shell shared by every route: raw-buffer bodies (SigV4 needs the exact bytes), and AWS-shaped
 * answers for anything that fails before a route runs (oversized or unreadable bodies, unknown paths).
 */
export function createHttpApp(
  onRefused: (error: ApiError, request: FastifyRequest) => Promise<void>,
  onInternalError: (error: unknown) => void,
): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: API_BODY_BYTES_MAX,
    requestTimeout: REQUEST_RECEIVE_MS_MAX,
    return503OnClosing: true,
    forceCloseConnections: true,
    clientErrorHandler: answerUnparsableRequest,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
  app.setErrorHandler(async (error: { statusCode?: number; code?: string; message: string }, request, reply) => {
    const apiError = asApiError(error, request, onInternalError);
    await onRefused(apiError, request).catch(() => undefined);
    closeIfBodyUnread(request, reply);
    const send = senderOf(signedRouteOf(request)?.errorFormat);
    send(reply, randomUUID(), apiError);
    return reply;
  });
  app.setNotFoundHandler(async (request, reply) => {
    sendNoRoute(reply, request);
    return reply;
  });
  return app;
}

function asApiError(
  error: { statusCode?: number; message: string },
  request: FastifyRequest,
  onInternalError: (error: unknown) => void,
): ApiError {
  // Refusals decided by Cairn's own hooks (the in-flight body budget) arrive as they are.
  if (isApiError(error)) return error;
  const unavailableStore = storeUnavailableAnswer(error);
  if (unavailableStore) return unavailableStore;
  const status = error.statusCode ?? 500;
  // A fault, not a refusal: the caller is told InternalFailure, the log gets the stack (errors.md).
  if (status >= 500) onInternalError(error);
  return status === 413
    ? new ApiError("RequestEntityTooLargeException", `Request body exceeds the limit for ${request.url.split("?")[0]}.`)
    : status < 500
      ? new ApiError("SerializationException", `The request could not be read: ${error.message}`)
      : new ApiError("InternalFailure", "The request processing has failed because of an unknown error.");
}
