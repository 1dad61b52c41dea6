import type { FastifyInstance, FastifyReply } from "fastify";
import type { ServerResponse } from "node:http";
import { exportedEventOf } from "../../consumers/event-history/exported-event.js";
import type { LookupEvent } from "../../consumers/event-history/event-history.js";
import type { OperationContext, OperationHandler } from "../../control-plane/operation.js";
import { ApiError } from "../../lib/api-error.js";
import {
  EXPORT_MIME_TYPES,
  exportChunk,
  exportHead,
  exportTail,
  isExportFormat,
  isOwnConsoleRead,
  type ExportFormat,
} from "../../model/event-export.js";
import { audited, type RouteContext } from "../audited-route.js";
import { operationContextOf } from "../operation-context.js";
import type { Throttle } from "../throttle.js";

/**
 * `GET /export-events`: every event a LookupEvents search matches, streamed as one CSV, JSON or NDJSON
 * file (decision 0026). The search is LookupEvents' own: each page is a call of the LookupEvents
 * operation with the same attributes and window, so the same validation, read-only rule and
 * account/region scope apply; it is authorised as `cloudtrail:LookupEvents` and recorded once, as
 * `ExportEvents`, before the first byte. It accepts a presigned URL, so a browser can save the
 * stream to disk itself.
 */
export interface ExportEventsRouteOptions {
  readonly lookupEvents: OperationHandler;
  /** The LookupEvents throttle, when configured: an export takes one call's token. */
  readonly throttle: Throttle | undefined;
}

/** The query parameters an export takes besides the presigned URL's own (X-Amz-*). */
const PARAMETERS = new Set(["format", "attribute", "startTime", "endTime", "hideOwn"]);
/** LookupEvents' largest page. */
const PAGE_SIZE = 50;

interface ExportRequest {
  readonly format: ExportFormat;
  /** LookupEvents' input: LookupAttributes, StartTime, EndTime. */
  readonly input: Record<string, unknown>;
  readonly hideOwn: boolean;
}

interface ExportStart {
  readonly request: ExportRequest;
  readonly context: OperationContext;
  readonly first: { events: LookupEvent[]; nextToken: string | undefined };
}

function invalid(message: string): ApiError {
  return new ApiError("ValidationException", message);
}

function single(query: Record<string, unknown>, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw invalid(`The query parameter ${name} must appear at most once.`);
  return typeof value === "string" ? value : undefined;
}

/** `attribute=EventName:ConsoleLogin`, repeatable: LookupEvents' attributes (keys hold no ':'; values may). */
function attributesOf(value: unknown): { AttributeKey: string; AttributeValue: string }[] {
  const list = value === undefined ? [] : Array.isArray(value) ? value : [value];
  return list.map((item) => {
    const text = String(item);
    const colon = text.indexOf(":");
    if (colon <= 0) throw invalid(`attribute must be <AttributeKey>:<AttributeValue>, not '${text.slice(0, 100)}'.`);
    return { AttributeKey: text.slice(0, colon), AttributeValue: text.slice(colon + 1) };
  });
}

/** A time as LookupEvents takes it: epoch seconds, or an ISO 8601 instant. */
function timeOf(name: string, value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  if (/^\d{1,12}(\.\d{1,3})?$/.test(value)) return Number(value);
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d{1,9})?)?(Z|[+-]\d\d:\d\d)$/.test(value)) return value;
  throw invalid(`${name} must be epoch seconds or an ISO 8601 instant with its zone (2026-12-07T12:00:00Z).`);
}

function parseExportRequest(query: Record<string, unknown>): ExportRequest {
  for (const name of Object.keys(query)) {
    if (!PARAMETERS.has(name) && !name.startsWith("X-Amz-"))
      throw invalid(`Unknown query parameter ${name.slice(0, 100)}.`);
  }
  const format = single(query, "format") ?? "csv";
  if (!isExportFormat(format)) throw invalid("format must be csv, json or ndjson.");
  const hideOwn = single(query, "hideOwn") ?? "false";
  if (hideOwn !== "true" && hideOwn !== "false") throw invalid("hideOwn must be true or false.");
  const startTime = timeOf("startTime", single(query, "startTime"));
  const endTime = timeOf("endTime", single(query, "endTime"));
  const input: Record<string, unknown> = {
    LookupAttributes: attributesOf(query["attribute"]),
    ...(startTime !== undefined ? { StartTime: startTime } : {}),
    ...(endTime !== undefined ? { EndTime: endTime } : {}),
  };
  return { format, input, hideOwn: hideOwn === "true" };
}

