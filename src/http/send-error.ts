import { randomUUID } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { ApiError } from "../lib/api-error.js";
import { escapeXml } from "../lib/xml-text.js";

/** An AWS JSON 1.1 error: `{"__type", "message"}` with `x-amzn-RequestId` and `x-amzn-ErrorType`. */
function sendAwsError(reply: FastifyReply, requestId: string, error: ApiError): void {
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
function sendRestJsonError(reply: FastifyReply, requestId: string, error: ApiError): void {
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

export const IAM_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/";
export const SNS_NAMESPACE = "http://sns.amazonaws.com/doc/2010-03-31/";

/** A Query-protocol error (IAM, SNS): `<ErrorResponse><Error><Type>Sender</Type><Code>…` with the request id. */
function queryXmlError(namespace: string): (reply: FastifyReply, requestId: string, error: ApiError) => void {
  return (reply, requestId, error) => {
    const type = error.status >= 500 ? "Receiver" : "Sender";
    void reply
      .code(error.status)
      .headers({ "content-type": "text/xml", "x-amzn-requestid": requestId, ...error.headers })
      .send(
        `<ErrorResponse xmlns="${namespace}"><Error><Type>${type}</Type><Code>${error.code}</Code>` +
          `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      );
  };
}

const sendIamXmlError = queryXmlError(IAM_NAMESPACE);
const sendSnsXmlError = queryXmlError(SNS_NAMESPACE);

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

/** How a route's errors are shaped: AWS JSON 1.1, REST-JSON (cloudtrail-data), IAM's or SNS's Query-protocol XML. */
export type ErrorFormat = "json-1.1" | "rest-json" | "iam-xml" | "sns-xml";

/** The error sender of a route's error format (AWS JSON 1.1 unless it says otherwise). */
export function senderOf(
  format: ErrorFormat | undefined,
): (reply: FastifyReply, requestId: string, error: ApiError) => void {
  if (format === "sns-xml") return sendSnsXmlError;
  return format === "rest-json" ? sendRestJsonError : format === "iam-xml" ? sendIamXmlError : sendAwsError;
}
