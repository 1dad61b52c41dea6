import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import pg from "pg";
import { ownChild } from "./owned-children.js";
import { pollUntil } from "./poll.js";
import { freePort } from "../storage/moto-server.js";

/**
 * A private PostgreSQL for one test file: its own data dir in a temp dir, 127.0.0.1 and a free port
 * only, password (SCRAM) authentication so tests use the code path users run. One server per file;
 * each test takes a fresh database from `createDatabase()`.
 */
export interface PostgresServer {
  /** `postgres://cairn:<password>@127.0.0.1:<port>/postgres`: the superuser's maintenance database. */
  readonly url: string;
  /** A new empty database on this server, for one test; `drop()` removes it (closing its connections). */
  createDatabase(): Promise<TestDatabase>;
  /**
   * Stops PostgreSQL (fast shutdown: in-flight transactions fail), runs `whileDown`, and starts it
   * again on the same port and data.
   */
  restart(options?: { whileDown?: () => Promise<void> }): Promise<void>;
  /** Fast shutdown, then removes the data dir. Safe to call twice. */
  stop(): Promise<void>;
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  drop(): Promise<void>;
}

const USER = "cairn";

/** The PostgreSQL programs: on PATH, else where Debian's packages put them (not on PATH). */
function postgresBin(): string | undefined {
  const debian = "/usr/lib/postgresql";
  const versions = existsSync(debian)
    ? readdirSync(debian)
        .filter((name) => /^\d+$/.test(name))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const candidates = [
    ...(process.env.PATH ?? "").split(delimiter),
    ...versions.map((version) => join(debian, version, "bin")),
  ];
  return candidates.find((dir) => dir !== "" && existsSync(join(dir, "initdb")) && existsSync(join(dir, "postgres")));
}

const BIN = postgresBin();

function bin(): string {
  if (BIN === undefined) throw new Error("PostgreSQL is not installed (see postgresMissingReason).");
  return BIN;
}

/** PostgreSQL comes with the machine image, not from a registry: tests that need it skip loudly without it. */
export function postgresMissingReason(): string | false {
  if (BIN !== undefined && spawnSync(join(BIN, "initdb"), ["--version"]).status === 0) return false;
  const reason =
    "SKIPPED LOUDLY: PostgreSQL's initdb/postgres not found (PATH, /usr/lib/postgresql/*/bin); the PostgreSQL backends need a real PostgreSQL.";
  process.stderr.write(`\n*** ${reason} ***\n\n`);
  return reason;
}

/** initdb refuses to run as root: when the tests are root, the server runs as the `postgres` user. */
function serverIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number => Number(spawnSync("id", [flag, "postgres"], { encoding: "utf8" }).stdout.trim());
  const uid = id("-u");
  const gid = id("-g");
  if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid))
    throw new Error("Tests run as root but there is no `postgres` user to run PostgreSQL as.");
  return { uid, gid };
}

let startsMeasured = 0;

/** Data dirs of servers not stopped yet: removed when the test process ends without stopping them. */
const liveDirectories = new Set<string>();
process.on("exit", () => {
  for (const directory of liveDirectories) rmSync(directory, { recursive: true, force: true });
});

export async function startPostgresServer(): Promise<PostgresServer> {
  const started = Date.now();
  const identity = serverIdentity();
  const directory = await mkdtemp(join(tmpdir(), "cairn-pg-"));
  liveDirectories.add(directory);
  const dataDir = join(directory, "data");
  const password = randomBytes(18).toString("base64url");
  try {
    if (identity) await chown(directory, identity.uid, identity.gid);
    await initdb(directory, dataDir, password, identity);
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  const port = await freePort();
  const url = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined = await startPostmaster(directory, dataDir, port, url, identity).catch(
    async (error: unknown) => {
      await rm(directory, { recursive: true, force: true });
      throw error;
    },
  );
  if (startsMeasured++ === 0) process.stderr.write(`# PostgreSQL initdb + start took ${Date.now() - started} ms\n`);
  const databaseUrl = (name: string): string => url.replace(/\/postgres$/, `/${name}`);
  return {
    url,
    async createDatabase() {
      const name = `t_${randomBytes(6).toString("hex")}`;
      // The name is generated hex, never input: identifiers cannot be query parameters.
      await withAdmin(url, (client) => client.query(`CREATE DATABASE ${name}`));
      return {
        name,
        url: databaseUrl(name),
        drop: async () => {
          await withAdmin(url, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
        },
      };
    },
    async restart({ whileDown } = {}) {
      if (child) await stopPostmaster(child);
      child = undefined;
      await whileDown?.();
      child = await startPostmaster(directory, dataDir, port, url, identity);
    },
    async stop() {
      if (child) await stopPostmaster(child);
      child = undefined;
      await rm(directory, { recursive: true, force: true });
      liveDirectories.delete(directory);
    },
  };
}

async function initdb(
  directory: string,
  dataDir: string,
  password: string,
  identity: { uid: number; gid: number } | undefined,
): Promise<void> {
  const passwordFile = join(directory, "password");
  await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  if (identity) await chown(passwordFile, identity.uid, identity.gid);
  const result = spawnSync(
    join(bin(), "initdb"),
    [
      "-D",
      dataDir,
      `--username=${USER}`,
      `--pwfile=${passwordFile}`,
      "--auth=scram-sha-256",
      "--encoding=UTF8",
      "--locale=C",
      "--no-instructions",
    ],
    { encoding: "utf8", ...identity, cwd: directory },
  );
  await rm(passwordFile, { force: true });
  if (result.status !== 0) throw new Error(`initdb failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
}

async function startPostmaster(
  directory: string,
  dataDir: string,
  port: number,
  url: string,
  identity: { uid: number; gid: number } | undefined,
): Promise<ChildProcess> {
  // The postmaster itself is the child (not `pg_ctl start`, which detaches it), so the owner of test
  // children can SIGKILL it when the test process ends early; its backends exit when it dies.
  const args = ["-D", dataDir, "-p", String(port), "-k", directory];
  for (const setting of ["listen_addresses=127.0.0.1", "fsync=on", "max_connections=100", "log_min_messages=warning"])
    args.push("-c", setting);
  const child = ownChild(
    spawn(join(bin(), "postgres"), args, { stdio: ["ignore", "pipe", "pipe"], cwd: directory, ...identity }),
  );
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  try {
    await pollUntil(
      async () => {
        if (child.exitCode !== null) throw new Error(`postgres exited early:\n${output}`);
        return withAdmin(url, (client) => client.query("SELECT 1")).then(
          () => true,
          () => false,
        );
      },
      {
        timeoutMs: 60_000,
        intervalMs: 50,
        message: () => `PostgreSQL on port ${port} to accept connections:\n${output}`,
      },
    );
  } catch (error) {
    await stopPostmaster(child);
    throw error;
  }
  return child;
}

/** SIGINT is PostgreSQL's fast shutdown (what `pg_ctl stop -m fast` sends): sessions end, data is flushed. */
async function stopPostmaster(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGCONT");
  child.kill("SIGINT");
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  await exited;
  clearTimeout(timer);
}

async function withAdmin<T>(url: string, body: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await body(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}
