/**
 * Keeps a copy of a streamed body for decoding, up to a cap: small API bodies are decoded, large S3
 * objects pass through without being held. Past the cap the copy is dropped (not truncated), so a
 * decoder never sees half a document.
 */
const CAPTURE_BYTES_MAX = 1024 * 1024;

export class CappedCopy {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private overflowed = false;

  constructor(private readonly capBytes: number = CAPTURE_BYTES_MAX) {}

  /** Every byte seen, kept or not (S3's bytesTransferredIn/Out). */
  get totalBytes(): number {
    return this.bytes;
  }

  push(chunk: Buffer): void {
    this.bytes += chunk.length;
    if (this.overflowed) return;
    if (this.bytes > this.capBytes) {
      this.overflowed = true;
      this.chunks = [];
      return;
    }
    this.chunks.push(chunk);
  }

  /**
   * The whole body, or undefined when it exceeded the cap. The copy has an ArrayBuffer of its own
   * (never a slice of Node's shared pool), so it can be transferred to a worker rather than copied.
   */
  result(): Buffer | undefined {
    if (this.overflowed) return undefined;
    const whole = Buffer.allocUnsafeSlow(this.bytes);
    let offset = 0;
    for (const chunk of this.chunks) offset += chunk.copy(whole, offset);
    return whole;
  }
}
