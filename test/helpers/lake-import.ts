import { pathToFileURL } from "node:url";
import {
  GetImportCommand,
  StartImportCommand,
  type CloudTrailClient,
  type GetImportCommandOutput,
} from "@aws-sdk/client-cloudtrail";
import { pollUntil } from "./poll.js";

/**
 * StartImport of a local archive (`file://`, which the server must allow through
 * CAIRN_IMPORT_ALLOWED_DIRS) into one store, then GetImport until the import has ended.
 */
export async function importDirectory(
  client: CloudTrailClient,
  store: string,
  directory: string,
  timeoutMs = 60_000,
): Promise<GetImportCommandOutput & { ImportId: string }> {
  const started = await client.send(
    new StartImportCommand({
      Destinations: [store],
      ImportSource: {
        S3: { S3LocationUri: pathToFileURL(directory).href, S3BucketRegion: "us-east-1", S3BucketAccessRoleArn: "" },
      },
    }),
  );
  const importId = started.ImportId!;
  const done = await pollUntil(
    async () => {
      const got = await client.send(new GetImportCommand({ ImportId: importId }));
      return got.ImportStatus === "IN_PROGRESS" || got.ImportStatus === "INITIALIZING" ? undefined : got;
    },
    { timeoutMs, intervalMs: 250, message: "the import to end" },
  );
  return { ...done, ImportId: importId };
}
