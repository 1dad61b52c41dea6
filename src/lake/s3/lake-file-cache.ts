/**
 * Cluster mode's bounded read-through cache of the Lake's Parquet files (decision 0015). DuckDB reads
 * only local files, so a node keeps copies of the committed objects of the lake bucket under its own
 * `<data-dir>/lake/` with the keys' layout (`<lakeDir>/<eds-id>/eventdate=…/<name>.parquet`). A file
 * is fetched when a reader pins it and is missing, to a temp name then renamed, so no reader ever
 * opens a partial copy; several readers asking for one missing file share one download. The files
 * least recently used are removed while the cache holds more than `maxBytes`, never one that is
 * pinned. Only committed files enter the cache, and a file is committed only after its upload, so
 * every evicted file can be fetched again: wiping the directory loses nothing.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { PRIVATE_FILE_MODE } from "../../lib/file-modes.js";
import type { LocalFiles } from "../engine/local-files.js";

/** `<eds-id>/eventdate=YYYY-MM-DD/<name>.parquet`: the only keys the lake bucket holds Parquet under. */
const PARQUET_KEY = /^[A-Za-z0-9_-]+\/eventdate=\d{4}-\d\d-\d\d\/[A-Za-z0-9_.-]+\.parquet$/;

export function isParquetKey(key: string): boolean {
  return PARQUET_KEY.test(key);
}

export interface LakeFileCacheOptions {
  readonly lakeDir: string;
  readonly maxBytes: number;
  /** The object's bytes, undefined when the bucket has no such key. */
  readonly fetch: (key: string) => Promise<Buffer | undefined>;
  /** The object's size without fetching it (compaction planning), undefined when absent. */
  readonly remoteSize: (key: string) => Promise<number | undefined>;
  /** Downloads at once; the others wait. */
  readonly concurrency?: number;
}

export interface CacheStats {
  bytes: number;
  files: number;
  hits: number;
  downloads: number;
  bytesDownloaded: number;
  evictions: number;
}

export class LakeFileCache implements LocalFiles {
  /** Present files by path; the Map's order is the order of last use, least recent first. */
  private readonly present = new Map<string, number>();
  private readonly pins = new Map<string, number>();
  private readonly downloads = new Map<string, Promise<void>>();
  private readonly removals = new Map<string, Promise<void>>();
  private readonly waiting: Array<() => void> = [];
  private active = 0;
  private readonly counters = { hits: 0, downloads: 0, bytesDownloaded: 0, evictions: 0 };
  private bytes = 0;

  constructor(private readonly options: LakeFileCacheOptions) {}

  get stats(): CacheStats {
    return { ...this.counters, bytes: this.bytes, files: this.present.size };
  }

  /** The bucket key of a local path under the lake directory. */
  keyOf(path: string): string {
    const key = relative(this.options.lakeDir, path).split(sep).join("/");
    if (!isParquetKey(key)) throw new Error(`${key} is not a Lake Parquet key.`);
    return key;
  }

  pathOf(key: string): string {
    if (!isParquetKey(key)) throw new Error(`${key} is not a Lake Parquet key.`);
    return join(this.options.lakeDir, ...key.split("/"));
  }

  /** Counts the committed files already on disk (a restart), oldest first, and evicts down to the bound. */
  async adoptDirectory(committed: ReadonlySet<string>): Promise<void> {
    const names = await readdir(this.options.lakeDir, { recursive: true }).catch(() => [] as string[]);
    const found: Array<{ path: string; size: number; mtimeMs: number }> = [];
    for (const name of names.map(String)) {
      const path = join(this.options.lakeDir, name);
      if (!committed.has(path)) continue;
      const facts = await stat(path).catch(() => undefined);
      if (facts?.isFile() === true) found.push({ path, size: facts.size, mtimeMs: facts.mtimeMs });
    }
    for (const file of found.sort((a, b) => a.mtimeMs - b.mtimeMs)) this.note(file.path, file.size);
    this.evict();
  }

