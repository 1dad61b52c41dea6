import { ApiError } from "../lib/api-error.js";

/** Media types of AWS JSON 1.0/1.1 and plain JSON; `POST /` and `POST /ingest` accept the same ones. */
const JSON_MEDIA_TYPES = ["application/x-amz-json-1.1", "application/x-amz-json-1.0", "application/json"];

/**
 * Refuses a body declared as anything but JSON (`text/plain`, a form), as AWS's JSON services do.
 * No Content-Type at all is accepted: botocore always sends one, and hand-made probes often do not.
 * Parameters (`; charset=utf-8`) and case are ignored; the Content-Encoding is judged separately.
 */
export function assertJsonContentType(contentType: string | undefined, expected: string): void {
  const mediaType = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (mediaType !== "" && !JSON_MEDIA_TYPES.includes(mediaType)) {
    throw new ApiError("SerializationException", `Unsupported Content-Type '${mediaType}'; send ${expected}.`);
  }
}
