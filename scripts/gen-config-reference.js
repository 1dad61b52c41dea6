#!/usr/bin/env node
// Rewrites the settings table in docs/reference/config.md from the schema (run after `npm run build`).
import { readFileSync, writeFileSync } from "node:fs";
import { renderSettingsReference } from "../dist/src/config/settings-reference.js";

const path = new URL("../docs/reference/config.md", import.meta.url);
const page = readFileSync(path, "utf8");
const start = "<!-- prettier-ignore-start -->\n";
const end = "<!-- prettier-ignore-end -->";
const from = page.indexOf(start) + start.length;
const to = page.indexOf(end);
if (from < start.length || to < from) throw new Error("config.md has lost its prettier-ignore markers.");
writeFileSync(path, page.slice(0, from) + renderSettingsReference() + page.slice(to));
console.log("docs/reference/config.md updated.");
