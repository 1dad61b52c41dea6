/**
 * A worker's output for one file: its NDJSON lines encoded one after another into a single buffer
 * with their byte offsets, so the whole file goes to the main thread as one transfer (no string per
 * record to clone there, nor to join and encode again before DuckDB reads it).
 */
export class LineBuffer {
  private bytes: Buffer;
  private length = 0;
  private readonly offsets: number[] = [0];

  constructor(expectedBytes: number) {
    // Slow: a buffer of its own, never a slice of Node's shared pool, since it is transferred.
    this.bytes = Buffer.allocUnsafeSlow(Math.max(1024, expectedBytes));
  }

  get count(): number {
    return this.offsets.length - 1;
  }

  /** Appends `line` and a newline. */
  push(line: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    const room = line.length * 3 + 1;
    if (this.length + room > this.bytes.length) this.grow(this.length + room);
    this.length += this.bytes.write(line, this.length, "utf8");
    this.bytes[this.length++] = 0x0a;
    this.offsets.push(this.length);
  }

  private grow(needed: number): void {
    const larger = Buffer.allocUnsafeSlow(Math.max(needed, this.bytes.length * 2));
    this.bytes.copy(larger, 0, 0, this.length);
    this.bytes = larger;
  }

  /** The lines and their offsets, as views of buffers of their own (for a transfer list). */
  finish(): { lines: Uint8Array; offsets: Uint32Array } {
    return {
      lines: new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, this.length),
      offsets: Uint32Array.from(this.offsets),
    };
  }
}
