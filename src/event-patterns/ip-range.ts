import { isIPv4, isIPv6 } from "node:net";
import { refusePattern } from "./pattern-error.js";

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

/** The address as a number of its width, or undefined when the text is not an IPv4/IPv6 literal. */
function ipAddressValue(text: string): { bits: 32 | 128; value: bigint } | undefined {
  if (isIPv4(text)) return { bits: 32, value: ipv4Value(text) };
  // Zone ids (`fe80::1%eth0`) name an interface of one host; events carry none and EventBridge refuses them.
  if (isIPv6(text) && !text.includes("%")) return { bits: 128, value: ipv6Value(text) };
  return undefined;
}

/** Compiles a `cidr` operand, refusing it with EventBridge's reasons. */
export function compileCidr(cidr: string): IpRange {
  const parts = cidr.split("/");
  if (parts.length !== 2) refusePattern("Malformed CIDR, one '/' required");
  const [address, maskText] = parts as [string, string];
  if (!/^-?\d+$/.test(maskText)) refusePattern("Malformed CIDR, mask bits must be an integer");
  const mask = Number(maskText);
  if (mask < 0) refusePattern("Malformed CIDR, mask bits must not be negative");
  const ip = ipAddressValue(address);
  if (ip === undefined) refusePattern(`Nonstandard IP address: ${address}`);
  if (ip.bits === 32 && mask > 31) refusePattern("IPv4 mask bits must be < 32");
  if (ip.bits === 128 && mask > 127) refusePattern("IPv6 mask bits must be < 128");
  const hostBits = BigInt(ip.bits - mask);
  const hostMask = (1n << hostBits) - 1n;
  const low = ip.value & ~hostMask;
  return { bits: ip.bits, low, high: low | hostMask };
}

/** Whether `text` is an address inside `range` (an address of the other family never is). */
export function ipInRange(range: IpRange, text: string): boolean {
  const ip = ipAddressValue(text);
  return ip !== undefined && ip.bits === range.bits && ip.value >= range.low && ip.value <= range.high;
}
