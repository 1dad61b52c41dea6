#!/usr/bin/env node
// The published entry point: the CLI is compiled to dist/ by `npm install` (the prepare script).
import("../dist/src/cli/main.js").catch((error) => {
  if (error && error.code === "ERR_MODULE_NOT_FOUND") {
    console.error("Cairn is not built yet: run `npm install` (or `npm run build`) in the repository first.");
    process.exit(1);
  }
  throw error;
});
