import { readdir, readFile, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseRuleFile, RULE_FILE_BYTES_MAX } from "./parse-rules.js";
import type { RuleLoadError, SigmaRule } from "./sigma-rule.js";

export interface LoadedRules {
  readonly rules: SigmaRule[];
  /** Refused rule documents, and files that could not be read (document -1). */
  readonly errors: RuleLoadError[];
}

function isRuleFileName(name: string): boolean {
  return name.endsWith(".yml") || name.endsWith(".yaml");
}

async function walk(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else if (entry.isFile() && isRuleFileName(entry.name)) files.push(path);
  }
  return files;
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : "unreadable";
}

/**
 * Loads Sigma rules from files and directories (walked recursively, `.yml`/`.yaml`, sorted). A
 * file that cannot be read or parsed, and every refused rule, is an error; the rest load.
 *
 * @example const { rules, errors } = await loadRuleFiles(["../sigma/rules/cloud/aws"]);
 */
export async function loadRuleFiles(paths: readonly string[]): Promise<LoadedRules> {
  const rules: SigmaRule[] = [];
  const errors: RuleLoadError[] = [];
  for (const given of paths) {
    // A path that cannot be stat'ed is read as a file, so that the error names it.
    const isDirectory = (await stat(resolve(given)).catch(() => undefined))?.isDirectory() === true;
    const files = isDirectory ? await walk(given) : [given];
    for (const file of files) {
      try {
        const size = (await stat(file)).size;
        if (size > RULE_FILE_BYTES_MAX)
          throw Object.assign(new Error("too large"), { code: `larger than ${RULE_FILE_BYTES_MAX} bytes` });
        const parsed = parseRuleFile(file, await readFile(file, "utf8"));
        rules.push(...parsed.rules);
        errors.push(...parsed.errors);
      } catch (error) {
        errors.push({ source: { file, document: -1 }, reason: `the file cannot be read (${codeOf(error)})` });
      }
    }
  }
  return { rules, errors };
}
