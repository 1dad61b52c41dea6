import type { ClientSettings } from "../../client/client-settings.js";
import { describeConnectionError } from "../../client/ingest-client.js";
import { signedFetch, type FetchFunction } from "../../client/signed-fetch.js";
import type { UserIdentity } from "../../model/record.js";
import type { Output } from "../output.js";

interface ReconnectPolicy {
  readonly delayMsInitial: number;
  readonly delayMsMax: number;
}

const DEFAULT_RECONNECT_POLICY: ReconnectPolicy = { delayMsInitial: 1000, delayMsMax: 30_000 };

export interface TailOptions {
  readonly client: ClientSettings;
  /** Replay from this journal sequence number on the first connection, then follow live. */
  readonly fromSeq?: number;
  /** Print each record's JSON line as received instead of a readable line. */
  readonly json?: boolean;
  /**
   * Also show who ingested each record (the server's journal envelope, not part of the record): a
   * readable line ends with it; with `json`, each line is `{"ingestedBy":{…}|null,"record":{…}}`.
   */
  readonly withProvenance?: boolean;
  readonly stdout: Output;
  readonly stderr: Output;
  /** Tail runs until this is aborted (Ctrl-C in the CLI). */
  readonly signal?: AbortSignal;
  readonly reconnect?: ReconnectPolicy;
  readonly fetchFunction?: FetchFunction;
}

/** The server refused the stream for a reason that retrying will not fix (credentials, no such endpoint). */
class TailRefusedError extends Error {
  override readonly name = "TailRefusedError";
}

/**
 * `cairn tail`: follows `GET /tail` (NDJSON, one record per line, blank lines as keep-alives),
 * printing each record, and reconnects with back-off when the connection drops. Resolves when
 * `signal` aborts; throws TailRefusedError on 4xx answers.
 *
 * The stream is read with `withSeq=true`: every line carries its journal sequence number, so after a
 * reconnect the tail resumes just after the last record it printed and nothing journaled meanwhile is lost.
 *
 * @example
 * await runTail({ client, stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
 */
export async function runTail(options: TailOptions): Promise<void> {
  const policy = options.reconnect ?? DEFAULT_RECONNECT_POLICY;
  let delayMs = policy.delayMsInitial;
  let fromSeq = options.fromSeq;
  while (!options.signal?.aborted) {
    let problem: string;
    try {
      const response = await signedFetch(
        options.client,
        {
          method: "GET",
          path: "/tail",
          query: {
            withSeq: "true",
            ...(options.withProvenance === true ? { withProvenance: "true" } : {}),
            ...(fromSeq !== undefined ? { fromSeq: String(fromSeq) } : {}),
          },
          headers: { accept: "application/x-ndjson" },
          ...(options.signal ? { signal: options.signal } : {}),
        },
        options.fetchFunction,
      );
      if (response.status >= 400 && response.status < 500) {
        throw new TailRefusedError(`GET /tail answered ${response.status}: ${(await response.text()).slice(0, 300)}`);
      }
      if (!response.ok || response.body === null) {
        problem = `server answered ${response.status}`;
      } else {
        // Connected: the back-off starts over, and the resume point moves with every record printed.
        delayMs = policy.delayMsInitial;
        const startSeq = Number(response.headers.get("x-cairn-from-seq"));
        if (Number.isInteger(startSeq) && startSeq > 0) fromSeq = startSeq;
        await printStream(response.body, options, (seq) => (fromSeq = seq + 1));
        problem = "the server closed the stream";
      }
    } catch (error) {
      if (error instanceof TailRefusedError) throw error;
      if (options.signal?.aborted) return;
      problem = describeConnectionError(error);
    }
    if (options.signal?.aborted) return;
    options.stderr.write(`Tail interrupted (${problem}); reconnecting in ${Math.round(delayMs / 1000)} s.\n`);
    await sleep(delayMs, options.signal);
    delayMs = Math.min(delayMs * 2, policy.delayMsMax);
  }
}

async function printStream(
  body: ReadableStream<Uint8Array>,
  options: TailOptions,
  onSeq: (seq: number) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of body) {
    pending += decoder.decode(chunk, { stream: true });
    let newline = pending.indexOf("\n");
    while (newline !== -1) {
      printLine(pending.slice(0, newline), options, onSeq);
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
  }
  printLine(pending + decoder.decode(), options, onSeq);
}

