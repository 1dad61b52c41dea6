#!/usr/bin/env node
// Writes a Brotli (.br) and a gzip (.gz) copy beside each text asset of the built console, once at
// build time, so the server sends them as they are (@fastify/static's preCompressed) instead of
// compressing on every request or sending ~1.3 MB of JavaScript uncompressed.
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const ROOT = new URL("../dist/console/", import.meta.url).pathname;
const TEXT = /\.(js|css|html|svg|json)$/;
/** Below this a compressed copy saves less than the headers it costs. */
const MIN_BYTES = 1024;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

let before = 0;
let after = 0;
for (const path of files(ROOT).filter((file) => TEXT.test(file))) {
  const content = readFileSync(path);
  if (content.length < MIN_BYTES) continue;
  const brotli = brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  writeFileSync(`${path}.br`, brotli);
  writeFileSync(`${path}.gz`, gzipSync(content, { level: 9 }));
  before += content.length;
  after += brotli.length;
}
console.log(`console assets: ${before} bytes, ${after} with Brotli`);
