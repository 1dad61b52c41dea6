import { runTail } from "../../src/cli/commands/tail.js";
import { pollUntil } from "./poll.js";
import type { RawRecord } from "./sample-records.js";

/**
 * Every record of the caller's account in the journal, read as `cairn tail --json --from-seq 1`
 * reads it, once `done` holds for them.
 */
export async function journalUntil(
  server: { url: string },
  credentials: { accessKeyId: string; secretAccessKey: string },
  done: (records: RawRecord[]) => boolean,
  region = "us-east-1",
): Promise<RawRecord[]> {
  let output = "";
  const controller = new AbortController();
  const tail = runTail({
    client: { endpointUrl: server.url, region, credentials: { ...credentials, origin: "test" } },
    fromSeq: 1,
    json: true,
    withProvenance: false,
    stdout: { write: (text: string) => (output += text) },
    stderr: { write: () => true },
    signal: controller.signal,
  });
  try {
    return await pollUntil(
      () => {
        const lines = output.split("\n").filter((line) => line.trim() !== "");
        const records = lines.map((line) => JSON.parse(line) as RawRecord);
        return done(records) ? records : undefined;
      },
      { message: "the records in the journal" },
    );
  } finally {
    controller.abort();
    await tail;
  }
}
