import { randomUUID } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ApiError } from "../lib/api-error.js";

/** An AWS JSON 1.1 error: `{"__type", "message"}` with `x-amzn-RequestId` and `x-amzn-ErrorType`. */
export function sendAwsError(reply: FastifyReply, requestId: string, error: ApiError): void {
  void reply
    .code(error.status)
    .headers({
      "content-type": "application/x-amz-json-1.1",
      "x-amzn-requestid": requestId,
      "x-amzn-errortype": error.code,
      ...error.headers,
    })
    .send(JSON.stringify({ __type: error.code, message: error.message }));
}

/** A REST-JSON error (the cloudtrail-data service): the code in `x-amzn-ErrorType`, the body `{"message"}`. */
export function sendRestJsonError(reply: FastifyReply, requestId: string, error: ApiError): void {
  void reply
    .code(error.status)
    .headers({
      "content-type": "application/json",
      "x-amzn-requestid": requestId,
      "x-amzn-errortype": error.code,
      ...error.headers,
    })
    .send(JSON.stringify({ message: error.message }));
}

/** The answer for a path no route serves (AWS JSON 1.1's UnknownOperationException, with 404). */
export function sendNoRoute(reply: FastifyReply, request: { method: string; url: string }): void {
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
}

/**
 * Closes the connection after the answer when the request's body has not been received in full:
 * Node would otherwise read and discard the rest to reuse the connection, so a client could keep
 * the socket (and the server's reading) busy with a body that is never used.
 */
export function closeIfBodyUnread(request: FastifyRequest, reply: FastifyReply): void {
  const length = request.headers["content-length"];
  const announcesBody = request.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
  if (announcesBody && !request.raw.complete) void reply.header("connection", "close");
}
