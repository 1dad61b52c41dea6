import type { FastifyInstance, FastifyReply } from "fastify";
import type { Journal, JournalEntry } from "../../journal/index.js";
import { ApiError } from "../../lib/api-error.js";
import { CAIRN_TAIL_ENDPOINT, cairnEndpointResource } from "../../model/cairn-resources.js";
import { provenanceText } from "../../model/provenance.js";
import { recordAccountId, type CloudTrailRecord } from "../../model/record.js";
import { audited, type RouteContext } from "../audited-route.js";

/**
 * Live tail: a consumer whose cursor lives in the client. `GET /tail?fromSeq=N` streams the caller's
 * account's records as NDJSON from N (default: only new ones; 0: from the first record still
 * journaled), with a blank keep-alive line while idle.
 * With `withSeq=true` each line is `{"seq":N,"record":{…}}`, so a client that loses the connection
 * resumes with `fromSeq=N+1` and misses nothing. With `withProvenance=true` each line also says who
 * ingested the record, from the journal envelope (`{"seq":N,"ingestedBy":{…}|null,"record":{…}}`,
 * `seq` only with withSeq): the record itself is sent as the journal holds it, never with it inside.
 */
const TAIL_BATCH_ENTRIES_MAX = 500;
const TAIL_KEEPALIVE_MS = 15_000;

interface TailStart {
  readonly accountId: string;
  readonly fromSeq: number;
  readonly withSeq: boolean;
  readonly withProvenance: boolean;
}

function flag(value: unknown): boolean {
  return ["true", "1"].includes(String(value ?? ""));
}

/**
 * Absent: only new records. `0`: the first record still in the journal (retention may have dropped the
 * earliest), so a client need not know where the journal starts. Digits only: `Number` alone would take
 * "", " ", "1e3" or "0x10", and a repeated parameter arrives as an array.
 */
function parseFromSeq(value: unknown, journal: Journal): number {
  if (value === undefined) return journal.headSeq() + 1;
  const parsed = typeof value === "string" && /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(parsed))
    throw new ApiError("SerializationException", "fromSeq must be a non-negative integer.");
  return parsed === 0 ? journal.firstSeq() : parsed;
}

export function registerTailRoute(app: FastifyInstance, context: RouteContext): void {
  app.get(
    "/tail",
    audited<TailStart>(context, {
      eventName: () => "Tail",
      readOnly: () => true,
      unavailableMessage: "Cairn cannot durably record this call right now. Retry later.",
      async handle(call) {
        const { principal, claim } = await call.authenticate();
        // The live tail shows what LookupEvents would: the same permission.
        await call.authorize("cloudtrail:LookupEvents", "*");
        // Reading the stream is plumbing: a data event of the tail endpoint when it starts.
        call.note.dataEvent = [cairnEndpointResource(CAIRN_TAIL_ENDPOINT, claim.region, principal.accountId)];
        const query = call.request.query as Record<string, unknown>;
        const fromSeq = parseFromSeq(query["fromSeq"], context.journal);
        call.note.input = { FromSeq: fromSeq };
        return {
          accountId: principal.accountId,
          fromSeq,
          withSeq: flag(query["withSeq"]),
          withProvenance: flag(query["withProvenance"]),
        };
      },
      answer: (reply, start, _seqs, call) => stream(reply, start, call.requestId, context),
    }),
  );
}

/** Streams the account's records from `fromSeq` until the client leaves or the server stops. */
async function stream(reply: FastifyReply, start: TailStart, requestId: string, context: RouteContext): Promise<void> {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    "content-type": "application/x-ndjson",
    "x-amzn-requestid": requestId,
    "cache-control": "no-cache",
    // Where this stream starts: a client that disconnects before any record resumes from here.
    "x-cairn-from-seq": String(start.fromSeq),
  });
  const closed = new AbortController();
  raw.on("close", () => closed.abort());
  context.shutdown.addEventListener("abort", () => closed.abort(), { once: true });
  const keepAlive = setInterval(() => raw.write("\n"), TAIL_KEEPALIVE_MS);
  try {
    await follow(context.journal, start, closed.signal, async (chunk) => {
      if (!raw.write(chunk)) await drained(raw, closed.signal);
    });
  } finally {
    clearInterval(keepAlive);
    raw.end();
  }
}

/** Reads the journal from `start.fromSeq` on, handing each batch's lines of the account to `write`. */
async function follow(
  journal: Journal,
  start: TailStart,
  signal: AbortSignal,
  write: (chunk: string) => Promise<void>,
): Promise<void> {
  let next = start.fromSeq;
  while (!signal.aborted) {
    const entries = await journal.read(Math.max(next, journal.firstSeq()), TAIL_BATCH_ENTRIES_MAX);
    if (entries.length === 0) {
      await journal.waitForAppend(next - 1, signal);
      continue;
    }
    let chunk = "";
    for (const entry of entries) {
      if (recordAccountId(JSON.parse(entry.json) as CloudTrailRecord) !== start.accountId) continue;
      chunk += tailLine(entry, start);
    }
    next = entries[entries.length - 1]!.seq + 1;
    if (chunk !== "") await write(chunk);
  }
}

/** One NDJSON line: the record as journaled, in an envelope when the client asked for its seq or provenance. */
function tailLine(entry: JournalEntry, start: TailStart): string {
  if (!start.withSeq && !start.withProvenance) return `${entry.json}\n`;
  const seq = start.withSeq ? `"seq":${entry.seq},` : "";
  const provenance = entry.provenance === undefined ? "null" : provenanceText(entry.provenance);
  const ingestedBy = start.withProvenance ? `"ingestedBy":${provenance},` : "";
  return `{${seq}${ingestedBy}"record":${entry.json}}\n`;
}

function drained(raw: NodeJS.WritableStream, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    raw.once("drain", () => resolve());
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
