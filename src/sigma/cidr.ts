import { ipAddressValue, ipRangeOf, type IpRange } from "../lib/ip-address.js";
import { refuse } from "./sigma-rule.js";

/** A `|cidr` value as a range; a malformed one refuses the rule. */
export function parseCidr(cidr: string): IpRange {
  const [address = "", maskText, extra] = cidr.split("/");
  const ip = ipAddressValue(address);
  if (ip === undefined || extra !== undefined) refuse(`|cidr: '${cidr}' is not an IPv4 or IPv6 CIDR`);
  const mask = maskText === undefined ? ip.bits : Number(maskText);
  if (!Number.isInteger(mask) || mask < 0 || mask > ip.bits || (maskText !== undefined && !/^\d+$/.test(maskText)))
    refuse(`|cidr: '${cidr}' has no valid prefix length`);
  return ipRangeOf(ip, mask);
}
