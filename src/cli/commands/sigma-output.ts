import type { RuleLoadError, SigmaMatch } from "../../sigma/index.js";
import type { Output } from "../output.js";

/** One match as `sigma test` and `sigma run` print it: a JSON line, or a line of text. */
export function formatMatch(match: SigmaMatch, json: boolean): string {
  if (json) {
    const { ruleId, title, level, eventID, eventTime, events, groupBy } = match;
    return (
      JSON.stringify({
        ruleId,
        title,
        level,
        eventID,
        eventTime,
        ...(match.kind === "correlation" ? { correlation: true, events, groupBy } : {}),
      }) + "\n"
    );
  }
  const group =
    match.groupBy !== undefined
      ? ` [${Object.entries(match.groupBy)
          .map(([field, value]) => `${field}=${value}`)
          .join(", ")}]`
      : "";
  const counted = match.kind === "correlation" ? ` (correlation over ${match.events?.length ?? 0} events${group})` : "";
  return `${match.eventTime}  ${match.level.padEnd(8)} ${match.title}  ${match.eventID}${counted}  ${match.ruleId}\n`;
}

/** Refused rules and unreadable files, on stderr: `file[#document]: reason`. */
export function writeLoadErrors(errors: readonly RuleLoadError[], json: boolean, stderr: Output): void {
  for (const error of errors) {
    const where = error.source.document >= 0 ? `${error.source.file}#${error.source.document}` : error.source.file;
    stderr.write(
      json
        ? JSON.stringify({
            file: error.source.file,
            document: error.source.document,
            id: error.id,
            error: error.reason,
          }) + "\n"
        : error.source.document < 0
          ? `${where}: ${error.reason}\n`
          : `${where}: ${error.title !== undefined ? `'${error.title}' ` : ""}refused: ${error.reason}\n`,
    );
  }
}
