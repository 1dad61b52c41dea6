/**
 * Binds the middleware options once: the sink, the app's resolvers (a resolver that throws is
 * logged and its default used, so an app bug never costs the event), and the record settings.
 */
import { randomUUID } from "node:crypto";
import { recordOfHttpCall, type HttpCall, type Resolved } from "./http-call.js";
import {
  CLOSE_DRAIN_MS,
  DEFAULT_RESPONSE_BYTES_MAX,
  logOf,
  sinkOf,
  type CairnMiddlewareOptions,
  type RecordSink,
} from "./options.js";

export interface Recorder<Req> {
  readonly sink: RecordSink;
  readonly responseBytesMax: number;
  readonly requestIdHeader: string | false;
  newRequestId(): string;
  record(req: Req, call: HttpCall): void;
  /** Delivers what is queued (up to 5 s) when the middleware made the sink itself. */
  close(): Promise<void>;
}

export function createRecorder<Req>(options: CairnMiddlewareOptions<Req>): Recorder<Req> {
  const { sink, owned } = sinkOf(options);
  const log = logOf(options);
  const settings = { eventSource: options.eventSource, region: options.region, accountId: options.accountId };
  const ask = <T>(name: string, resolver: ((req: Req) => T) | undefined, req: Req): T | undefined => {
    if (resolver === undefined) return undefined;
    try {
      return resolver(req);
    } catch (error) {
      log(`the ${name} option threw (${String(error)}); using the default`);
      return undefined;
    }
  };
  return {
    sink,
    responseBytesMax: options.responseBytesMax ?? DEFAULT_RESPONSE_BYTES_MAX,
    requestIdHeader: options.requestIdHeader ?? "x-amzn-RequestId",
    newRequestId: () => randomUUID(),
    record(req, call) {
      try {
        const resolved: Resolved = {
          identity: ask("identity", options.identity, req),
          eventName: ask("eventName", options.eventName, req),
          readOnly: ask("readOnly", options.readOnly, req),
          requestParameters: ask("requestParameters", options.requestParameters, req),
        };
        sink.enqueue(recordOfHttpCall(settings, call, resolved));
      } catch (error) {
        log(`could not record ${call.method} ${call.path}: ${String(error)}`);
      }
    },
    async close() {
      if (owned) await sink.close(CLOSE_DRAIN_MS);
    },
  };
}
