import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { renderSettingsReference } from "../../src/config/settings-reference.js";
import { settingSources } from "../../src/config/settings.js";
import { buildProgram } from "../../src/cli/program.js";

// Compiled to dist/test/cli/, three levels below the repository root.
const read = (name: string) =>
  readFileSync(fileURLToPath(new URL(`../../../docs/reference/${name}`, import.meta.url)), "utf8");

function commandsOf(command: Command): Command[] {
  return [command, ...command.commands.flatMap(commandsOf)];
}

describe("reference docs", () => {
  it("config.md holds the settings table rendered from the schema", () => {
    assert.ok(
      read("config.md").includes(renderSettingsReference()),
      "docs/reference/config.md is stale: paste in the output of renderSettingsReference() (src/config/settings-reference.ts)",
    );
  });

  it("cli.md names every command, every flag and every CAIRN_ variable", () => {
    const cli = read("cli.md");
    for (const command of commandsOf(buildProgram({ exitCode: 0 })).slice(1)) {
      const path = command.parent?.name() === "cairn" ? command.name() : `${command.parent?.name()} ${command.name()}`;
      assert.ok(cli.includes(`cairn ${path}`), `cli.md lacks "cairn ${path}"`);
      for (const option of command.options) assert.ok(cli.includes(option.long ?? ""), `cli.md lacks ${option.long}`);
    }
    for (const [, source] of settingSources()) assert.ok(cli.includes(source.env), `cli.md lacks ${source.env}`);
    assert.ok(cli.includes("CAIRN_ENDPOINT_URL"));
  });
});