const ENVELOPE = /^\{"seq":(\d+),/;
const INGESTED_BY_MEMBER = '"ingestedBy":';
const RECORD_MEMBER = '"record":';

interface TailLine {
  readonly seq?: number;
  /** The `ingestedBy` member's JSON text, when the server sent one. */
  readonly ingestedBy?: string;
  /** The record's JSON text, byte for byte as the line holds it. */
  readonly recordText: string;
}

/**
 * Splits `{"seq":N,["ingestedBy":{…}|null,]"record":{…}}` without re-serialising the record.
 * `ingestedBy` is compact JSON with string members only: `,"record":` cannot occur inside it (a
 * quote inside a JSON string is always escaped), so its first occurrence ends it.
 */
function splitLine(text: string): TailLine {
  const envelope = ENVELOPE.exec(text);
  if (envelope === null) return { recordText: text };
  let rest = text.slice(envelope[0].length);
  let ingestedBy: string | undefined;
  if (rest.startsWith(INGESTED_BY_MEMBER)) {
    const end = rest.indexOf(`,${RECORD_MEMBER}`);
    if (end === -1) return { recordText: text };
    ingestedBy = rest.slice(INGESTED_BY_MEMBER.length, end);
    rest = rest.slice(end + 1);
  }
  if (!rest.startsWith(RECORD_MEMBER)) return { recordText: text };
  const recordText = rest.slice(RECORD_MEMBER.length, -1);
  return { seq: Number(envelope[1]), ...(ingestedBy !== undefined ? { ingestedBy } : {}), recordText };
}

/** Prints one line of the stream; an envelope's record is printed byte for byte as the journal holds it. */
function printLine(line: string, options: TailOptions, onSeq: (seq: number) => void): void {
  const text = line.trim();
  if (text === "") return;
  const { seq, ingestedBy, recordText } = splitLine(text);
  const showProvenance = options.withProvenance === true && ingestedBy !== undefined;
  if (options.json) {
    options.stdout.write(showProvenance ? `{"ingestedBy":${ingestedBy},"record":${recordText}}\n` : `${recordText}\n`);
  } else {
    try {
      const readable = formatTailLine(JSON.parse(recordText) as Record<string, unknown>);
      options.stdout.write(`${readable}${showProvenance ? `  ${provenanceLabel(ingestedBy)}` : ""}\n`);
    } catch {
      options.stderr.write(`Skipping a line that is not JSON: ${text.slice(0, 120)}\n`);
    }
  }
  if (seq !== undefined) onSeq(seq);
}

/** `ingested by <arn> (<access key>, <path>)`, or the path alone (Cairn's own records), or `unknown`. */
function provenanceLabel(ingestedByText: string): string {
  const value = JSON.parse(ingestedByText) as Partial<Record<string, string>> | null;
  if (value === null || typeof value["source"] !== "string") return "ingested by unknown";
  const { source, principalArn, accessKeyId } = value;
  if (principalArn === undefined) return `ingested by ${source}`;
  return `ingested by ${principalArn} (${accessKeyId === undefined ? "" : `${accessKeyId}, `}${source})`;
}

/** One readable line per record: time, source, name, user, error code. */
export function formatTailLine(record: Record<string, unknown>): string {
  const field = (name: string) => (typeof record[name] === "string" ? (record[name] as string) : "-");
  return [
    field("eventTime").padEnd(20),
    field("eventSource").padEnd(30),
    field("eventName").padEnd(32),
    userLabel(record.userIdentity as UserIdentity | undefined).padEnd(24),
    typeof record.errorCode === "string" ? record.errorCode : "",
  ]
    .join(" ")
    .trimEnd();
}

/** The name a person would use: IAM user name, role session, `root`, or the calling service. */
function userLabel(identity: UserIdentity | undefined): string {
  if (identity === undefined || identity === null) return "-";
  if (identity.type === "Root") return "root";
  if (typeof identity.userName === "string") return identity.userName;
  if (typeof identity.arn === "string") return identity.arn.slice(identity.arn.lastIndexOf("/") + 1) || identity.arn;
  return identity.invokedBy ?? identity.type ?? "-";
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
