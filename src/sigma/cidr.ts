import { isIPv4, isIPv6 } from "node:net";
import { refuse } from "./sigma-rule.js";

function ipv4Value(text: string): bigint {
  return text.split(".").reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
}

/** Eight 16-bit groups, `::` and a dotted IPv4 tail expanded. */
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
  const fill = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(fill).fill("0"), ...tailGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** The address as a number of its width, or undefined when the text is no IPv4/IPv6 literal. */
export function ipValue(text: string): { bits: 32 | 128; value: bigint } | undefined {
  if (isIPv4(text)) return { bits: 32, value: ipv4Value(text) };
  if (isIPv6(text) && !text.includes("%")) return { bits: 128, value: ipv6Value(text) };
  return undefined;
}

/** A `|cidr` value as a range; a malformed one refuses the rule. */
export function parseCidr(cidr: string): { bits: 32 | 128; low: bigint; high: bigint } {
  const [address = "", maskText, extra] = cidr.split("/");
  const ip = ipValue(address);
  if (ip === undefined || extra !== undefined) refuse(`|cidr: '${cidr}' is not an IPv4 or IPv6 CIDR`);
  const mask = maskText === undefined ? ip.bits : Number(maskText);
  if (!Number.isInteger(mask) || mask < 0 || mask > ip.bits || (maskText !== undefined && !/^\d+$/.test(maskText)))
    refuse(`|cidr: '${cidr}' has no valid prefix length`);
  const hostMask = (1n << BigInt(ip.bits - mask)) - 1n;
  const low = ip.value & ~hostMask;
  return { bits: ip.bits, low, high: low | hostMask };
}
