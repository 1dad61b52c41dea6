import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { GetImportCommand, ListImportFailuresCommand, StartImportCommand } from "@aws-sdk/client-cloudtrail";
import cliProgress from "cli-progress";
import type { ClientSettings } from "../../client/client-settings.js";
import type { Output } from "../output.js";
import { cloudTrailClient } from "./query.js";

export interface ImportOptions {
  readonly client: ClientSettings;
  readonly directory: string;
  readonly eventDataStore: string;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly progress: boolean;
  readonly pollMs?: number;
}

/**
 * `cairn import DIR --event-data-store <id>`: StartImport with a `file://` source (the server reads
 * the directory, so the path must be visible to the server), then polls GetImport, showing a progress
 * bar on a terminal, and lists the failures. Returns the exit code: 0, or 1 when anything failed.
 */
export async function runImport(options: ImportOptions): Promise<number> {
  const client = cloudTrailClient(options.client);
  const bar = options.progress
    ? new cliProgress.SingleBar(
        { format: "import {bar} {value} files | {events} events | {failed} failed" },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  try {
    const started = await client.send(
      new StartImportCommand({
        Destinations: [options.eventDataStore],
        ImportSource: {
          S3: {
            S3LocationUri: pathToFileURL(resolve(options.directory)).href,
            S3BucketRegion: options.client.region,
            S3BucketAccessRoleArn: "",
          },
        },
      }),
    );
    const importId = started.ImportId!;
    bar?.start(0, 0, { events: 0, failed: 0 });
    for (;;) {
      const got = await client.send(new GetImportCommand({ ImportId: importId }));
      const stats = got.ImportStatistics ?? {};
      bar?.setTotal(Math.max(Number(stats.FilesCompleted ?? 0), 1));
      bar?.update(Number(stats.FilesCompleted ?? 0), {
        events: stats.EventsCompleted ?? 0,
        failed: stats.FailedEntries ?? 0,
      });
      if (got.ImportStatus !== "INITIALIZING" && got.ImportStatus !== "IN_PROGRESS") {
        bar?.stop();
        options.stdout.write(
          `Import ${importId} ${got.ImportStatus}: ${stats.FilesCompleted ?? 0} files, ${stats.EventsCompleted ?? 0} events, ${stats.FailedEntries ?? 0} failures.\n`,
        );
        if (Number(stats.FailedEntries ?? 0) > 0) {
          const failures = await client.send(new ListImportFailuresCommand({ ImportId: importId, MaxResults: 50 }));
          for (const f of failures.Failures ?? [])
            options.stderr.write(`  ${f.Location}: ${f.ErrorType}: ${f.ErrorMessage}\n`);
        }
        return got.ImportStatus === "COMPLETED" && Number(stats.FailedEntries ?? 0) === 0 ? 0 : 1;
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 250));
    }
  } finally {
    bar?.stop();
    client.destroy();
  }
}
