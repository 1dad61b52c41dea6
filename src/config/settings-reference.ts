import { settingSources, type SettingSource } from "./settings.js";

/**
 * The settings table of docs/reference/config.md, rendered from the schema so the page cannot drift
 * from the code: test/cli/docs.test.ts fails when the page does not contain this exact text.
 */
export function renderSettingsReference(): string {
  const rows = settingSources().map(
    ([name, source]) =>
      `| \`${name}\` | ${source.flag === undefined ? "—" : `\`${source.flag}\``} | \`${source.env}\` | ${defaultText(name, source)} | ${source.mustBe} | ${source.description} |`,
  );
  return [
    "| Setting | Flag | Environment variable | Default | Valid values | Meaning |",
    "|---|---|---|---|---|---|",
    ...rows,
    "",
  ].join("\n");
}

function defaultText(name: string, source: SettingSource): string {
  if (source.default !== undefined) return `\`${String(source.default)}\``;
  if (name === "accessKeyId" || name === "secretAccessKey") return "generated on first start, then kept";
  if (name === "masterKey") return "`<data-dir>/master.key`, generated on first start";
  if (name === "nodeId") return "derived from the host name and port";
  return "unset";
}
