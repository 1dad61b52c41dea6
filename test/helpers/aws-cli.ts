import { execFile, spawnSync } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** The AWS CLI comes with the machine image, not from a registry: tests that need it skip loudly without it. */
export function awsCliMissingReason(): string | false {
  const probe = spawnSync("aws", ["--version"], { encoding: "utf8" });
  if (probe.error || probe.status !== 0) {
    const reason =
      "SKIPPED LOUDLY: the AWS CLI (`aws`) is not installed on this machine; these tests need the real client.";
    process.stderr.write(`\n*** ${reason} ***\n\n`);
    return reason;
  }
  return false;
}

export interface AwsCliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and returns its exit code and output, failing or not. */
export async function runCommand(file: string, args: string[], env: Record<string, string>): Promise<AwsCliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(file, args, { env, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failure.code === "number" ? failure.code : 1,
      stdout: failure.stdout ?? "",
      stderr: failure.stderr ?? "",
    };
  }
}

/** Runs the real AWS CLI with the credentials/config files the server wrote into its data dir. */
export function runAws(dataDir: string, args: string[], env: Record<string, string> = {}): Promise<AwsCliResult> {
  return runCommand("aws", args, {
    PATH: process.env["PATH"] ?? "",
    HOME: process.env["HOME"] ?? "/tmp",
    AWS_SHARED_CREDENTIALS_FILE: join(dataDir, "credentials"),
    AWS_CONFIG_FILE: join(dataDir, "config"),
    ...env,
  });
}
