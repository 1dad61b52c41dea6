import { csvLines } from "./download.js";
import { CSV_HEADER, csvCells, type HistoryRow } from "./history-rows.js";

export type ExportFormat = "csv" | "json" | "ndjson";

export const EXPORT_FORMATS: { format: ExportFormat; label: string; mimeType: string }[] = [
  { format: "csv", label: "CSV", mimeType: "text/csv" },
  { format: "json", label: 'JSON ({"Records": […]})', mimeType: "application/json" },
  { format: "ndjson", label: "NDJSON (one record a line)", mimeType: "application/x-ndjson" },
];

export interface ExportPage {
  readonly rows: HistoryRow[];
  readonly nextToken: string | undefined;
}

export interface ExportProgress {
  readonly pages: number;
  readonly events: number;
}

/** The record on one line: as stored when it already is (it normally is), else re-serialised. */
function oneLine(row: HistoryRow): string {
  return /[\r\n]/.test(row.json) ? JSON.stringify(row.record) : row.json;
}

/** The file's pieces for one page of rows; `first` says whether any row was written before. */
function piecesOf(format: ExportFormat, rows: HistoryRow[], first: boolean): string[] {
  if (format === "csv") return [csvLines(rows.map(csvCells))];
  if (format === "ndjson") return rows.map((row) => `${oneLine(row)}\n`);
  return rows.map((row, index) => `${first && index === 0 ? "" : ",\n"}${oneLine(row)}`);
}

/**
 * Every event of a search, walked page by page through LookupEvents (the API has no bulk read), into
 * the pieces of one file. `keep` drops rows the view hides; `signal` stops between and during pages.
 */
export async function exportEvents(
  fetchPage: (token: string | undefined) => Promise<ExportPage>,
  format: ExportFormat,
  keep: (row: HistoryRow) => boolean,
  onProgress: (progress: ExportProgress) => void,
  signal: AbortSignal,
): Promise<string[]> {
  const pieces = format === "csv" ? [csvLines([CSV_HEADER])] : format === "json" ? ['{"Records":[\n'] : [];
  let token: string | undefined;
  let pages = 0;
  let events = 0;
  do {
    signal.throwIfAborted();
    const page = await fetchPage(token);
    signal.throwIfAborted();
    const rows = page.rows.filter(keep);
    pieces.push(...piecesOf(format, rows, events === 0));
    pages += 1;
    events += rows.length;
    token = page.nextToken;
    onProgress({ pages, events });
  } while (token !== undefined);
  if (format === "json") pieces.push("\n]}\n");
  return pieces;
}
