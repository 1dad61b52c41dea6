import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { CLI } from "./server-process.js";

const execFileAsync = promisify(execFile);

/** Adds a principal through the real CLI (`cairn principal add --json`), as a user would. */
export async function addPrincipal(
  dataDir: string,
  options: { name: string; accountId?: string; type?: string },
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const args = [CLI, "principal", "add", "--name", options.name, "--data-dir", dataDir, "--json"];
  if (options.accountId) args.push("--account-id", options.accountId);
  if (options.type) args.push("--type", options.type);
  const { stdout } = await execFileAsync(process.execPath, args);
  const parsed = JSON.parse(stdout) as { accessKeyId: string; secretAccessKey: string };
  return { accessKeyId: parsed.accessKeyId, secretAccessKey: parsed.secretAccessKey };
}
