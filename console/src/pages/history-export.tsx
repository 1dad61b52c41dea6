import { useState } from "react";
import { useSession } from "../session-context.js";
import { describeError } from "../api/cloudtrail.js";
import {
  EXPORT_FORMATS,
  EXPORT_URL_EXPIRES_SECONDS,
  exportUrl,
  startDownload,
  type ExportFormat,
  type ExportSearch,
} from "../api/export-events.js";

type ExportState =
  | { readonly kind: "idle" }
  | { readonly kind: "started"; readonly format: ExportFormat }
  | { readonly kind: "failed"; readonly message: string };

export interface ExportAllProps {
  /** The search on screen; undefined while there is none. */
  readonly search: ExportSearch | undefined;
}

function describe(state: ExportState): string {
  if (state.kind === "idle") return "";
  if (state.kind === "failed") return `Export failed: ${state.message}`;
  return (
    `Export started as ${state.format.toUpperCase()}: the server streams every matching event and your browser ` +
    "saves it to disk; its downloads list shows the progress and can cancel it."
  );
}

/**
 * Every event of the search, not only the page shown: the server streams the file (GET /export-events)
 * and the browser saves it as any download, so neither holds the whole export in memory
 * (decision 0026). The link is presigned for a few minutes and used at once.
 */
export function ExportAll({ search }: ExportAllProps) {
  const { session } = useSession();
  const [format, setFormat] = useState<ExportFormat>("csv");
  const [state, setState] = useState<ExportState>({ kind: "idle" });

  const start = async (): Promise<void> => {
    if (!search) return;
    try {
      startDownload(await exportUrl(session, search, format));
      setState({ kind: "started", format });
    } catch (problem) {
      setState({ kind: "failed", message: describeError(problem).message });
    }
  };

  return (
    <div className="export-all" role="group" aria-label="Export all matching events">
      <label>
        Export format
        <select name="exportFormat" value={format} onChange={(event) => setFormat(event.target.value as ExportFormat)}>
          {EXPORT_FORMATS.map((candidate) => (
            <option key={candidate.format} value={candidate.format}>
              {candidate.label}
            </option>
          ))}
        </select>
      </label>
      <button
        type="button"
        disabled={!search}
        title={`Streams the file from the server through a link valid ${EXPORT_URL_EXPIRES_SECONDS / 60} minutes`}
        onClick={() => void start()}
      >
        Export all matching events
      </button>
      <span className={state.kind === "failed" ? "error-text" : "muted"} role="status">
        {describe(state)}
      </span>
    </div>
  );
}
