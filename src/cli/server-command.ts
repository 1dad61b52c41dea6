import type { ServerSettings } from "../config/settings.js";

/**
 * `cairn server`: starts the server (which prints its own banner) and, on SIGINT or SIGTERM, closes
 * it and exits 0. A second signal during shutdown gets Node's default handling, i.e. exits at once.
 */
export async function runServer(settings: ServerSettings): Promise<void> {
  // Loaded on demand so that `cairn principal …` and the client commands don't pay for loading the server.
  const { startServer } = await import("../app/server.js");
  const server = await startServer(settings);
  const shutdown = (signal: NodeJS.Signals) => {
    process.stderr.write(`Received ${signal}; shutting down.\n`);
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`Error while shutting down: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
}
