/**
 * errorCode and errorMessage for an HTTP error answer that carries no AWS error (an HTML page from a
 * load balancer or a crashed upstream, an empty body): the record must still say what happened.
 */
import { STATUS_CODES } from "node:http";

/** Long enough for any real page title; keeps a hostile page from filling the record. */
const PAGE_TITLE_CHARS_MAX = 256;
const PAGE_HEAD_CHARS_MAX = 64 * 1024;
/** Of a title's source (markup and entities included) only this much is read. */
const TITLE_SOURCE_CHARS_MAX = 4096;

const ENTITIES: Readonly<Record<string, string>> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: " " };

/** The status text in PascalCase (`InternalServerError`, `BadGateway`), or `HTTP<status>` for an unnamed status. */
export function statusErrorCode(status: number): string {
  const text = STATUS_CODES[status];
  if (text === undefined) return `HTTP${status}`;
  return text.replace(/[^A-Za-z0-9]+(.)?/g, (_, next: string | undefined) => (next ?? "").toUpperCase());
}

/**
 * The page's `<title>` as plain text (markup dropped, entities decoded, whitespace collapsed, at most
 * 256 characters), else the status text (`Internal Server Error`), else `HTTP <status>`.
 */
export function errorPageMessage(status: number, body: string): string {
  return pageTitle(body) ?? STATUS_CODES[status] ?? `HTTP ${status}`;
}

/**
 * Found with indexOf, not one regular expression: a hostile body of many unclosed `<title` tags would
 * make a backtracking match quadratic. Only the page's head is searched, where a title lives.
 */
function pageTitle(body: string): string | undefined {
  const head = body.slice(0, PAGE_HEAD_CHARS_MAX);
  const open = head.search(/<title[\s>]/i);
  const start = open < 0 ? -1 : head.indexOf(">", open);
  const length = start < 0 ? -1 : head.slice(start).search(/<\/title/i);
  if (length < 0) return undefined;
  const inner = head.slice(start + 1, start + Math.min(length, TITLE_SOURCE_CHARS_MAX));
  const text = decodeEntities(inner.replace(/<[^<>]*>/g, " "))
    .replace(/[\s\p{Cc}]+/gu, " ")
    .trim();
  if (text === "") return undefined;
  return text.length > PAGE_TITLE_CHARS_MAX ? `${text.slice(0, PAGE_TITLE_CHARS_MAX - 1)}…` : text;
}

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,6});/gi, (whole, name: string) => {
    const lower = name.toLowerCase();
    const code = lower.startsWith("#x")
      ? parseInt(lower.slice(2), 16)
      : lower.startsWith("#")
        ? Number(lower.slice(1))
        : NaN;
    if (!Number.isNaN(code))
      return code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : "";
    return ENTITIES[lower] ?? whole;
  });
}
