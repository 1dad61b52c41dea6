import { isIPv4, isIPv6 } from "node:net";

/** An address range as big integers over the address's own width (32 or 128 bits). */
export interface IpRange {
  readonly bits: 32 | 128;
  readonly low: bigint;
  readonly high: bigint;
}

function ipv4Value(text: string): bigint {
  return text.split(".").reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
}

/** Expands `::` and an embedded dotted IPv4 tail into eight 16-bit groups. */
function ipv6Value(text: string): bigint {
  let address = text;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted !== null) {
    const v4 = ipv4Value(dotted[1]!);
    address = `${address.slice(0, dotted.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head = "", tail] = address.split("::");
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill("0"), ...tailGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/**
 * The address as a number of its width, or undefined when the text is not an IPv4/IPv6 literal.
 * Zone ids (`fe80::1%eth0`) name an interface of one host; records carry none, so they match nothing.
 */
export function ipAddressValue(text: string): { bits: 32 | 128; value: bigint } | undefined {
  if (isIPv4(text)) return { bits: 32, value: ipv4Value(text) };
  if (isIPv6(text) && !text.includes("%")) return { bits: 128, value: ipv6Value(text) };
  return undefined;
}

/** The range of `address`/`mask` (mask already checked to be within the address's width). */
export function ipRangeOf(ip: { bits: 32 | 128; value: bigint }, mask: number): IpRange {
  const hostMask = (1n << BigInt(ip.bits - mask)) - 1n;
  const low = ip.value & ~hostMask;
  return { bits: ip.bits, low, high: low | hostMask };
}

/** Whether `text` is an address inside `range` (an address of the other family never is). */
export function ipInRange(range: IpRange, text: string): boolean {
  const ip = ipAddressValue(text);
  return ip !== undefined && ip.bits === range.bits && ip.value >= range.low && ip.value <= range.high;
}
