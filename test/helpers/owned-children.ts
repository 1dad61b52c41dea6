import type { ChildProcess } from "node:child_process";

/**
 * Every process a test starts is owned here, so none outlives the test process: a failing `before`,
 * a hook that throws before its `stop()`, a start that times out, `process.exit` (which
 * `--test-force-exit` calls) or a SIGTERM/SIGINT from the runner would otherwise leave servers running.
 * At exit each child still alive gets SIGKILL: an exit handler cannot wait for a graceful stop.
 */
const alive = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const child of alive) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  alive.clear();
}

/** A signal that ends the test process must end its children too, then end it as the signal would. */
function onSignal(signal: NodeJS.Signals): void {
  killAll();
  process.removeListener(signal, onSignal);
  process.kill(process.pid, signal);
}

function hookOnce(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", killAll);
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
}

/** Registers a child started elsewhere; it is forgotten once it exits. */
export function ownChild<T extends ChildProcess>(child: T): T {
  hookOnce();
  alive.add(child);
  child.once("exit", () => alive.delete(child));
  return child;
}
