import { readFile, stat } from "node:fs/promises";
import { gunzip } from "node:zlib";
import { promisify } from "node:util";
import { listTrailFiles } from "../../client/trail-files.js";
import { inEventTimeOrder, loadRuleFiles, SigmaEngine } from "../../sigma/index.js";
import type { Output } from "../output.js";
import { formatMatch, writeLoadErrors } from "./sigma-output.js";

const gunzipAsync = promisify(gunzip);

export interface SigmaTestOptions {
  readonly rulePaths: readonly string[];
  readonly recordPaths: readonly string[];
  readonly json: boolean;
  readonly stdout: Output;
  readonly stderr: Output;
}

/** A record file: `{"Records":[…]}` (plain or gzip), or JSON lines of records. */
function recordsOfText(text: string): unknown[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && Array.isArray((parsed as { Records?: unknown }).Records))
      return (parsed as { Records: unknown[] }).Records;
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) return [parsed];
    return undefined;
  } catch {
    try {
      return text
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as unknown);
    } catch {
      return undefined;
    }
  }
}

async function readRecords(path: string): Promise<unknown[] | string> {
  try {
    let bytes = await readFile(path);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = await gunzipAsync(bytes);
    return recordsOfText(bytes.toString("utf8")) ?? "neither a CloudTrail log file nor JSON lines of records";
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return `cannot be read (${typeof code === "string" ? code : "unreadable"})`;
  }
}

/** Record files given on the command line: files as named (any extension), directories walked. */
async function recordFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const isDirectory = (await stat(path).catch(() => undefined))?.isDirectory() === true;
    files.push(...(isDirectory ? (await listTrailFiles([path])).map((file) => file.path) : [path]));
  }
  return files;
}

/**
 * `cairn sigma test RULES… --records FILES…`: loads the rules, reads every record, and offers them
 * to a SigmaEngine in eventTime order (records without a readable eventTime last). Prints the
 * matches on stdout, refused rules and unreadable files on stderr. Returns the exit code: 1 when
 * no rule loaded or a records file could not be read.
 *
 * @example await runSigmaTest({ rulePaths: ["rules/"], recordPaths: ["trail/"], json: true, stdout, stderr });
 */
export async function runSigmaTest(options: SigmaTestOptions): Promise<number> {
  const { rules, errors } = await loadRuleFiles(options.rulePaths);
  const engine = new SigmaEngine(rules);
  writeLoadErrors([...errors, ...engine.errors], options.json, options.stderr);
  let failed = engine.ruleCount === 0;
  const records: unknown[] = [];
  for (const file of await recordFiles(options.recordPaths)) {
    const read = await readRecords(file);
    if (typeof read === "string") {
      options.stderr.write(`${file}: ${read}\n`);
      failed = true;
    } else records.push(...read);
  }
  for (const record of inEventTimeOrder(records))
    for (const match of engine.offer(record)) options.stdout.write(formatMatch(match, options.json));
  for (const match of engine.flush()) options.stdout.write(formatMatch(match, options.json));
  return failed ? 1 : 0;
}