  /** A file this node wrote, uploaded and committed: cached from now on. */
  adopt(path: string, size: number): void {
    this.note(path, size);
    this.evict();
  }

  async pin(paths: readonly string[]): Promise<{ release(): void }> {
    const unique = [...new Set(paths)];
    for (const path of unique) this.pins.set(path, (this.pins.get(path) ?? 0) + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      for (const path of unique) {
        const left = (this.pins.get(path) ?? 1) - 1;
        if (left > 0) this.pins.set(path, left);
        else this.pins.delete(path);
      }
      this.evict();
    };
    try {
      await Promise.all(unique.map((path) => this.ensure(path)));
    } catch (error) {
      release();
      throw error;
    }
    return { release };
  }

  async sizeOf(path: string): Promise<number | undefined> {
    const known = this.present.get(path);
    if (known !== undefined) return known;
    const local = await stat(path).catch(() => undefined);
    if (local?.isFile() === true) return local.size;
    return this.options.remoteSize(this.keyOf(path));
  }

  async remove(path: string): Promise<void> {
    this.forget(path);
    await this.removeFile(path);
  }

  private note(path: string, size: number): void {
    const before = this.present.get(path);
    if (before !== undefined) this.bytes -= before;
    this.present.delete(path);
    this.present.set(path, size);
    this.bytes += size;
  }

  private forget(path: string): void {
    const size = this.present.get(path);
    if (size === undefined) return;
    this.present.delete(path);
    this.bytes -= size;
  }

  /** The file present at `path`: touched when cached, adopted when on disk, else downloaded once. */
  private async ensure(path: string): Promise<void> {
    await this.removals.get(path);
    const size = this.present.get(path);
    if (size !== undefined) {
      this.counters.hits++;
      this.note(path, size);
      return;
    }
    const running = this.downloads.get(path);
    if (running !== undefined) return running;
    const download = this.download(path).finally(() => this.downloads.delete(path));
    this.downloads.set(path, download);
    return download;
  }

  private async download(path: string): Promise<void> {
    await this.slot();
    const temp = join(this.options.lakeDir, "tmp", `cache-${randomBytes(8).toString("hex")}.parquet`);
    try {
      // Written by this node before (a restart) or adopted since: no download needed.
      const local = await stat(path).catch(() => undefined);
      if (local?.isFile() === true) {
        this.counters.hits++;
        this.note(path, local.size);
        return;
      }
      const body = await this.options.fetch(this.keyOf(path));
      if (body === undefined) throw new Error(`The Lake file ${this.keyOf(path)} is missing from the lake bucket.`);
      await mkdir(dirname(temp), { recursive: true, mode: 0o700 });
      await writeFile(temp, body, { mode: PRIVATE_FILE_MODE });
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await rename(temp, path);
      this.counters.downloads++;
      this.counters.bytesDownloaded += body.length;
      this.note(path, body.length);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    } finally {
      this.releaseSlot();
    }
    this.evict();
  }

  /** Removes the least recently used unpinned files while the cache is over its bound. */
  private evict(): void {
    if (this.bytes <= this.options.maxBytes) return;
    for (const [path, size] of this.present) {
      if (this.bytes <= this.options.maxBytes) break;
      if ((this.pins.get(path) ?? 0) > 0 || this.downloads.has(path)) continue;
      this.present.delete(path);
      this.bytes -= size;
      this.counters.evictions++;
      void this.removeFile(path);
    }
  }

  /** A later ensure() of the same path waits for this removal, so it never deletes a fresh copy. */
  private removeFile(path: string): Promise<void> {
    const removal = rm(path, { force: true })
      .catch(() => undefined)
      .finally(() => {
        if (this.removals.get(path) === removal) this.removals.delete(path);
      });
    this.removals.set(path, removal);
    return removal;
  }

  private async slot(): Promise<void> {
    if (this.active < (this.options.concurrency ?? 4)) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  private releaseSlot(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.active--;
  }
}
