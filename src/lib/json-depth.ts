/**
 * Nesting depth of JSON text, measured before it is parsed. JSON.parse itself copes with any depth,
 * but everything that walks the parsed value afterwards (key conversion for the audit record,
 * JSON.stringify) recurses and would overflow the stack on a body nested 10,000 levels.
 */

const OPEN_OBJECT = 0x7b; // {
const OPEN_ARRAY = 0x5b; // [
const CLOSE_OBJECT = 0x7d; // }
const CLOSE_ARRAY = 0x5d; // ]
const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \

/**
 * True when `text` opens more than `max` objects/arrays inside one another. Brackets inside strings
 * do not count. One pass over the bytes that stops at the limit; malformed JSON is left for
 * JSON.parse to report.
 */
export function jsonNestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i++;
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) inString = true;
    else if (code === OPEN_OBJECT || code === OPEN_ARRAY) {
      depth++;
      if (depth > max) return true;
    } else if (code === CLOSE_OBJECT || code === CLOSE_ARRAY) depth--;
  }
  return false;
}
