/**
 * Journal file names. Pure functions, no I/O: a segment is named by the seq of its first entry,
 * zero-padded so that lexical order equals seq order (ls, backup tools and humans see the journal
 * in order).
 */

/** Digits in a segment name: enough for Number.MAX_SAFE_INTEGER (16 digits). */
const SEQ_DIGITS = 16;
const SEGMENT_SUFFIX = ".seg";
const SIDECAR_SUFFIX = ".idx";
const NAME_PATTERN = /^(\d{16})\.seg$/;

function assertSeq(firstSeq: number): void {
  if (!Number.isSafeInteger(firstSeq) || firstSeq < 1) throw new RangeError(`Invalid first seq ${firstSeq}.`);
}

/** `segmentFileName(1)` → `"0000000000000001.seg"`. */
export function segmentFileName(firstSeq: number): string {
  assertSeq(firstSeq);
  return String(firstSeq).padStart(SEQ_DIGITS, "0") + SEGMENT_SUFFIX;
}

/** The block-index sidecar written when a segment is sealed: `"0000000000000001.idx"`. */
export function sidecarFileName(firstSeq: number): string {
  assertSeq(firstSeq);
  return String(firstSeq).padStart(SEQ_DIGITS, "0") + SIDECAR_SUFFIX;
}

/** The first seq encoded in a segment file name, or null when the name is not a segment's. */
export function parseSegmentFileName(name: string): number | null {
  const match = NAME_PATTERN.exec(name);
  if (match === null) return null;
  const seq = Number(match[1]);
  return Number.isSafeInteger(seq) && seq >= 1 ? seq : null;
}
