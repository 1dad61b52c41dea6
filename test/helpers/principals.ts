import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { CLI } from "./server-process.js";
import { backendEnvOf } from "./test-backend.js";

const execFileAsync = promisify(execFile);

const ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess";

/**
 * Adds a principal through the real CLI (`cairn principal add --json`), as a user would. Unless told
 * otherwise it may do anything (AdministratorAccess): tests of other behaviour act as a fully
 * permitted caller; the permission tests give their principals exactly the policies they test.
 */
export async function addPrincipal(
  dataDir: string,
  options: { name: string; accountId?: string; type?: string; policyArns?: string[]; policyFiles?: string[] },
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const args = [CLI, "principal", "add", "--name", options.name, "--data-dir", dataDir, "--json"];
  if (options.accountId) args.push("--account-id", options.accountId);
  if (options.type) args.push("--type", options.type);
  const policyArns = options.policyArns ?? (options.type === "Root" ? [] : [ADMINISTRATOR_ACCESS]);
  for (const arn of policyArns) args.push("--policy-arn", arn);
  for (const file of options.policyFiles ?? []) args.push("--policy", file);
  const { stdout } = await execFileAsync(process.execPath, args, { env: { ...process.env, ...backendEnvOf(dataDir) } });
  const parsed = JSON.parse(stdout) as { accessKeyId: string; secretAccessKey: string };
  return { accessKeyId: parsed.accessKeyId, secretAccessKey: parsed.secretAccessKey };
}
