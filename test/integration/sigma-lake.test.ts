import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CreateEventDataStoreCommand, type CloudTrailClient } from "@aws-sdk/client-cloudtrail";
import { CLI, removeDataDir, startServerProcess, type ServerProcess } from "../helpers/server-process.js";
import { SAMPLES_DIR, samplesMissingReason } from "../helpers/sample-records.js";
import { allowImportsFrom } from "../helpers/import-dirs.js";
import { importDirectory } from "../helpers/lake-import.js";
import { ACTIVE_RULES_DIR, sigmaRulesMissingReason, UNSUPPORTED_RULES_DIR } from "../helpers/sigma-rules.js";
import { lakeClient } from "../lake/lake-client.js";
import { MODIFIER_RECORDS, modifierRulesYaml } from "../sigma/modifier-cases.js";

const execFileAsync = promisify(execFile);
const INVICTUS_DIR = join(SAMPLES_DIR, "invictus-sigma-aws");

interface Printed {
  readonly ruleId: string;
  readonly eventID: string;
  readonly eventTime: string;
  readonly title: string;
  readonly level: string;
}

async function cairn(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ lines: Printed[]; stderr: string }> {
  const run = await execFileAsync(process.execPath, [CLI, ...args], {
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });
  const lines = run.stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Printed);
  return { lines, stderr: run.stderr };
}

/** A match as both commands must agree on it; the time as an instant (the Lake keeps the record's text). */
function key(match: Printed): string {
  return `${match.ruleId} ${match.eventID} ${new Date(match.eventTime).toISOString()} ${match.level} ${match.title}`;
}

describe(
  "cairn sigma run over an event data store gives the matches of cairn sigma test over the same records",
  { skip: samplesMissingReason() || sigmaRulesMissingReason() },
  () => {
    let server: ServerProcess;
    let client: CloudTrailClient;
    let id = "";
    let casesDir = "";

    before(async () => {
      casesDir = mkdtempSync(join(tmpdir(), "cairn-sigma-"));
      server = await startServerProcess({ env: allowImportsFrom(INVICTUS_DIR, casesDir) });
      client = lakeClient(server.url);
      const created = await client.send(
        new CreateEventDataStoreCommand({ Name: "sigma", TerminationProtectionEnabled: false, StartIngestion: false }),
      );
      id = created.EventDataStoreArn!.split("/")[1]!;
      const imported = await importDirectory(client, id, INVICTUS_DIR);
      assert.equal(imported.ImportStatus, "COMPLETED");
      assert.equal(imported.ImportStatistics?.EventsCompleted, 2900);
    });

    after(async () => {
      client?.destroy();
      await server?.stop();
      if (server) removeDataDir(server.dataDir);
      if (casesDir !== "") rmSync(casesDir, { recursive: true, force: true });
    });

    it("agrees on every modifier, condition form and keyword search over small records", async () => {
      const recordsDir = join(casesDir, "records");
      const rulesFile = join(casesDir, "cases.yml");
      await import("node:fs/promises").then(({ mkdir }) => mkdir(recordsDir));
      writeFileSync(join(recordsDir, "cases.json"), JSON.stringify({ Records: MODIFIER_RECORDS }));
      writeFileSync(rulesFile, modifierRulesYaml());
      const created = await client.send(
        new CreateEventDataStoreCommand({ Name: "cases", TerminationProtectionEnabled: false, StartIngestion: false }),
      );
      const casesStore = created.EventDataStoreArn!.split("/")[1]!;
      const imported = await importDirectory(client, casesStore, recordsDir);
      assert.equal(imported.ImportStatistics?.EventsCompleted, MODIFIER_RECORDS.length);
      const local = await cairn(["sigma", "test", rulesFile, "--records", recordsDir, "--json"]);
      assert.equal(local.stderr, "");
      const lake = await cairn(
        [
          ...["sigma", "run", rulesFile, "--event-data-store", casesStore, "--endpoint-url", server.url],
          ...["--data-dir", server.dataDir, "--json"],
        ],
        { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" },
      );
      assert.equal(lake.stderr, "");
      // Every rule fires on some record and spares some other: each form is tested both ways.
      const titles = new Set(local.lines.map((match) => match.title));
      assert.equal(titles.size, modifierRulesYaml().split("\n---\n").length);
      for (const title of titles)
        assert.ok(local.lines.filter((match) => match.title === title).length < MODIFIER_RECORDS.length, title);
      assert.deepEqual(lake.lines.map(key).sort(), local.lines.map(key).sort());
    });

    it("finds the same matches, detection and correlation rules alike", async () => {
      const rules = [ACTIVE_RULES_DIR, UNSUPPORTED_RULES_DIR];
      const local = await cairn(["sigma", "test", ...rules, "--records", INVICTUS_DIR, "--json"]);
      const lake = await cairn(
        [
          "sigma",
          "run",
          ...rules,
          "--event-data-store",
          id,
          "--endpoint-url",
          server.url,
          "--data-dir",
          server.dataDir,
          "--json",
        ],
        { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" },
      );
      assert.doesNotMatch(lake.stderr, /cannot be translated/, lake.stderr);
      // The two refused rules are refused by both, with the same reasons.
      assert.equal(lake.stderr, local.stderr);
      assert.ok(local.lines.length > 100, `sigma test found ${local.lines.length} matches`);
      assert.deepEqual(lake.lines.map(key).sort(), local.lines.map(key).sort());
    });

    it("bounds the hunt with --start-time and --end-time", async () => {
      const all = await cairn(["sigma", "test", ACTIVE_RULES_DIR, "--records", INVICTUS_DIR, "--json"]);
      const [from, to] = ["2023-07-10T12:00:00Z", "2023-07-10T12:15:00Z"];
      const inside = all.lines.filter((m) => m.eventTime >= from && m.eventTime <= to);
      assert.ok(inside.length > 0 && inside.length < all.lines.length);
      const lake = await cairn(
        [
          ...["sigma", "run", ACTIVE_RULES_DIR, "--event-data-store", id, "--endpoint-url", server.url],
          ...["--data-dir", server.dataDir, "--start-time", from, "--end-time", to, "--json"],
        ],
        { AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "" },
      );
      assert.deepEqual(lake.lines.map(key).sort(), inside.map(key).sort());
    });
  },
);
