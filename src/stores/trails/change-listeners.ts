/** The onChange listeners of a trail store (both backends). */
/** onChange listeners; one that throws is reported and does not keep the others from hearing of the change. */
export function changeListeners(reportListenerError: (error: unknown) => void) {
  const listeners: Array<() => void> = [];
  return {
    add(listener: () => void): void {
      listeners.push(listener);
    },
    notify(): void {
      for (const listener of listeners) {
        try {
          listener();
        } catch (error) {
          reportListenerError(error);
        }
      }
    },
  };
}
