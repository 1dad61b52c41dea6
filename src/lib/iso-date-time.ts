/**
 * ISO-8601 date-times as CloudTrail and exports of it write them. CloudTrail's eventTime is
 * `YYYY-MM-DDTHH:MM:SSZ`; exports add fractions, offsets or a space for the `T`; and CloudTrail's own
 * older records write `sessionContext.attributes.creationDate` in the basic form
 * (`20131102T010628Z`, spec §1.4.1), which only callers that ask for it accept.
 */

const EXTENDED =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;
const BASIC = /^(\d{4})(\d{2})(\d{2})[Tt](\d{2})(\d{2})(\d{2})(?:[.,](\d+))?(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$/;
/** 9999-12-31T23:59:59Z: the last second a four-digit year can write. */
export const MAX_TIME_MS = 253402300799000;

export interface IsoDateTime {
  /** The time in epoch ms, whole seconds (the fraction is in `fraction`). */
  readonly ms: number;
  /** The digits after the seconds as written ("" when none). */
  readonly fraction: string;
}

/**
 * Parses an ISO-8601 date-time from 1970 to 9999, or returns undefined. A time without zone is UTC,
 * as the SQL-style exports mean it. Days that do not exist (2023-02-30) are refused.
 */
export function parseIsoDateTime(text: string, options: { basicFormat?: boolean } = {}): IsoDateTime | undefined {
  const match = EXTENDED.exec(text) ?? (options.basicFormat === true ? BASIC.exec(text) : null);
  if (match === null) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const localMs = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC rolls 2023-02-30 over to March; a changed day means the date does not exist.
  if (new Date(localMs).getUTCDate() !== day) return undefined;
  const offsetMs = offsetToMs(match[9], match[10], match[11]);
  if (offsetMs === undefined) return undefined;
  const ms = localMs - offsetMs;
  return ms >= 0 && ms <= MAX_TIME_MS ? { ms, fraction: match[7] ?? "" } : undefined;
}

function offsetToMs(
  sign: string | undefined,
  hours: string | undefined,
  minutes: string | undefined,
): number | undefined {
  if (sign === undefined || hours === undefined || minutes === undefined) return 0;
  const h = Number(hours);
  const m = Number(minutes);
  if (h > 23 || m > 59) return undefined;
  return (sign === "-" ? -1 : 1) * (h * 60 + m) * 60_000;
}
