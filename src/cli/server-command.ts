import type { ServerSettings } from "../config/settings.js";

/** What `src/server.ts` exports; declared here so the CLI builds whether or not that file exists yet. */
interface ServerModule {
  startServer(settings: ServerSettings): Promise<RunningServer>;
}

interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

// A specifier held in a variable keeps TypeScript from resolving the module at build time.
const SERVER_MODULE = "../server.js";

/**
 * `cairn server`: starts the server (which prints its own banner) and, on SIGINT or SIGTERM, closes
 * it and exits 0. A second signal during shutdown gets Node's default handling, i.e. exits at once.
 */
export async function runServer(settings: ServerSettings): Promise<void> {
  const { startServer } = (await import(SERVER_MODULE)) as ServerModule;
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
