import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ownChild } from "../helpers/owned-children.js";
import { pollUntil } from "../helpers/poll.js";
import { removeDataDir } from "../helpers/server-process.js";

const LEAKY_SUITE = join(import.meta.dirname, "leaky-suite.js");

/** Alive and not a zombie: a reparented child may wait as a zombie for a reaper that never comes. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, "utf8") : "";
  return !/^\d+ \(.*\) Z/.test(stat);
}

function withoutTestContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { NODE_TEST_CONTEXT: _context, ...rest } = env;
  return rest;
}

/** Runs leaky-suite.js in its own test process; returns how it ended and the server it started. */
async function runLeakySuite(mode: string, dir: string) {
  const reportFile = join(dir, `${mode}.json`);
  const child = ownChild(
    // As scripts/run-tests.js runs the suite: --test-force-exit ends the file's process once its tests end.
    spawn(process.execPath, ["--test", "--test-force-exit", "--test-reporter=tap", LEAKY_SUITE], {
      // Without the runner's NODE_TEST_CONTEXT: the nested run is a runner of its own, not a reporting child.
      env: { ...withoutTestContext(process.env), LEAKY_MODE: mode, LEAKY_REPORT: reportFile },
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  if (mode === "sigterm") {
    await pollUntil(() => existsSync(reportFile), { message: () => `the suite to start its server:\n${output}` });
    child.kill("SIGTERM");
  }
  const end = await ended;
  assert.ok(existsSync(reportFile), `the suite started no server:\n${output}`);
  const server = JSON.parse(readFileSync(reportFile, "utf8")) as { pid: number; dataDir: string };
  return { ...end, ...server, output };
}

describe("no test leaves a process behind", () => {
  const dir = mkdtempSync(join(tmpdir(), "cairn-leak-test-"));
  const dataDirs: string[] = [];
  after(() => {
    for (const dataDir of dataDirs) removeDataDir(dataDir);
    rmSync(dir, { recursive: true, force: true });
  });

  for (const [mode, how] of [
    ["before-throws", "a before hook throws after starting a server"],
    ["exit", "a test calls process.exit"],
    ["sigterm", "the test process gets SIGTERM"],
  ] as const) {
    it(`kills the server when ${how}`, async () => {
      const result = await runLeakySuite(mode, dir);
      dataDirs.push(result.dataDir);
      assert.ok(result.code !== 0, `the suite failed (${result.code ?? result.signal}):\n${result.output}`);
      // SIGTERM reaches the runner, which ends its file process: no exit code 0 either way.
      assert.ok(Number.isInteger(result.pid) && result.pid > 0);
      // The kill is sent as the test process exits; the server needs a moment to be gone.
      await pollUntil(() => !running(result.pid), {
        message: () => `server pid ${result.pid} (${result.dataDir}) to be gone after its test process ended`,
      });
    });
  }
});
