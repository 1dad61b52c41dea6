import { CommanderError, InvalidArgumentError } from "commander";
import { SettingsError } from "../config/settings.js";
import { UsageError } from "./usage-error.js";
import { buildProgram, type CommandOutcome } from "./program.js";

/**
 * Exit codes: 0 success; 1 failure (server unreachable or refusing, a file that failed to ingest,
 * duplicate access key…); 2 usage or configuration error (bad flag, bad CAIRN_* value).
 */
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

async function main(argv: readonly string[]): Promise<number> {
  const outcome: CommandOutcome = { exitCode: 0 };
  const program = buildProgram(outcome);
  try {
    await program.parseAsync([...argv]);
    return outcome.exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message (and help, for usage errors).
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    process.stderr.write(`Error: ${describeError(error)}\n`);
    const usage =
      error instanceof SettingsError || error instanceof UsageError || error instanceof InvalidArgumentError;
    return usage ? EXIT_USAGE : EXIT_FAILURE;
  }
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // SDK service errors carry the AWS error name (ThrottlingException…), which is the useful part.
  const named = !error.name.endsWith("Error") && !error.message.startsWith(error.name) ? `${error.name}: ` : "";
  const code = (error as { code?: unknown }).code;
  const hint = code === "ECONNREFUSED" ? " (is `cairn server` running at that address?)" : "";
  return `${named}${error.message}${hint}`;
}

const exitCode = await main(process.argv);
// The server keeps running on its own handles. Every other command is done: exit once stdout has
// drained, rather than wait for idle keep-alive sockets (fetch, the SDK) to time out.
if (exitCode !== 0 || process.argv[2] !== "server") process.stdout.write("", () => process.exit(exitCode));
