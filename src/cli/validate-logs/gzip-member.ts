import { gunzipSync, inflateRawSync } from "node:zlib";

/** `trailing`: bytes follow the first member (log files: INVALID; digests: ignored, as zlib.decompress does). */
export type FirstMemberResult =
  { readonly ok: true; readonly data: Buffer; readonly trailing: boolean } | { readonly ok: false };

const FLAG_HCRC = 2;
const FLAG_EXTRA = 4;
const FLAG_NAME = 8;
const FLAG_COMMENT = 16;

/**
 * Decompresses the first gzip member and says whether bytes follow it, like the AWS CLI's
 * `zlib.decompressobj(MAX_WBITS | 16)` + `unused_data` check (spec §3.6). Node's gunzip would
 * silently decode a second member, which the CLI rejects.
 */
export function gunzipFirstMember(bytes: Buffer): FirstMemberResult {
  try {
    const headerLength = gzipHeaderLength(bytes);
    const inflated = inflateRawSync(bytes.subarray(headerLength), { info: true }) as unknown as {
      engine: { bytesWritten: number };
    };
    const memberEnd = headerLength + inflated.engine.bytesWritten + 8;
    if (memberEnd > bytes.length) return { ok: false };
    // Decoding the member alone checks its CRC-32 and length trailer.
    const data = gunzipSync(bytes.subarray(0, memberEnd));
    return { ok: true, data, trailing: memberEnd < bytes.length };
  } catch {
    return { ok: false };
  }
}

function gzipHeaderLength(bytes: Buffer): number {
  if (bytes.length < 10 || bytes[0] !== 0x1f || bytes[1] !== 0x8b || bytes[2] !== 8) throw new Error("not gzip");
  const flags = bytes[3]!;
  let offset = 10;
  if (flags & FLAG_EXTRA) offset += 2 + bytes.readUInt16LE(offset);
  if (flags & FLAG_NAME) offset = bytes.indexOf(0, offset) + 1;
  if (flags & FLAG_COMMENT) offset = bytes.indexOf(0, offset) + 1;
  if (flags & FLAG_HCRC) offset += 2;
  if (offset <= 0 || offset > bytes.length) throw new Error("truncated gzip header");
  return offset;
}
