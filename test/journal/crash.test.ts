import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, it } from "node:test";
import { openFileJournal } from "../../src/journal/file-journal.js";
import { ownChild } from "../helpers/owned-children.js";

const ROUNDS = 20;
const CHILD = fileURLToPath(new URL("./crash-child.js", import.meta.url));
let directory = "";

after(async () => {
  if (directory !== "") await rm(directory, { recursive: true, force: true });
});

/** Seeded so that a failing run can be replayed; the seed is in the assertion messages. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

interface Ack {
  readonly keys: string[];
  readonly seqs: Array<number | null>;
}

/** Runs the child until it has acknowledged something, then SIGKILLs it after a random delay. */
function runAndKill(round: number, delayMs: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = ownChild(
      spawn(process.execPath, [CHILD, directory, String(round)], { stdio: ["ignore", "pipe", "pipe"] }),
    );
    let stdout = "";
    let stderr = "";
    let armed = false;
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!armed && stdout.includes("{")) {
        armed = true;
        setTimeout(() => child.kill("SIGKILL"), delayMs);
      }
    });
    child.on("error", reject);
    child.on("exit", (_code, signal) => {
      if (signal !== "SIGKILL") return reject(new Error(`Child exited without being killed: ${stderr}`));
      const complete = stdout.slice(0, stdout.lastIndexOf("\n") + 1).split("\n");
      resolve(complete.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Ack));
    });
  });
}

it("never loses or duplicates an acknowledged record across kill -9", async () => {
  const seed = 0x5eed;
  const random = seededRandom(seed);
  directory = await mkdtemp(join(tmpdir(), "cairn-journal-crash-"));
  const acknowledged = new Map<string, number | null>();
  for (let round = 1; round <= ROUNDS; round++) {
    const acks = await runAndKill(round, Math.floor(random() * 120));
    for (const ack of acks) ack.keys.forEach((key, i) => acknowledged.set(key, ack.seqs[i] ?? null));

    const journal = await openFileJournal({ directory, segmentBytesMax: 64 * 1024, blockEntriesMax: 16 });
    const entries = await journal.read(1, Number.MAX_SAFE_INTEGER);
    const context = `seed ${seed}, round ${round}`;
    assert.equal(entries.length, journal.headSeq(), context);
    const seqOfKey = new Map<string, number>();
    entries.forEach((entry, i) => {
      assert.equal(entry.seq, i + 1, `Seqs are dense (${context}).`);
      const { key, by } = JSON.parse(entry.json) as { key: string; by: string | null };
      assert.equal(seqOfKey.has(key), false, `Key ${key} is stored once (${context}).`);
      assert.equal(entry.provenance?.principalArn ?? null, by, `Key ${key} keeps its provenance (${context}).`);
      seqOfKey.set(key, entry.seq);
    });
    for (const [key, seq] of acknowledged) {
      assert.ok(seqOfKey.has(key), `Acknowledged key ${key} survives (${context}).`);
      if (seq !== null) assert.equal(seqOfKey.get(key), seq, `Key ${key} keeps its seq (${context}).`);
    }
    await journal.close();
  }
  assert.ok(acknowledged.size > ROUNDS * 60, "The child made progress.");
});
