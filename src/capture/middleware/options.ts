/**
 * Options shared by the Express and Fastify middleware, and the sink they hand records to. The sink
 * is the capture proxy's `EventSink` (spool file + one retrying `POST /ingest` sender), so an app
 * keeps serving while the Cairn server restarts and its events arrive once it is back.
 */
import type { ClientSettings } from "../../client/client-settings.js";
import type { UserIdentity } from "../../model/record.js";
import { EventSink } from "../proxy/event-sink.js";

/** Where records go: `EventSink` or anything with the same two methods (a test double, a journal). */
export interface RecordSink {
  enqueue(json: string): void;
  close(timeoutMs: number): Promise<void>;
}

export interface CairnCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface CairnMiddlewareOptions<Req> {
  /** The service the events are about, e.g. `orders.example.com` (CloudTrail's `eventSource`). */
  readonly eventSource: string;
  /** `awsRegion` of the events, and the region ingest calls are signed for. */
  readonly region: string;
  /** A ready sink; otherwise one is made from serverUrl + credentials (+ spoolPath). */
  readonly sink?: RecordSink;
  /** The Cairn server, e.g. `http://127.0.0.1:7680`. */
  readonly serverUrl?: string;
  /** A Cairn principal's key (`cairn principal add`); its account owns events without one. */
  readonly credentials?: CairnCredentials;
  /**
   * A file that holds every record until the server has it, so records queued when the app stops
   * are sent at its next start. Without it records wait in memory only (up to 10,000).
   */
  readonly spoolPath?: string;
  /** `recipientAccountId`; default the identity's account, else the account of the signing key. */
  readonly accountId?: string;
  /** The caller; default `{type: "Unknown"}` (CloudTrail's type for callers it cannot resolve). */
  readonly identity?: (req: Req) => UserIdentity | undefined;
  /** Default: the route's name where the framework has one, else `METHOD /path/:template`. */
  readonly eventName?: (req: Req) => string;
  /** Default: GET, HEAD and OPTIONS are read-only. */
  readonly readOnly?: (req: Req) => boolean;
  /** Default: route params + query + JSON body, lower-camel (redacted by the shared list in any case). */
  readonly requestParameters?: (req: Req) => Record<string, unknown> | null;
  /** JSON response bodies up to this many bytes become responseElements (default 64 KiB; 0: never). */
  readonly responseBytesMax?: number;
  /** Response header carrying the requestID; set when the app does not (default `x-amzn-RequestId`; false: off). */
  readonly requestIdHeader?: string | false;
  readonly log?: (line: string) => void;
}

export const DEFAULT_RESPONSE_BYTES_MAX = 64 * 1024;

/** How long closing the middleware keeps delivering before leaving records in the spool. */
export const CLOSE_DRAIN_MS = 5_000;

export function logOf<Req>(options: CairnMiddlewareOptions<Req>): (line: string) => void {
  return options.log ?? ((line) => void process.stderr.write(`cairn middleware: ${line}\n`));
}

/** The caller's sink, or an `EventSink` to `serverUrl` (owned: closed with the middleware). */
export function sinkOf<Req>(options: CairnMiddlewareOptions<Req>): { sink: RecordSink; owned: boolean } {
  if (options.sink !== undefined) return { sink: options.sink, owned: false };
  if (options.serverUrl === undefined || options.credentials === undefined) {
    throw new Error("cairn middleware: give either `sink`, or `serverUrl` and `credentials`");
  }
  const { accessKeyId, secretAccessKey, sessionToken } = options.credentials;
  const client: ClientSettings = {
    endpointUrl: options.serverUrl.replace(/\/+$/, ""),
    region: options.region,
    credentials: {
      accessKeyId,
      secretAccessKey,
      origin: "cairn middleware options",
      ...(sessionToken === undefined ? {} : { sessionToken }),
    },
  };
  return { sink: new EventSink({ client, spoolPath: options.spoolPath, log: logOf(options) }), owned: true };
}
