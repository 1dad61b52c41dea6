/**
 * `cairn/middleware`: record a custom HTTP API's calls as CloudTrail events in a Cairn server.
 * See docs/reference/middleware.md.
 */
export {
  cairnExpress,
  type CairnExpressMiddleware,
  type CairnExpressOptions,
  type ExpressLikeRequest,
} from "./express.js";
export { cairnFastify, type CairnFastifyOptions } from "./fastify.js";
export type { CairnCredentials, CairnMiddlewareOptions, RecordSink } from "./options.js";
export { EventSink } from "../proxy/event-sink.js";
export type { UserIdentity } from "../../model/record.js";
