import { isTransientError } from "./transient-error.js";

/** An item the store refused on its own while it answered its probe before and after. */
export interface Refusal<T> {
  readonly item: T;
  readonly error: unknown;
}

/**
 * Writes `items` with `write` (all or nothing per call, in any order: nothing is committed until the
 * caller commits what the calls wrote). When the whole fails for a reason that does not name a
 * dependency, the failing part is split in halves, depth first, down to single items; an item that
 * fails alone is tried again between two successful `probe()`s, and only then returned as refused.
 * Rejects on a transient error or a failed probe: a store that is down refuses nothing. About five
 * small writes per refused item, plus two per halving on the way to it.
 */
export async function writeIsolatingRefusals<T>(
  items: readonly T[],
  write: (part: readonly T[]) => Promise<void>,
  probe: () => Promise<void>,
): Promise<Array<Refusal<T>>> {
  try {
    await write(items);
    return [];
  } catch (error) {
    if (isTransientError(error) || items.length === 0) throw error;
  }
  const refused: Array<Refusal<T>> = [];
  const parts: Array<readonly T[]> = halves(items);
  while (parts.length > 0) {
    const part = parts.shift()!;
    try {
      await write(part);
    } catch (error) {
      if (isTransientError(error)) throw error;
      if (part.length > 1) parts.unshift(...halves(part));
      else {
        const refusal = await refusedByWorkingStore(part[0]!, write, probe);
        if (refusal !== undefined) refused.push(refusal);
      }
    }
  }
  return refused;
}

function halves<T>(items: readonly T[]): Array<readonly T[]> {
  const middle = Math.ceil(items.length / 2);
  return [items.slice(0, middle), items.slice(middle)].filter((part) => part.length > 0);
}

/** The item's failure when it fails alone between two good probes; undefined when it was written this time. */
async function refusedByWorkingStore<T>(
  item: T,
  write: (part: readonly T[]) => Promise<void>,
  probe: () => Promise<void>,
): Promise<Refusal<T> | undefined> {
  await probe();
  try {
    await write([item]);
    return undefined;
  } catch (error) {
    if (isTransientError(error)) throw error;
    await probe();
    return { item, error };
  }
}
