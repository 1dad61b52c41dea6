import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The console ships inside the server's dist/ and is served under /console/ by `cairn server`.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/console/",
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL("../dist/console", import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    // No source maps: the served console is the product, not its source (issue #16); a developer
    // who needs them builds with `vite build --sourcemap`.
    sourcemap: false,
  },
  logLevel: "warn",
});
