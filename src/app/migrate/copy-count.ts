/** What one step of a migration did: items it copied, and items the cluster already had (an earlier run's). */
export interface CopyCount {
  readonly copied: number;
  readonly present: number;
}

export function addCounts(a: CopyCount, b: CopyCount): CopyCount {
  return { copied: a.copied + b.copied, present: a.present + b.present };
}

/** One item: copied, or already there. */
export function countOne(copied: boolean): CopyCount {
  return copied ? { copied: 1, present: 0 } : { copied: 0, present: 1 };
}

/** What a copy step calls as it goes: items done so far (copied or already there), and their total when known. */
export type ProgressTick = (done: number, total?: number) => void;
