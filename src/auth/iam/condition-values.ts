import { isIP } from "node:net";

/**
 * Readers for the typed condition values, used twice: to refuse a document whose literal value
 * cannot be one (so a typo never turns a negated operator into "always true"), and to read the
 * request's values at evaluation, where a value that does not read simply matches nothing.
 */

const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** An integer or decimal value (Numeric operators), or undefined. */
export function readNumber(text: string): number | undefined {
  if (!DECIMAL.test(text)) return undefined;
  const value = Number(text);
  return Number.isFinite(value) ? value : undefined;
}

const EPOCH_SECONDS = /^-?\d+(?:\.\d+)?$/;
// The W3C profile of ISO 8601 the IAM docs name: YYYY, YYYY-MM, YYYY-MM-DD, then hh:mm, :ss, .s, and a zone.
const W3C_DATE = /^\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** A date/time as epoch milliseconds (Date operators): ISO 8601 (W3C) or epoch seconds, or undefined. */
export function readDateMs(text: string): number | undefined {
  if (EPOCH_SECONDS.test(text)) return Number(text) * 1000;
  const match = W3C_DATE.exec(text);
  if (match === null) return undefined;
  // A time without a zone is read as UTC, never as this machine's local time.
  const zoned = text.includes("T") && match[1] === undefined ? `${text}Z` : text;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? undefined : ms;
}

/** "true" or "false" in any case (Bool and Null operators), or undefined. */
export function readBool(text: string): boolean | undefined {
  const lower = text.toLowerCase();
  return lower === "true" ? true : lower === "false" ? false : undefined;
}

/** The bytes of a base-64 value (BinaryEquals), or undefined when the text is not base 64. */
export function readBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, "base64");
}

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: "ipv4" | "ipv6";
}

/** An IPv4 or IPv6 range in CIDR form; a bare address is its own /32 or /128 (IpAddress operators). */
export function readCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefixText = slash < 0 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return undefined;
  return { address, prefix: Number(prefixText), family: version === 4 ? "ipv4" : "ipv6" };
}

/** An IP address to test, with an IPv4-mapped IPv6 address (`::ffff:203.0.113.9`) read as the IPv4 one. */
export function readIp(text: string): { address: string; family: "ipv4" | "ipv6" } | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  const address = mapped?.[1] ?? text;
  const version = isIP(address);
  if (version === 0) return undefined;
  return { address, family: version === 4 ? "ipv4" : "ipv6" };
}
