/**
 * Not a test file of the suite: no-leftover-processes.test.ts runs it as a child test process that
 * starts a real server, says where (pid and data dir, in the file named by LEAKY_REPORT) and then
 * fails without stopping it, in the way LEAKY_MODE names. The owner of the children must end it.
 */
import { writeFileSync } from "node:fs";
import { before, describe, it } from "node:test";
import { startServerProcess } from "../helpers/server-process.js";

const mode = process.env["LEAKY_MODE"] ?? "before-throws";
const report = process.env["LEAKY_REPORT"] ?? "";

async function startAndReport(): Promise<void> {
  const server = await startServerProcess();
  writeFileSync(report, JSON.stringify({ pid: server.child.pid, dataDir: server.dataDir }));
}

describe(`a suite that leaves its server behind (${mode})`, () => {
  before(async () => {
    await startAndReport();
    if (mode === "before-throws") throw new Error("the before hook fails after starting a server");
  });

  it("fails or ends the process with the server still running", async () => {
    if (mode === "exit") process.exit(3);
    // SIGTERM from outside (a runner giving up): wait for it.
    if (mode === "sigterm") await new Promise(() => setInterval(() => undefined, 1_000));
    throw new Error("this test fails");
  });
});
