import { ipAddressValue, ipRangeOf, type IpRange } from "../lib/ip-address.js";
import { refusePattern } from "./pattern-error.js";

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
  return ipRangeOf(ip, mask);
}
