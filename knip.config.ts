// `npm run deadcode`: exports, types and files nothing uses. Knip reads its other entry points itself:
// package.json's "bin" and "exports" (dist/src/… mapped back to src/ through tsconfig's outDir, so
// src/capture/middleware/index.ts, the "./middleware" export, is an entry) and, through its Vite
// plugin, `build:console`'s console/vite.config.ts and console/index.html → console/src/main.tsx.
import type { KnipConfig } from "knip";

const config: KnipConfig = {
  entry: [
    "src/cli/main.ts",
    // Worker threads, loaded as `new Worker(new URL("./x.js", import.meta.url))`.
    "src/journal/compress-worker.ts",
    "src/consumers/event-history/index-worker.ts",
    "src/capture/proxy/record-worker.ts",
    "src/control-plane/lake/import/import-worker.ts",
    // Each bench file also runs on its own (`node dist/bench/lake.js 10000000`).
    "bench/*.ts",
    "scripts/*.js",
    // Tests: scripts/run-tests.js runs every compiled *.test.js under dist/src and dist/test.
    "{src,test}/**/*.test.ts",
    // Spawned by test/journal/crash.test.ts and test/keys/rotate-master.test.ts.
    "test/journal/crash-child.ts",
    "test/keys/rotate-master-child.ts",
    // Run by test/harness/no-leftover-processes.test.ts as a failing test process.
    "test/harness/leaky-suite.ts",
  ],
  // A type or interface exported for the signatures that use it (declaration output needs it) counts as used.
  ignoreExportsUsedInFile: { interface: true, type: true },
  project: ["src/**/*.ts", "test/**/*.ts", "bench/**/*.ts", "scripts/**/*.js", "console/**/*.{ts,tsx}"],
};

export default config;
