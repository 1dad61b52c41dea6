import type { FastifyReply } from "fastify";
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
