import Table from "cli-table3";
import type { ClientSettings } from "../../client/client-settings.js";
import { signedFetch, type FetchFunction } from "../../client/signed-fetch.js";
import type { Output } from "../output.js";

export interface QuarantineListOptions {
  readonly client: ClientSettings;
  /** Only this consumer's records (`event-history`, `lake-writer`, `trail-delivery:<trail ARN>`). */
  readonly consumer?: string;
  /** Stop after this many records; all pages when absent. */
  readonly maxItems?: number;
  /** Print the records as a JSON list instead of a table. */
  readonly json?: boolean;
  readonly stdout: Output;
  readonly fetchFunction?: FetchFunction;
}

/** One record as `GET /quarantine` lists it. */
export interface QuarantinedRecordAnswer {
  readonly consumer: string;
  readonly seq: number;
  readonly eventId?: string;
  readonly accountId?: string;
  readonly error: string;
  readonly quarantinedAt: string;
}

/** The server refused the call (credentials, a bad argument, the journal unable to record the call). */
class QuarantineCallError extends Error {
  override readonly name = "QuarantineCallError";
}

const PAGE_SIZE = 1000;

/**
 * `cairn quarantine list`: reads the running server's quarantine through `GET /quarantine` (as
 * `cairn lookup` reads Event history through the API), following `nextToken`, and prints a table or
 * JSON. The server shows the caller's account's records (the home account's root: every account's).
 *
 * @example
 * await runQuarantineList({ client, stdout: process.stdout });
 */
export async function runQuarantineList(options: QuarantineListOptions): Promise<QuarantinedRecordAnswer[]> {
  const records: QuarantinedRecordAnswer[] = [];
  let nextToken: string | undefined;
  do {
    const pageSize = Math.min(PAGE_SIZE, (options.maxItems ?? Infinity) - records.length);
    const response = await signedFetch(
      options.client,
      {
        method: "GET",
        path: "/quarantine",
        query: {
          maxResults: String(pageSize),
          ...(options.consumer !== undefined ? { consumer: options.consumer } : {}),
          ...(nextToken !== undefined ? { nextToken } : {}),
        },
      },
      options.fetchFunction,
    );
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (!response.ok)
      throw new QuarantineCallError(
        `GET /quarantine answered ${response.status}: ${String(body["__type"] ?? "")} ${String(body["message"] ?? "")}`.trim(),
      );
    records.push(...(body["records"] as QuarantinedRecordAnswer[]));
    nextToken = typeof body["nextToken"] === "string" ? body["nextToken"] : undefined;
  } while (nextToken !== undefined && (options.maxItems === undefined || records.length < options.maxItems));
  options.stdout.write(options.json === true ? JSON.stringify(records, null, 2) + "\n" : quarantineTable(records));
  return records;
}

export interface QuarantineDismissOptions {
  readonly client: ClientSettings;
  /** Only this consumer's records. */
  readonly consumer?: string;
  /** Only the records of this journal seq. */
  readonly seq?: number;
  /** Every record the caller may dismiss; not with consumer or seq. */
  readonly all?: boolean;
  readonly stdout: Output;
  readonly fetchFunction?: FetchFunction;
}

/**
 * `cairn quarantine dismiss`: clears quarantined records an operator has looked at, through
 * `DELETE /quarantine` on the running server (authorised as `cloudtrail:DismissQuarantinedRecords`,
 * recorded as `DismissQuarantinedRecords`). The server dismisses only the caller's account's records
 * (the home account's root: any). Returns how many were dismissed.
 *
 * @example
 * await runQuarantineDismiss({ client, consumer: "lake-writer", seq: 42, stdout: process.stdout });
 */
export async function runQuarantineDismiss(options: QuarantineDismissOptions): Promise<number> {
  const response = await signedFetch(
    options.client,
    {
      method: "DELETE",
      path: "/quarantine",
      query: {
        ...(options.consumer !== undefined ? { consumer: options.consumer } : {}),
        ...(options.seq !== undefined ? { seq: String(options.seq) } : {}),
        ...(options.all === true ? { all: "true" } : {}),
      },
    },
    options.fetchFunction,
  );
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok)
    throw new QuarantineCallError(
      `DELETE /quarantine answered ${response.status}: ${String(body["__type"] ?? "")} ${String(body["message"] ?? "")}`.trim(),
    );
  const dismissed = Number(body["dismissed"]);
  options.stdout.write(`Dismissed ${dismissed} quarantined record${dismissed === 1 ? "" : "s"}.\n`);
  return dismissed;
}

/** The table `cairn quarantine list` prints, in journal order. */
function quarantineTable(records: readonly QuarantinedRecordAnswer[]): string {
  if (records.length === 0) return "No records are quarantined.\n";
  const table = new Table({
    head: ["Consumer", "Seq", "Event ID", "Error", "Quarantined at"],
    style: { head: [], border: [] },
  });
  for (const record of records)
    table.push([
      printable(record.consumer),
      String(record.seq),
      printable(record.eventId ?? ""),
      printable(record.error),
      record.quarantinedAt,
    ]);
  return table.toString() + "\n";
}

/** Control characters (a terminal's escape sequences among them) come from senders' records: shown escaped. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
