import { readFile, stat } from "node:fs/promises";
import Table from "cli-table3";
import type { ClientSettings } from "../../client/client-settings.js";
import { signedFetch, type FetchFunction, type SignedRequest } from "../../client/signed-fetch.js";
import { systemClock } from "../../lib/clock.js";
import type { Output } from "../output.js";
import { parseTimeArgument } from "../time-argument.js";

/** The API refuses larger rule files; read no more than this of a file to say so. */
const RULE_FILE_BYTES_MAX = 65_536;
const PAGE_SIZE = 1000;

interface SigmaClientOptions {
  readonly client: ClientSettings;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly fetchFunction?: FetchFunction;
}

/** A rule as `GET /sigma/rules` lists it. */
interface RuleAnswer {
  readonly id: string;
  readonly title: string;
  readonly level: string;
  readonly addedBy: string;
  readonly addedAt: string;
}

/** The server refused the call: its status, `__type` and message. */
class SigmaCallError extends Error {
  override readonly name = "SigmaCallError";
}

async function call(options: SigmaClientOptions, request: SignedRequest): Promise<Record<string, unknown>> {
  const response = await signedFetch(options.client, request, options.fetchFunction);
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok)
    throw new SigmaCallError(
      `${request.method} ${request.path} answered ${response.status}: ${String(body["__type"] ?? "")} ${String(body["message"] ?? "")}`.trim(),
    );
  return body;
}

/**
 * `cairn sigma add RULE_FILE…`: adds each rule file to the caller's account through `PUT /sigma/rules`
 * (a rule of the same id is replaced). A file the server refuses is reported with the engine's
 * reason; the others are added. Returns the exit code: 1 when any file was refused.
 */
export async function runSigmaAdd(
  options: SigmaClientOptions & { readonly files: readonly string[] },
): Promise<number> {
  let failed = 0;
  for (const file of options.files) {
    try {
      if ((await stat(file)).size > RULE_FILE_BYTES_MAX)
        throw new Error(`larger than ${RULE_FILE_BYTES_MAX} bytes (the API's limit)`);
      const body = await call(options, {
        method: "PUT",
        path: "/sigma/rules",
        headers: { "content-type": "application/yaml" },
        body: await readFile(file),
      });
      options.stdout.write(
        `${body["created"] === true ? "Added" : "Replaced"} ${String(body["id"])}  ${String(body["title"])}\n`,
      );
    } catch (error) {
      failed++;
      const code = (error as { code?: unknown }).code;
      const reason = typeof code === "string" ? `cannot be read (${code})` : (error as Error).message;
      options.stderr.write(`${file}: ${reason}\n`);
    }
  }
  return failed > 0 ? 1 : 0;
}

/** `cairn sigma list [--json]`: the caller's account's rules. */
export async function runSigmaList(options: SigmaClientOptions & { readonly json?: boolean }): Promise<RuleAnswer[]> {
  const rules = (await call(options, { method: "GET", path: "/sigma/rules" }))["rules"] as RuleAnswer[];
  if (options.json === true) options.stdout.write(rules.map((rule) => JSON.stringify(rule) + "\n").join(""));
  else if (rules.length === 0) options.stdout.write("Your account has no Sigma rules.\n");
  else {
    const table = new Table({
      head: ["Id", "Title", "Level", "Added by", "Added at"],
      style: { head: [], border: [] },
    });
    for (const rule of rules) table.push([rule.id, rule.title, rule.level, rule.addedBy, rule.addedAt].map(printable));
    options.stdout.write(table.toString() + "\n");
  }
  return rules;
}

/** `cairn sigma remove ID`: deletes one of the caller's account's rules. */
export async function runSigmaRemove(options: SigmaClientOptions & { readonly id: string }): Promise<void> {
  await call(options, { method: "DELETE", path: "/sigma/rules", query: { id: options.id } });
  options.stdout.write(`Removed ${options.id}\n`);
}

export interface SigmaMatchesOptions extends SigmaClientOptions {
  readonly ruleId?: string;
  readonly startTime?: string;
  readonly endTime?: string;
  readonly json?: boolean;
  readonly nowMs?: number;
}

/**
 * `cairn sigma matches [--rule ID] [--start-time T] [--end-time T] [--json]`: the live matches of
 * the caller's account, oldest first (every page); with `--json`, one object per line.
 */
export async function runSigmaMatches(options: SigmaMatchesOptions): Promise<Record<string, unknown>[]> {
  const nowMs = options.nowMs ?? systemClock.nowMs();
  const seconds = (text: string) => String(parseTimeArgument(text, nowMs).getTime() / 1000);
  const query: Record<string, string> = {
    maxResults: String(PAGE_SIZE),
    ...(options.ruleId !== undefined ? { ruleId: options.ruleId } : {}),
    ...(options.startTime !== undefined ? { startTime: seconds(options.startTime) } : {}),
    ...(options.endTime !== undefined ? { endTime: seconds(options.endTime) } : {}),
  };
  const matches: Record<string, unknown>[] = [];
  let nextToken: string | undefined;
  do {
    const body = await call(options, {
      method: "GET",
      path: "/sigma/matches",
      query: { ...query, ...(nextToken !== undefined ? { nextToken } : {}) },
    });
    const page = body["matches"] as Record<string, unknown>[];
    matches.push(...page);
    if (options.json === true) options.stdout.write(page.map((match) => JSON.stringify(match) + "\n").join(""));
    nextToken = typeof body["nextToken"] === "string" ? body["nextToken"] : undefined;
  } while (nextToken !== undefined);
  if (options.json !== true) options.stdout.write(matchesText(matches));
  return matches;
}

function matchesText(matches: readonly Record<string, unknown>[]): string {
  if (matches.length === 0) return "No Sigma matches.\n";
  return matches
    .map((match) => {
      const count = (match["eventIDs"] as unknown[]).length;
      const events = match["kind"] === "correlation" ? ` (correlation over ${count} events)` : "";
      return printable(
        `${String(match["eventTime"])}  ${String(match["level"]).padEnd(8)} ${String(match["title"])}  ${String(match["eventID"])}${events}  ${String(match["ruleId"])}`,
      );
    })
    .map((line) => line + "\n")
    .join("");
}

/** Control characters (a terminal's escape sequences among them) may come from records: shown escaped. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
