import { writeFileAtomic } from "../lib/durable-write.js";
import { PRIVATE_FILE_MODE } from "../lib/file-modes.js";
import { makeDirectoryDurable, syncDirectory } from "../lib/sync-directory.js";
import { open, readdir, readFile, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { invariant, JournalInvariantError } from "./invariant.js";
import { decodeSidecar, encodeSidecar, SegmentIndex, type BlockLocation } from "./segment-index.js";
import { parseSegmentFileName, segmentFileName, sidecarFileName } from "./segment-name.js";
import { scanSegment } from "./segment-scan.js";

/** The file the writer appends to. Injectable so tests can fail writes and syncs (lesson 11). */
export interface AppendFile {
  write(buffers: readonly Buffer[]): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}
export type OpenAppendFile = (path: string) => Promise<AppendFile>;

/** The write probe's file: not a segment name, so recovery ignores one a crash left behind. */
const WRITE_PROBE_FILE = "write-probe.tmp";
/** One page: a file system with less room than that cannot take a group either. */
const WRITE_PROBE_BYTES = 4096;

export const openAppendFileOnDisk: OpenAppendFile = async (path) => {
  // The mode only matters when the file is new (a segment is created before it is appended to).
  const handle = await open(path, "a", PRIVATE_FILE_MODE);
  return {
    async write(buffers) {
      const expected = buffers.reduce((sum, buffer) => sum + buffer.length, 0);
      const { bytesWritten } = await handle.writev(buffers);
      if (bytesWritten !== expected) throw new Error(`Short write: ${bytesWritten} of ${expected} bytes.`);
    },
    sync: () => handle.datasync(),
    close: () => handle.close(),
  };
};

/**
 * The segment files of one journal directory: recovery on open, the active segment's appends,
 * rolling, read handles and retention. Seqs are dense across segments; only the last is written.
 */
export class SegmentStore {
  private readonly readHandles = new Map<number, Promise<FileHandle>>();

  private constructor(
    private readonly directory: string,
    private readonly openAppendFile: OpenAppendFile,
    readonly segments: SegmentIndex[],
    private active: AppendFile,
  ) {}

  static async open(directory: string, openAppendFile: OpenAppendFile): Promise<SegmentStore> {
    await makeDirectoryDurable(directory);
    const names = await readdir(directory);
    for (const name of names) if (name.endsWith(".tmp")) await rm(join(directory, name), { force: true });
    const firstSeqs = names.map(parseSegmentFileName).filter((seq): seq is number => seq !== null);
    firstSeqs.sort((a, b) => a - b);
    const segments: SegmentIndex[] = [];
    for (const [i, firstSeq] of firstSeqs.entries()) {
      const isLast = i === firstSeqs.length - 1;
      const segment = isLast ? await recoverActive(directory, firstSeq) : await loadSealed(directory, firstSeq);
      const previous = segments.at(-1);
      if (previous !== undefined && previous.nextSeq !== segment.firstSeq) {
        throw new JournalInvariantError(`Seq gap between segments ${previous.firstSeq} and ${segment.firstSeq}.`);
      }
      segments.push(segment);
    }
    if (segments.length === 0) segments.push(await createSegment(directory, 1));
    const active = await openAppendFile(segments.at(-1)!.path);
    return new SegmentStore(directory, openAppendFile, segments, active);
  }

  get activeSegment(): SegmentIndex {
    return this.segments.at(-1)!;
  }

  /** Highest durable seq, 0 when empty. */
  headSeq(): number {
    return this.activeSegment.nextSeq - 1;
  }

  firstSeq(): number {
    return this.segments[0]!.firstSeq;
  }

  /** Writes one group and syncs it; the blocks become readable only once durable. */
  async appendGroup(buffers: readonly Buffer[], blocks: readonly BlockLocation[]): Promise<void> {
    await this.active.write(buffers);
    await this.active.sync();
    for (const block of blocks) this.activeSegment.push(block);
  }

  /**
   * After a failed write or sync: cuts the active segment back to the end of its last durable group
   * (the in-memory index only advances after a successful sync), makes the cut durable and reopens
   * the append handle. Throws while the storage is still failing.
   */
  /**
   * Writes, fsyncs and removes a small file beside the segments: the disk takes writes now. A full
   * or read-only file system rejects it before an append finds out.
   */
  async probeWrite(): Promise<void> {
    const path = join(this.directory, WRITE_PROBE_FILE);
    const handle = await open(path, "w", PRIVATE_FILE_MODE);
    try {
      await handle.write(Buffer.alloc(WRITE_PROBE_BYTES));
      await handle.sync();
    } finally {
      await handle.close();
      await rm(path, { force: true });
    }
  }

  async reopenActive(): Promise<void> {
    await this.active.close().catch(() => undefined);
    const segment = this.activeSegment;
    const handle = await open(segment.path, "a+");
    try {
      if ((await handle.stat()).size > segment.sizeBytes) await handle.truncate(segment.sizeBytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await syncDirectory(this.directory);
    this.active = await this.openAppendFile(segment.path);
  }

  /** Seals the active segment (sidecar index) and starts a new one at the next seq. */
  async roll(): Promise<void> {
    const sealed = this.activeSegment;
    invariant(sealed.blocks.length > 0, "Refusing to seal an empty segment.");
    await writeSidecar(this.directory, sealed);
    await this.active.close();
    const next = await createSegment(this.directory, sealed.nextSeq);
    this.segments.push(next);
    this.active = await this.openAppendFile(next.path);
  }

  findSegment(seq: number): SegmentIndex | undefined {
    let low = 0;
    let high = this.segments.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const segment = this.segments[mid]!;
      if (seq < segment.firstSeq) high = mid - 1;
      else if (seq >= segment.nextSeq) low = mid + 1;
      else return segment;
    }
    return undefined;
  }

  readHandle(segment: SegmentIndex): Promise<FileHandle> {
    let handle = this.readHandles.get(segment.firstSeq);
    if (handle === undefined) {
      handle = open(segment.path, "r");
      this.readHandles.set(segment.firstSeq, handle);
      handle.catch(() => this.readHandles.delete(segment.firstSeq));
    }
    return handle;
  }

  /** Retention: removes the oldest segment (never the active one). */
  async deleteOldest(): Promise<SegmentIndex> {
    invariant(this.segments.length > 1, "Refusing to delete the active segment.");
    const segment = this.segments.shift()!;
    const handle = this.readHandles.get(segment.firstSeq);
    this.readHandles.delete(segment.firstSeq);
    await rm(segment.path, { force: true });
    await rm(join(this.directory, sidecarFileName(segment.firstSeq)), { force: true });
    await syncDirectory(this.directory);
    if (handle !== undefined) await (await handle).close();
    return segment;
  }

  async close(): Promise<void> {
    await this.active.close();
    for (const handle of this.readHandles.values()) await (await handle).close();
    this.readHandles.clear();
  }
}

async function createSegment(directory: string, firstSeq: number): Promise<SegmentIndex> {
  const path = join(directory, segmentFileName(firstSeq));
  await (await open(path, "a", PRIVATE_FILE_MODE)).close();
  await syncDirectory(directory);
  return new SegmentIndex(firstSeq, path);
}

/** Sealed segments were fully synced before the next was created, so any damage is corruption. */
async function loadSealed(directory: string, firstSeq: number): Promise<SegmentIndex> {
  const path = join(directory, segmentFileName(firstSeq));
  const handle = await open(path, "r");
  try {
    const fileBytes = (await handle.stat()).size;
    const sidecar = await readFile(join(directory, sidecarFileName(firstSeq))).catch(() => null);
    const fromSidecar = sidecar === null ? null : decodeSidecar(sidecar, firstSeq, path);
    if (fromSidecar !== null && fromSidecar.sizeBytes === fileBytes) return fromSidecar;
    const scan = await scanSegment(handle, firstSeq, path);
    if (scan.index.sizeBytes !== scan.fileBytes || scan.index.blocks.length === 0) {
      throw new JournalInvariantError(`Sealed segment ${path} is damaged at byte ${scan.index.sizeBytes}.`);
    }
    await writeSidecar(directory, scan.index);
    return scan.index;
  } finally {
    await handle.close();
  }
}

/** The active segment may end in a torn group: cut it off and make the cut durable. */
async function recoverActive(directory: string, firstSeq: number): Promise<SegmentIndex> {
  const path = join(directory, segmentFileName(firstSeq));
  const handle = await open(path, "r+");
  try {
    const scan = await scanSegment(handle, firstSeq, path);
    if (scan.fileBytes > scan.index.sizeBytes) {
      await handle.truncate(scan.index.sizeBytes);
      await handle.sync();
    }
    return scan.index;
  } finally {
    await handle.close();
  }
}

function writeSidecar(directory: string, index: SegmentIndex): Promise<void> {
  return writeFileAtomic(join(directory, sidecarFileName(index.firstSeq)), encodeSidecar(index));
}
