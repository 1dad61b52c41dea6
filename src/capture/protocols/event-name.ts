/**
 * The eventName CloudTrail writes for an operation. For every service but Lambda it is the operation's
 * name. Lambda's records carry the API version of the operation's route: `ListFunctions20150331`
 * (`GET /2015-03-31/functions/`), `PublishLayerVersion20181031` (`/2018-10-31/layers/…`),
 * `GetFunction20150331v2`, while `Invoke` and the operations added since 2019 (code signing,
 * function URLs, event-invoke configs…) are logged under their bare names
 * (`GetFunctionCodeSigningConfig`, `/2020-06-30/…`).
 *
 * The date comes from the model's route. Three facts the model cannot give are stated here:
 * - Data-plane invocations (`Invoke`, `InvokeAsync`, `InvokeWithResponseStream`) never carry it.
 * - The `v2` revision: Lambda re-versioned a handful of 2015-03-31 operations internally; only its
 *   records say which (GetFunction, GetFunctionConfiguration, UpdateFunctionCode,
 *   UpdateFunctionConfiguration, AddPermission, RemovePermission, GetPolicy, as in CloudTrail's
 *   records of 2023–2024).
 * - Routes dated after 2018-10-31 have no suffix (the last dated API family in CloudTrail's records;
 *   GetFunctionCodeSigningConfig, 2020-06-30, is logged bare).
 *
 * S3 logs ListObjectsV2 (`GET /<bucket>?list-type=2`) as `ListObjects`, telling the two apart only by
 * the `list-type` request parameter (CloudTrail's records: `"eventName": "ListObjects"` with
 * `"list-type": "2"`).
 */
import type { Operation, ServiceModel } from "./model-types.js";

const LAMBDA_V2 = new Set([
  "GetFunction",
  "GetFunctionConfiguration",
  "UpdateFunctionCode",
  "UpdateFunctionConfiguration",
  "AddPermission",
  "RemovePermission",
  "GetPolicy",
]);

/** The newest route date that CloudTrail still appends to Lambda event names. */
const LAMBDA_LAST_SUFFIXED_VERSION = "2018-10-31";

const ROUTE_DATE = /^\/(\d{4})-(\d{2})-(\d{2})\//;

/**
 * @example eventNameOf(lambda, ListFunctions) // → "ListFunctions20150331"
 * @example eventNameOf(lambda, GetFunction) // → "GetFunction20150331v2"
 * @example eventNameOf(lambda, Invoke) // → "Invoke"
 * @example eventNameOf(s3, ListObjectsV2) // → "ListObjects"
 */
export function eventNameOf(model: ServiceModel, operation: Operation): string {
  if (model.metadata.endpointPrefix === "s3" && operation.name === "ListObjectsV2") return "ListObjects";
  if (model.metadata.endpointPrefix !== "lambda" || operation.name.startsWith("Invoke")) return operation.name;
  const date = ROUTE_DATE.exec(operation.http?.requestUri ?? "");
  if (date === null) return operation.name;
  const version = `${date[1]}-${date[2]}-${date[3]}`;
  if (version > LAMBDA_LAST_SUFFIXED_VERSION) return operation.name;
  const suffix = `${date[1]}${date[2]}${date[3]}${LAMBDA_V2.has(operation.name) ? "v2" : ""}`;
  return `${operation.name}${suffix}`;
}
