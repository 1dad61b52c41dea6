import { relative } from "node:path";
import cliProgress from "cli-progress";
import type { ClientSettings } from "../../client/client-settings.js";
import {
  DEFAULT_RETRY_POLICY,
  INGEST_BATCH_BYTES_MAX,
  INGEST_BATCH_RECORDS_MAX,
  sendIngestBatch,
  splitIntoBatches,
  type IngestFailure,
  type RetryPolicy,
} from "../../client/ingest-client.js";
import type { FetchFunction } from "../../client/signed-fetch.js";
import { listTrailFiles, readTrailFile, type TrailFileCandidate } from "../../client/trail-files.js";
import type { Output } from "../output.js";

/** How many of a file's rejected records the summary spells out. */
const FAILURES_SHOWN_MAX = 5;

export interface IngestOptions {
  /** Files and directories, as given on the command line. */
  readonly paths: readonly string[];
  readonly client: ClientSettings;
  readonly stdout: Output;
  readonly stderr: Output;
  /** Draw a progress bar on stderr. The CLI turns it on when stderr is a terminal. */
  readonly progress?: boolean;
  readonly retry?: RetryPolicy;
  readonly fetchFunction?: FetchFunction;
  readonly batchRecordsMax?: number;
  readonly batchBytesMax?: number;
}

interface IngestFileReport {
  readonly path: string;
  /** `skipped`: a file found by a directory walk that is not a Records file (a digest, an index…). */
  readonly status: "ingested" | "skipped" | "failed";
  readonly records: number;
  /** Counts duplicates too: a record already stored is accepted, and not stored twice. */
  readonly accepted: number;
  readonly duplicates: number;
  /** Rejected records, with `index` counted from the start of the file. */
  readonly failed: IngestFailure[];
  readonly problem?: string;
}

export interface IngestReport {
  readonly files: IngestFileReport[];
  /** 1 when a file could not be read or parsed, or the server could not be reached; else 0. */
  readonly exitCode: 0 | 1;
}

/**
 * `cairn ingest FILE…`: reads trail log files and sends their records to the server's `/ingest`,
 * printing one summary per file. A bad file is reported and the others still go; losing the server
 * (after retries) or being refused (401/403) stops the run.
 *
 * @example
 * const report = await runIngest({ paths: ["./AWSLogs"], client, stdout: process.stdout, stderr: process.stderr });
 */
export async function runIngest(options: IngestOptions): Promise<IngestReport> {
  const candidates = await listTrailFiles(options.paths);
  const retry: RetryPolicy = {
    onRetry: (reason, delayMs) => options.stderr.write(`Retrying in ${delayMs} ms (${reason}).\n`),
    ...(options.retry ?? DEFAULT_RETRY_POLICY),
  };
  const bar = options.progress ? startProgress(options.stderr, candidates.length) : undefined;
  const files: IngestFileReport[] = [];
  const summaries: string[] = [];
  let aborted: string | undefined;
  for (const candidate of candidates) {
    try {
      const report = await ingestFile(candidate, { ...options, retry }, (records) => bar?.recordsSent(records));
      files.push(report);
      summaries.push(formatFileSummary(report));
    } catch (error) {
      aborted = error instanceof Error ? error.message : String(error);
      break;
    }
    bar?.fileDone();
    // Without a bar the summaries stream as files finish; with one they wait so as not to tear it.
    if (!bar) options.stdout.write(summaries.pop() ?? "");
  }
  bar?.stop();
  for (const summary of summaries) options.stdout.write(summary);
  options.stdout.write(formatTotals(files));
  if (aborted !== undefined) options.stderr.write(`Error: ${aborted}\n`);
  const fileFailed = files.some((file) => file.status === "failed");
  return { files, exitCode: fileFailed || aborted !== undefined ? 1 : 0 };
}

async function ingestFile(
  candidate: TrailFileCandidate,
  options: IngestOptions,
  onRecordsSent: (records: number) => void,
): Promise<IngestFileReport> {
  const path = displayPath(candidate.path);
  const content = await readTrailFile(candidate.path);
  if (!content.ok) {
    const skipped = content.problem === "not-records" && !candidate.explicit;
    const problem = content.problem === "malformed-json" ? `malformed JSON: ${content.message}` : content.message;
    return {
      path,
      status: skipped ? "skipped" : "failed",
      records: 0,
      accepted: 0,
      duplicates: 0,
      failed: [],
      problem,
    };
  }
  const batches = splitIntoBatches(
    content.records,
    options.batchRecordsMax ?? INGEST_BATCH_RECORDS_MAX,
    options.batchBytesMax ?? INGEST_BATCH_BYTES_MAX,
  );
  let accepted = 0;
  let duplicates = 0;
  const failed: IngestFailure[] = [];
  for (const batch of batches) {
    const answer = await sendIngestBatch(
      options.client,
      batch,
      options.retry ?? DEFAULT_RETRY_POLICY,
      options.fetchFunction,
    );
    accepted += answer.accepted;
    duplicates += answer.duplicates;
    for (const failure of answer.failed) failed.push({ ...failure, index: failure.index + batch.startIndex });
    onRecordsSent(batch.recordCount);
  }
  return { path, status: "ingested", records: content.records.length, accepted, duplicates, failed };
}

interface Progress {
  recordsSent(records: number): void;
  fileDone(): void;
  stop(): void;
}

function startProgress(stream: Output, files: number): Progress {
  const bar = new cliProgress.SingleBar(
    {
      stream: stream as NodeJS.WritableStream,
      format: "Ingesting {bar} {value}/{total} files | {records} records sent",
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let records = 0;
  let done = 0;
  bar.start(files, 0, { records });
  return {
    recordsSent(sent) {
      records += sent;
      bar.update(done, { records });
    },
    fileDone() {
      done += 1;
      bar.update(done, { records });
    },
    stop() {
      bar.stop();
    },
  };
}

function formatFileSummary(report: IngestFileReport): string {
  if (report.status !== "ingested") {
    return `${report.status === "failed" ? "FAILED " : "skipped"} ${report.path}: ${report.problem ?? ""}\n`;
  }
  const lines = [
    `ingested ${report.path}: ${report.records} records: ${report.accepted} accepted ` +
      `(${report.duplicates} already stored), ${report.failed.length} failed`,
  ];
  for (const failure of report.failed.slice(0, FAILURES_SHOWN_MAX)) {
    lines.push(`  record ${failure.index}: ${failure.errorCode}: ${failure.message}`);
  }
  if (report.failed.length > FAILURES_SHOWN_MAX) {
    lines.push(`  … and ${report.failed.length - FAILURES_SHOWN_MAX} more failed records`);
  }
  return lines.join("\n") + "\n";
}

function formatTotals(files: readonly IngestFileReport[]): string {
  const sum = (pick: (file: IngestFileReport) => number) => files.reduce((total, file) => total + pick(file), 0);
  const failedFiles = files.filter((file) => file.status === "failed").length;
  const skippedFiles = files.filter((file) => file.status === "skipped").length;
  return (
    `Total: ${files.length} files (${failedFiles} failed, ${skippedFiles} skipped), ${sum((f) => f.records)} records: ` +
    `${sum((f) => f.accepted)} accepted (${sum((f) => f.duplicates)} already stored), ${sum((f) => f.failed.length)} failed.\n`
  );
}

function displayPath(path: string): string {
  const fromHere = relative(process.cwd(), path);
  return fromHere.startsWith("..") ? path : fromHere;
}
