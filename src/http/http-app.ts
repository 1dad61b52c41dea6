import { randomUUID } from "node:crypto";
import Fastify, { type FastifyInstance } from "fastify";
import { ApiError } from "../lib/api-error.js";
import { sendAwsError } from "./send-error.js";

/** The CloudTrail API's own request bodies are small; /ingest raises its own limit. */
const API_BODY_BYTES_MAX = 1024 * 1024;

/**
 * The HTTP shell shared by every route: raw-buffer bodies (SigV4 needs the exact bytes), and AWS-shaped
 * answers for anything that fails before a route runs (oversized or unreadable bodies, unknown paths).
 */
export function createHttpApp(
  onRefused: (
    error: ApiError,
    request: { ip: string; headers: { "user-agent"?: string | undefined } },
  ) => Promise<void>,
  onInternalError: (error: unknown) => void,
): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: API_BODY_BYTES_MAX,
    return503OnClosing: true,
    forceCloseConnections: true,
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
  app.setErrorHandler(async (error: { statusCode?: number; code?: string; message: string }, request, reply) => {
    const status = error.statusCode ?? 500;
    // A fault, not a refusal: the caller is told InternalFailure, the log gets the stack (errors.md).
    if (status >= 500) onInternalError(error);
    const apiError =
      status === 413
        ? new ApiError(
            "RequestEntityTooLargeException",
            `Request body exceeds the limit for ${request.url.split("?")[0]}.`,
          )
        : status < 500
          ? new ApiError("SerializationException", `The request could not be read: ${error.message}`)
          : new ApiError("InternalFailure", "The request processing has failed because of an unknown error.");
    await onRefused(apiError, request).catch(() => undefined);
    sendAwsError(reply, randomUUID(), apiError);
    return reply;
  });
  app.setNotFoundHandler(async (request, reply) => {
    void reply
      .code(404)
      .headers({
        "content-type": "application/x-amz-json-1.1",
        "x-amzn-requestid": randomUUID(),
        "x-amzn-errortype": "UnknownOperationException",
      })
      .send(
        JSON.stringify({
          __type: "UnknownOperationException",
          message: `No route for ${request.method} ${request.url.split("?")[0]}.`,
        }),
      );
    return reply;
  });
  return app;
}
