import { readdir, readFile, stat } from "node:fs/promises";
import { join, resolve, sep } from "node:path";
import { gunzip } from "node:zlib";
import { promisify } from "node:util";

const gunzipAsync = promisify(gunzip);

/** A file named on the command line, or found by walking a directory named there. */
export interface TrailFileCandidate {
  readonly path: string;
  /** True when the user named the file itself: then a non-Records file is an error, not a skip. */
  readonly explicit: boolean;
}

/** Why a file yielded no records. `not-records` files found by a directory walk are skipped quietly. */
type TrailFileProblem = "unreadable" | "malformed-json" | "not-records";

export type TrailFileContent =
  | { readonly ok: true; readonly records: unknown[] }
  | { readonly ok: false; readonly problem: TrailFileProblem; readonly message: string };

/** CloudTrail writes digest files beside log files; they are not records, so walks skip them. */
const DIGEST_DIRECTORY = "CloudTrail-Digest";

export function isTrailFileName(name: string): boolean {
  return name.endsWith(".json") || name.endsWith(".json.gz");
}

/**
 * Expands the paths given to `cairn ingest` into files: files are kept as named (in order);
 * directories are walked recursively in sorted order, keeping `.json`/`.json.gz` files outside
 * `CloudTrail-Digest/`. A path named twice is read once.
 *
 * @example
 * await listTrailFiles(["./AWSLogs"]); // [{ path: "/abs/AWSLogs/…/x.json.gz", explicit: false }, …]
 */
export async function listTrailFiles(paths: readonly string[]): Promise<TrailFileCandidate[]> {
  const seen = new Set<string>();
  const files: TrailFileCandidate[] = [];
  const keep = (path: string, explicit: boolean) => {
    if (seen.has(path)) return;
    seen.add(path);
    files.push({ path, explicit });
  };
  for (const given of paths) {
    const path = resolve(given);
    const info = await stat(path).catch(() => undefined);
    if (info?.isDirectory()) {
      for (const found of await walk(path)) keep(found, false);
    } else {
      // A missing file is kept so that reading it reports `unreadable` in the per-file summary.
      keep(path, true);
    }
  }
  return files;
}

async function walk(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const found: string[] = [];
  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== DIGEST_DIRECTORY) found.push(...(await walk(path)));
    } else if (entry.isFile() && isTrailFileName(entry.name) && !path.split(sep).includes(DIGEST_DIRECTORY)) {
      found.push(path);
    }
  }
  return found;
}

/**
 * Reads one trail log file (`{"Records":[…]}`, plain or gzipped). Never throws for a bad file: the
 * caller reports the problem and goes on with the next file.
 */
export async function readTrailFile(path: string): Promise<TrailFileContent> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
    // Sniff the gzip magic number rather than trust the extension: S3 downloads lose or add `.gz`.
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = await gunzipAsync(bytes);
  } catch (error) {
    return { ok: false, problem: "unreadable", message: errorMessage(error) };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch (error) {
    return { ok: false, problem: "malformed-json", message: errorMessage(error) };
  }
  if (typeof parsed !== "object" || parsed === null || !Array.isArray((parsed as { Records?: unknown }).Records)) {
    return { ok: false, problem: "not-records", message: 'not a CloudTrail log file (no top-level "Records" array)' };
  }
  return { ok: true, records: (parsed as { Records: unknown[] }).Records };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
