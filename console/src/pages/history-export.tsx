import { useEffect, useRef, useState } from "react";
import { downloadText } from "../api/download.js";
import {
  EXPORT_FORMATS,
  exportEvents,
  type ExportFormat,
  type ExportPage,
  type ExportProgress,
} from "../api/export-events.js";
import type { HistoryRow } from "../api/history-rows.js";
import { describeError } from "../api/cloudtrail.js";

type ExportState =
  | { readonly kind: "idle" }
  | {
      readonly kind: "running" | "done" | "cancelled";
      readonly progress: ExportProgress;
      readonly format: ExportFormat;
    }
  | { readonly kind: "failed"; readonly message: string };

export interface ExportAllProps {
  /** One LookupEvents page of the search on screen; undefined while there is none. */
  readonly fetchPage: ((token: string | undefined, signal: AbortSignal) => Promise<ExportPage>) | undefined;
  readonly keep: (row: HistoryRow) => boolean;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

function describe(state: ExportState): string {
  if (state.kind === "idle") return "";
  if (state.kind === "failed") return `Export failed: ${state.message}`;
  const { pages, events } = state.progress;
  if (state.kind === "running") return `Exporting… ${plural(events, "event")} from ${plural(pages, "page")} so far`;
  if (state.kind === "cancelled") return `Export cancelled after ${plural(events, "event")}; no file was saved.`;
  return `Exported ${plural(events, "event")} from ${plural(pages, "page")} as ${state.format.toUpperCase()}.`;
}

/** Every event of the search, not only the page shown, fetched page by page with progress and a cancel. */
export function ExportAll({ fetchPage, keep }: ExportAllProps) {
  const [format, setFormat] = useState<ExportFormat>("csv");
  const [state, setState] = useState<ExportState>({ kind: "idle" });
  const controller = useRef<AbortController | undefined>(undefined);
  // Leaving the page stops an export (its calls would be wasted).
  useEffect(() => () => controller.current?.abort(), []);

  const start = async (): Promise<void> => {
    if (!fetchPage) return;
    const abort = new AbortController();
    controller.current = abort;
    const chosen = format;
    let progress: ExportProgress = { pages: 0, events: 0 };
    setState({ kind: "running", progress, format: chosen });
    try {
      const pieces = await exportEvents(
        (token) => fetchPage(token, abort.signal),
        chosen,
        keep,
        (next) => {
          progress = next;
          setState({ kind: "running", progress, format: chosen });
        },
        abort.signal,
      );
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      const type = EXPORT_FORMATS.find((candidate) => candidate.format === chosen)!.mimeType;
      downloadText(`cairn-events-all-${stamp}.${chosen}`, type, pieces);
      setState({ kind: "done", progress, format: chosen });
    } catch (problem) {
      if (abort.signal.aborted) setState({ kind: "cancelled", progress, format: chosen });
      else setState({ kind: "failed", message: describeError(problem).message });
    } finally {
      if (controller.current === abort) controller.current = undefined;
    }
  };

  const running = state.kind === "running";
  return (
    <div className="export-all" role="group" aria-label="Export all matching events">
      <label>
        Export format
        <select
          name="exportFormat"
          value={format}
          disabled={running}
          onChange={(event) => setFormat(event.target.value as ExportFormat)}
        >
          {EXPORT_FORMATS.map((candidate) => (
            <option key={candidate.format} value={candidate.format}>
              {candidate.label}
            </option>
          ))}
        </select>
      </label>
      <button type="button" disabled={running || !fetchPage} onClick={() => void start()}>
        Export all matching events
      </button>
      {running && (
        <>
          <progress aria-label="Export progress" />
          <button type="button" onClick={() => controller.current?.abort()}>
            Cancel export
          </button>
        </>
      )}
      <span className={state.kind === "failed" ? "error-text" : "muted"} role="status">
        {describe(state)}
      </span>
    </div>
  );
}
