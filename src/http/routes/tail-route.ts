import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { PrincipalStore } from "../../stores/principals/index.js";
import type { Journal } from "../../journal/journal.js";
import type { Clock } from "../../lib/clock.js";
import { recordAccountId, type CloudTrailRecord } from "../../model/record.js";
import { authenticate, toSignedRequest, type CallerAttribution } from "../../auth/authenticate.js";
import { ApiError, isApiError } from "../../lib/api-error.js";
import { sendAwsError } from "./cloudtrail-route.js";
import { auditRecordOf, type AuditDefaults } from "../../capture/self-audit/audit-record.js";

/**
 * Live tail: a consumer whose cursor lives in the client. `GET /tail?fromSeq=N` streams the caller's
 * account's records as NDJSON from N (default: only new ones), with a blank keep-alive line while idle.
 * With `withSeq=true` each line is `{"seq":N,"record":{…}}`, so a client that loses the connection
 * resumes with `fromSeq=N+1` and misses nothing.
 */
const TAIL_BATCH_ENTRIES_MAX = 500;
const TAIL_KEEPALIVE_MS = 15_000;

export interface TailRouteOptions {
  readonly journal: Journal;
  readonly principals: PrincipalStore;
  readonly clock: Clock;
  readonly accountId: string;
  readonly region: string;
  readonly audit: AuditDefaults;
  /** Aborted when the server shuts down, so open streams end. */
  readonly shutdown: AbortSignal;
}

function parseFromSeq(value: unknown, headSeq: number): number {
  if (value === undefined) return headSeq + 1;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1)
    throw new ApiError("SerializationException", "fromSeq must be a positive integer.");
  return parsed;
}

export function registerTailRoute(app: FastifyInstance, options: TailRouteOptions): void {
  app.get("/tail", async (request, reply) => {
    const requestId = randomUUID();
    const attribution: CallerAttribution = {};
    let failure: ApiError | undefined;
    let accountId = options.accountId;
    let fromSeq = 0;
    const withSeq = ["true", "1"].includes(String((request.query as Record<string, unknown>)["withSeq"] ?? ""));
    try {
      const { principal } = await authenticate(
        toSignedRequest(request, Buffer.alloc(0)),
        options.principals,
        attribution,
        options.clock.nowMs(),
      );
      accountId = principal.accountId;
      fromSeq = parseFromSeq((request.query as Record<string, unknown>)["fromSeq"], options.journal.headSeq());
    } catch (error) {
      failure = isApiError(error)
        ? error
        : new ApiError("InternalFailure", "The request processing has failed because of an unknown error.");
    }
    const audit = auditRecordOf(request, options.audit, {
      eventName: "Tail",
      attribution,
      requestId,
      readOnly: true,
      input: failure === undefined ? { FromSeq: fromSeq } : null,
      responseElements: null,
      failure,
    });
    try {
      await options.journal.append([{ json: audit.json }]);
    } catch {
      sendAwsError(
        reply,
        requestId,
        new ApiError("ServiceUnavailableException", "Cairn cannot durably record this call right now. Retry later."),
      );
      return reply;
    }
    if (failure !== undefined) {
      sendAwsError(reply, requestId, failure);
      return reply;
    }
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      "content-type": "application/x-ndjson",
      "x-amzn-requestid": requestId,
      "cache-control": "no-cache",
      // Where this stream starts: a client that disconnects before any record resumes from here.
      "x-cairn-from-seq": String(fromSeq),
    });
    const closed = new AbortController();
    raw.on("close", () => closed.abort());
    options.shutdown.addEventListener("abort", () => closed.abort(), { once: true });
    const keepAlive = setInterval(() => raw.write("\n"), TAIL_KEEPALIVE_MS);
    try {
      let next = fromSeq;
      while (!closed.signal.aborted) {
        const entries = await options.journal.read(Math.max(next, options.journal.firstSeq()), TAIL_BATCH_ENTRIES_MAX);
        if (entries.length === 0) {
          await options.journal.waitForAppend(next - 1, closed.signal);
          continue;
        }
        let chunk = "";
        for (const entry of entries) {
          if (recordAccountId(JSON.parse(entry.json) as CloudTrailRecord) !== accountId) continue;
          chunk += withSeq ? `{"seq":${entry.seq},"record":${entry.json}}\n` : `${entry.json}\n`;
        }
        next = entries[entries.length - 1]!.seq + 1;
        if (chunk !== "" && !raw.write(chunk)) {
          await new Promise<void>((resolve) => {
            raw.once("drain", () => resolve());
            closed.signal.addEventListener("abort", () => resolve(), { once: true });
          });
        }
      }
    } finally {
      clearInterval(keepAlive);
      raw.end();
    }
    return reply;
  });
}
