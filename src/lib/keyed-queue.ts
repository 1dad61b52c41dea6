/**
 * Runs the async work given for one key one after another (work for other keys runs freely): e.g.
 * one region's signing-key rotation at a time within a process. A failure does not stop the queue.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    this.tails.set(
      key,
      next.catch(() => undefined),
    );
    return next;
  }
}