async function lookupPage(
  start: Pick<ExportStart, "request" | "context">,
  lookupEvents: OperationHandler,
  token: string | undefined,
): Promise<{ events: LookupEvent[]; nextToken: string | undefined }> {
  const input = { ...start.request.input, MaxResults: PAGE_SIZE, ...(token !== undefined ? { NextToken: token } : {}) };
  const { output } = await lookupEvents(input, start.context);
  return { events: output["Events"] as LookupEvent[], nextToken: output["NextToken"] as string | undefined };
}

export function registerExportEventsRoute(
  app: FastifyInstance,
  context: RouteContext,
  options: ExportEventsRouteOptions,
): void {
  app.get(
    "/export-events",
    audited<ExportStart>(context, {
      eventName: () => "ExportEvents",
      readOnly: () => true,
      presigned: true,
      unavailableMessage: "Cairn cannot durably record this call right now; nothing was exported. Retry later.",
      async handle(call) {
        const { principal, claim } = await call.authenticate();
        const request = parseExportRequest(call.request.query as Record<string, unknown>);
        call.note.input = { Format: request.format, ...request.input, HideOwnConsoleReads: request.hideOwn };
        // What it reads is what LookupEvents would answer: the same permission.
        await call.authorize("cloudtrail:LookupEvents", "*");
        options.throttle?.take(`${principal.accountId}/${claim.region}`);
        // The first page before anything is sent: a search LookupEvents refuses is an error answer, not a file.
        const start = { request, context: operationContextOf(call, principal, claim) };
        return { ...start, first: await lookupPage(start, options.lookupEvents, undefined) };
      },
      answer: (reply, start, _seqs, call) => stream(reply, start, call.requestId, context, options.lookupEvents),
    }),
  );
}

function fileName(format: ExportFormat, nowMs: number): string {
  return `cairn-events-${new Date(nowMs).toISOString().replace(/[:.]/g, "-")}.${format}`;
}

/**
 * Writes the file page by page, waiting for the client to drain each (memory stays one page).
 * A failure after the first byte cannot become an error answer: the connection is destroyed, so the
 * client sees a broken transfer, never a file that looks complete.
 */
async function stream(
  reply: FastifyReply,
  start: ExportStart,
  requestId: string,
  context: RouteContext,
  lookupEvents: OperationHandler,
): Promise<void> {
  reply.hijack();
  const raw = reply.raw;
  const { format, hideOwn } = start.request;
  raw.writeHead(200, {
    "content-type": EXPORT_MIME_TYPES[format],
    "content-disposition": `attachment; filename="${fileName(format, start.context.nowMs)}"`,
    "x-amzn-requestid": requestId,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  const closed = new AbortController();
  raw.on("close", () => closed.abort());
  const onShutdown = (): void => closed.abort();
  context.shutdown.addEventListener("abort", onShutdown, { once: true });
  try {
    let page = start.first;
    let written = 0;
    if (!(await write(raw, exportHead(format), closed.signal))) return;
    for (;;) {
      const events = page.events.map((event) => exportedEventOf(event));
      const kept = hideOwn ? events.filter((event) => !isOwnConsoleRead(event)) : events;
      if (!(await write(raw, exportChunk(format, kept, written === 0), closed.signal))) return;
      written += kept.length;
      if (page.nextToken === undefined) break;
      page = await lookupPage(start, lookupEvents, page.nextToken);
    }
    if (await write(raw, exportTail(format), closed.signal)) raw.end();
  } catch (error) {
    context.onInternalError(error);
    raw.destroy();
  } finally {
    context.shutdown.removeEventListener("abort", onShutdown);
    if (closed.signal.aborted && !raw.writableEnded) raw.destroy();
  }
}

/** Writes a chunk; resolves false when the client left (or the server stops) instead of draining. */
async function write(raw: ServerResponse, chunk: string, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  if (chunk === "" || raw.write(chunk)) return true;
  return new Promise<boolean>((resolve) => {
    const done = (drained: boolean): void => {
      raw.off("drain", onDrain);
      signal.removeEventListener("abort", onAbort);
      resolve(drained);
    };
    const onDrain = (): void => done(true);
    const onAbort = (): void => done(false);
    raw.once("drain", onDrain);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
