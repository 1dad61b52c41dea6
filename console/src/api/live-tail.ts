import { signedFetch } from "../../../src/client/signed-fetch.js";
import { CONSOLE_AGENT_HEADER } from "./user-agent.js";
import type { Session } from "./session.js";

export interface LiveTailHandlers {
  /** One journaled record, as its JSON text (what LookupEvents serves as CloudTrailEvent). */
  readonly onRecord: (json: string) => void;
  readonly onState: (state: "connecting" | "live" | "retrying", detail?: string) => void;
}

const RETRY_DELAY_MS_MAX = 15_000;

const ENVELOPE = /^\{"seq":(\d+),"record":/;

/**
 * Follows `GET /tail?withSeq=true` (the stream `cairn tail` reads) with a SigV4-signed fetch, re-connecting
 * with back-off until `signal` aborts and resuming after the last record seen, so an outage loses nothing.
 * The stream is NDJSON (`{"seq":N,"record":{…}}`) with blank keep-alive lines.
 */
export async function followLiveTail(session: Session, handlers: LiveTailHandlers, signal: AbortSignal): Promise<void> {
  let delayMs = 1000;
  let fromSeq: number | undefined;
  while (!signal.aborted) {
    handlers.onState("connecting");
    try {
      const response = await signedFetch(
        { endpointUrl: window.location.origin, region: session.region, credentials: session },
        {
          method: "GET",
          path: "/tail",
          query: { withSeq: "true", ...(fromSeq !== undefined ? { fromSeq: String(fromSeq) } : {}) },
          headers: { accept: "application/x-ndjson", "x-amz-user-agent": CONSOLE_AGENT_HEADER },
          signal,
        },
      );
      if (!response.ok || response.body === null) {
        const text = await response.text().catch(() => "");
        throw new Error(`Cairn answered ${response.status} to /tail ${text.slice(0, 200)}`);
      }
      handlers.onState("live");
      delayMs = 1000;
      const startSeq = Number(response.headers.get("x-cairn-from-seq"));
      if (Number.isInteger(startSeq) && startSeq > 0) fromSeq = startSeq;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let pending = "";
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        pending += value;
        let newline = pending.indexOf("\n");
        while (newline >= 0) {
          const line = pending.slice(0, newline).trim();
          pending = pending.slice(newline + 1);
          const envelope = ENVELOPE.exec(line);
          if (envelope) {
            handlers.onRecord(line.slice(envelope[0].length, -1));
            fromSeq = Number(envelope[1]) + 1;
          } else if (line !== "") handlers.onRecord(line);
          newline = pending.indexOf("\n");
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      handlers.onState("retrying", error instanceof Error ? error.message : String(error));
    }
    if (signal.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, delayMs);
      signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    delayMs = Math.min(delayMs * 2, RETRY_DELAY_MS_MAX);
  }
}
