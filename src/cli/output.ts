/** Where a command writes: process.stdout/stderr in the CLI, a string collector in tests. */
export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

/** An Output that keeps what is written, for tests and for callers that want the text. */
export function collectOutput(): Output & { readonly text: () => string } {
  const chunks: string[] = [];
  return {
    write(text: string) {
      chunks.push(text);
      return true;
    },
    text: () => chunks.join(""),
  };
}
