/**
 * S3 lists keys in UTF-8 byte order. JavaScript's `<` compares UTF-16 code units, which disagrees
 * for characters above U+FFFF against U+E000–U+FFFF (a surrogate 0xD83D sorts before 0xFF61, but
 * F0 9F… sorts after EF BD A1). Every ordering decision in this folder goes through here.
 */
export function compareUtf8(left: string, right: string): number {
  return Buffer.compare(Buffer.from(left, "utf8"), Buffer.from(right, "utf8"));
}
