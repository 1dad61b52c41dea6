import { randomBytes } from "node:crypto";
import { XML_DECLARATION, element } from "./xml.js";

/** The closed catalogue of S3 errors this server sends: status and S3's own message text. */
export const S3_ERRORS = {
  AccessDenied: { status: 403, message: "Access Denied" },
  AuthorizationHeaderMalformed: { status: 400, message: "The authorization header is malformed." },
  InternalError: { status: 500, message: "We encountered an internal error. Please try again." },
  InvalidAccessKeyId: { status: 403, message: "The AWS Access Key Id you provided does not exist in our records." },
  InvalidArgument: { status: 400, message: "Invalid Argument" },
  InvalidBucketName: { status: 400, message: "The specified bucket is not valid." },
  InvalidRange: { status: 416, message: "The requested range is not satisfiable" },
  InvalidURI: { status: 400, message: "Couldn't parse the specified URI." },
  MethodNotAllowed: { status: 405, message: "The specified method is not allowed against this resource." },
  NoSuchBucket: { status: 404, message: "The specified bucket does not exist" },
  NoSuchKey: { status: 404, message: "The specified key does not exist." },
  NotImplemented: {
    status: 501,
    message: "A header or query you provided implies functionality that is not implemented.",
  },
  RequestTimeTooSkewed: {
    status: 403,
    message: "The difference between the request time and the current time is too large.",
  },
  SignatureDoesNotMatch: {
    status: 403,
    message:
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
  },
  ServiceUnavailable: { status: 503, message: "Please reduce your request rate." },
} as const;

export type S3ErrorCode = keyof typeof S3_ERRORS;

/** Thrown by request handlers; the server turns it into S3's `<Error>` document. */
export class S3RequestError extends Error {
  constructor(
    readonly code: S3ErrorCode,
    readonly details: Readonly<Record<string, string>> = {},
    message?: string,
  ) {
    super(message ?? S3_ERRORS[code].message);
  }
}

export function errorDocument(error: S3RequestError, requestId: string): string {
  const details = Object.entries(error.details)
    .map(([name, value]) => element(name, value))
    .join("");
  return (
    XML_DECLARATION +
    `<Error>${element("Code", error.code)}${element("Message", error.message)}${details}` +
    `${element("RequestId", requestId)}${element("HostId", hostId())}</Error>`
  );
}

/** S3 pairs each request id with an opaque host id (`x-amz-id-2`); clients only echo it in logs. */
export function hostId(): string {
  return randomBytes(24).toString("base64");
}
