import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { ownChild } from "./owned-children.js";

export const CLI = resolve(import.meta.dirname, "../../../bin/cairn.js");

/** A long-running `cairn …` child process (server, proxy) that announces itself with "listening on <url>". */
export interface CairnProcess {
  readonly url: string;
  readonly child: ChildProcess;
  readonly output: () => string;
  stop(): Promise<void>;
  kill9(): Promise<void>;
}

/** Starts `cairn <args>` and resolves once it prints its URL (30 s at most); rejects with its output otherwise. */
export async function spawnCairn(what: string, args: string[], env: NodeJS.ProcessEnv): Promise<CairnProcess> {
  const child = ownChild(spawn(process.execPath, [CLI, ...args], { env, stdio: ["ignore", "pipe", "pipe"] }));
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
  const url = await waitForUrl(what, child, () => output).catch(async (error: unknown) => {
    // A start that timed out must not leave the process running behind the failed `before`.
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
    throw error;
  });
  const signal = async (name: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(name);
      await exited;
    }
  };
  return { url, child, output: () => output, stop: () => signal("SIGTERM"), kill9: () => signal("SIGKILL") };
}

function waitForUrl(what: string, child: ChildProcess, outputOf: () => string): Promise<string> {
  return new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${what} did not start within 30 s. Output:\n${outputOf()}`)),
      30_000,
    );
    child.stdout!.on("data", () => {
      const match = /listening on (https?:\/\/[^\s]+)/.exec(outputOf());
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code} before listening. Output:\n${outputOf()}`));
    });
  });
}
