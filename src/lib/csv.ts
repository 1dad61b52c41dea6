/**
 * CSV for the console's downloads (RFC 4180), safe to open in a spreadsheet. A cell of an event is
 * text an attacker may have written (a userAgent, a request parameter), and a spreadsheet runs a
 * cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return before one) as a formula:
 * `=HYPERLINK(…)` or `=cmd|…` in an export is the classic CSV injection. As OWASP recommends, such
 * cells are prefixed with a single quote, which spreadsheets show as text and do not evaluate.
 * Plain numbers (`-5`, `+1.5e3`) are left alone: they are no formula, and Lake results hold them.
 */

const FORMULA_START = /^[=+\-@\t\r]/;
const PLAIN_NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** The text of one cell as a spreadsheet must see it: formula triggers neutralised. */
export function neutralizeFormula(text: string): string {
  return FORMULA_START.test(text) && !PLAIN_NUMBER.test(text) ? `'${text}` : text;
}

/** One CSV cell: null/undefined empty, non-strings as JSON, quoted when it holds a quote, comma or line break. */
function csvCell(value: unknown): string {
  const raw = value === null || value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value);
  const text = neutralizeFormula(raw);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 CSV with CRLF line ends, every cell through csvCell. */
export function toCsv(header: readonly string[], rows: readonly (readonly unknown[])[]): string {
  return csvLines([header, ...rows]);
}

/** CSV lines, each ended by CRLF: a file written in pieces (an export page by page) is still one CSV. */
export function csvLines(rows: readonly (readonly unknown[])[]): string {
  return rows.map((row) => row.map(csvCell).join(",") + "\r\n").join("");
}
