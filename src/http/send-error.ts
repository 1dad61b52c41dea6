import type { FastifyReply } from "fastify";
import type { ApiError } from "../lib/api-error.js";
import { escapeXml } from "./s3-server/xml.js";

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

const IAM_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/";

/** IAM's Query-protocol error: `<ErrorResponse><Error><Type>Sender</Type><Code>…` with the request id. */
export function sendIamXmlError(reply: FastifyReply, requestId: string, error: ApiError): void {
  const type = error.status >= 500 ? "Receiver" : "Sender";
  void reply
    .code(error.status)
    .headers({ "content-type": "text/xml", "x-amzn-requestid": requestId, ...error.headers })
    .send(
      `<ErrorResponse xmlns="${IAM_NAMESPACE}"><Error><Type>${type}</Type><Code>${error.code}</Code>` +
        `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    );
}
