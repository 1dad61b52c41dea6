import { presignedUrl } from "../../../src/client/presigned-url.js";
import type { ExportFormat } from "../../../src/model/event-export.js";
import type { AttributeFilter } from "./history-rows.js";
import type { Session } from "./session.js";

export type { ExportFormat };

export const EXPORT_FORMATS: { format: ExportFormat; label: string }[] = [
  { format: "csv", label: "CSV" },
  { format: "json", label: 'JSON ({"Records": […]})' },
  { format: "ndjson", label: "NDJSON (one record a line)" },
];

/**
 * How long the export's presigned URL works. The browser requests it at once; a URL that leaks
 * (history, a proxy's log) is useless five minutes later (decision 0026).
 */
export const EXPORT_URL_EXPIRES_SECONDS = 300;

/** The search an export covers: LookupEvents' attributes and the resolved window. */
export interface ExportSearch {
  readonly filters: readonly AttributeFilter[];
  readonly start: Date;
  readonly end: Date;
  readonly hideOwn: boolean;
}

/** The presigned `GET /export-events` URL of a search: the server streams the file, the browser saves it. */
export function exportUrl(session: Session, search: ExportSearch, format: ExportFormat): Promise<string> {
  return presignedUrl(
    { endpointUrl: window.location.origin, region: session.region, credentials: session },
    {
      path: "/export-events",
      query: {
        format,
        attribute: search.filters.map((filter) => `${filter.key}:${filter.value}`),
        startTime: search.start.toISOString(),
        endTime: search.end.toISOString(),
        hideOwn: String(search.hideOwn),
      },
    },
    EXPORT_URL_EXPIRES_SECONDS,
    new Date(),
  );
}

/** Starts the browser's own download of `url`: it streams to disk, with the browser's progress and cancel. */
export function startDownload(url: string): void {
  const link = document.createElement("a");
  link.href = url;
  // Empty: the name comes from the server's Content-Disposition.
  link.download = "";
  link.rel = "noopener";
  document.body.append(link);
  link.click();
  link.remove();
}
