/**
 * Unpaired UTF-16 surrogates. JavaScript strings may hold them (JSON's `\ud800` escape makes one),
 * but UTF-8 cannot: DuckDB refuses such JSON ("no low surrogate in string") and every Lake flush
 * after it would fail, and S3 keys cannot carry them. They are replaced by U+FFFD, the replacement
 * character UTF-8 decoders use for the same defect, so the record keeps its shape and every other
 * character, and a reader can still see where text was damaged.
 */

/**
 * An unpaired surrogate as JSON.stringify writes it: since ES2019 (well-formed JSON.stringify) it
 * escapes exactly the unpaired ones and writes pairs as characters. The escape must follow an even
 * number of backslashes, or it is the text `\ud800` inside a string rather than an escape.
 */
const ESCAPED_LONE_SURROGATE = /(?<!\\)((?:\\\\)*)\\ud[89a-f][0-9a-f]{2}/g;

export interface SurrogateRepair<T> {
  readonly record: T;
  readonly json: string;
  /** How many unpaired surrogates were replaced (0: `record` and `json` are the ones given). */
  readonly repairs: number;
}

/**
 * Replaces every unpaired surrogate in `record` (keys and values at any depth) by U+FFFD, working
 * on `json` (JSON.stringify of `record`): a text scan needs no recursion however deep the record,
 * and the common case costs one regex test.
 *
 * @example repairLoneSurrogates({ userAgent: "\ud800" }, '{"userAgent":"\\ud800"}') // repairs: 1
 */
export function repairLoneSurrogates<T>(record: T, json: string): SurrogateRepair<T> {
  if (!json.includes("\\ud")) return { record, json, repairs: 0 };
  let repairs = 0;
  const repaired = json.replace(ESCAPED_LONE_SURROGATE, (_escape, backslashes: string) => {
    repairs += 1;
    return `${backslashes}\ufffd`;
  });
  if (repairs === 0) return { record, json, repairs: 0 };
  return { record: JSON.parse(repaired) as T, json: repaired, repairs };
}
