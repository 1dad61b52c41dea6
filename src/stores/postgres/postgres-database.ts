import pg from "pg";
import { StoreUnavailableError } from "../../lib/transient-error.js";

export interface PostgresDatabaseOptions {
  /** `postgres://user:password@host:port/database` (or `postgresql://`); query parameters as libpq knows them. */
  readonly url: string;
  /** Connections this node keeps at most; default 4: a node's stores issue short queries and the server's connections are shared by every node. */
  readonly maxConnections?: number;
  /** The server cancels a statement running longer; default 15 s. */
  readonly statementTimeoutMs?: number;
  /** How long to wait for a connection (new or from the pool) before the database counts as unavailable; default 5 s. */
  readonly connectTimeoutMs?: number;
  /** Errors of idle pooled connections (the server restarted); the next query opens a new one. */
  readonly onIdleError?: (error: Error) => void;
}

/** What runs statements: the pool, or one connection inside a transaction or session. */
export interface Queryable {
  /** Runs one parameterised statement and returns its rows. Values are never spliced into the text. */
  query<R extends object = Record<string, unknown>>(text: string, values?: readonly unknown[]): Promise<R[]>;
}

/** A LISTEN subscription; closing it closes its connection. */
export interface Subscription {
  close(): Promise<void>;
}

const DEFAULT_MAX_CONNECTIONS = 4;
/** How soon a lost LISTEN connection is opened again, doubling up to the cap while the server stays away. */
const RELISTEN_FIRST_MS = 250;
const RELISTEN_MAX_MS = 10_000;
/** Channel names are Cairn's own; LISTEN takes no parameters, so the name is checked, not quoted from input. */
const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;
const DEFAULT_STATEMENT_TIMEOUT_MS = 15_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/**
 * SQLSTATE classes and codes that say the server cannot serve now, not that the statement is wrong:
 * connection exceptions (08), insufficient resources (53), operator intervention (57: shutdown,
 * restart, a statement cancelled by its timeout), system errors (58), and the serialization
 * failures and deadlocks (40001, 40P01) a retry resolves.
 */
const UNAVAILABLE_CLASSES = ["08", "53", "57", "58"];
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set(["40001", "40P01"]);
/** node-postgres reports a lost or unobtainable connection by message, without a code. */
const UNAVAILABLE_MESSAGES = [
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error",
  "Client was closed and is not queryable",
  "Query read timeout",
];
const SOCKET_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * The PostgreSQL database of the cluster backends: a small `pg.Pool` over one URL. Every failure
 * to reach the server (refused, restarting, timed out, connections exhausted) rejects with
 * StoreUnavailableError, which HTTP answers 503 and consumers retry; other errors (a constraint, a
 * bug in a statement) pass through as they are. No message carries the URL's password.
 *
 * @example
 * const db = openPostgresDatabase({ url: process.env.CAIRN_DATABASE_URL! });
 * const rows = await db.query<{ holder: string }>("SELECT holder FROM cairn_leases WHERE name = $1", [name]);
 */
export class PostgresDatabase implements Queryable {
  /** The URL without its password, for messages. */
  readonly label: string;
  private readonly pool: pg.Pool;
  private readonly secret: string;
  private readonly clientConfig: pg.ClientConfig;
  private readonly subscriptions = new Set<Subscription>();
  private closed = false;

  private constructor(url: URL, options: PostgresDatabaseOptions) {
    this.secret = decodedPassword(url);
    const shown = new URL(url.href);
    shown.password = "";
    shown.search = "";
    this.label = shown.href;
    this.clientConfig = {
      connectionString: options.url,
      connectionTimeoutMillis: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      statement_timeout: options.statementTimeoutMs ?? DEFAULT_STATEMENT_TIMEOUT_MS,
      // A node that dies mid-transaction must not hold row locks until TCP notices.
      idle_in_transaction_session_timeout: 60_000,
      keepAlive: true,
      application_name: "cairn",
      // Cairn's statements are short index lookups and writes: JIT compiling one costs far more than
      // running it (decision 0013, point 6), and a generic plan over many partitions would pay it on
      // every execution.
      options: "-c jit=off",
    };
    this.pool = new pg.Pool({
      ...this.clientConfig,
      max: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      idleTimeoutMillis: 30_000,
    });
    // Without a listener an idle connection's error (the server restarting) would end the process.
    this.pool.on("error", (error) => options.onIdleError?.(error));
  }

  static open(options: PostgresDatabaseOptions): PostgresDatabase {
    const { maxConnections, statementTimeoutMs, connectTimeoutMs } = options;
    if (maxConnections !== undefined && (!Number.isSafeInteger(maxConnections) || maxConnections < 1))
      throw new RangeError(`maxConnections must be an integer ≥ 1, not ${maxConnections}.`);
    for (const [what, ms] of [
      ["statementTimeoutMs", statementTimeoutMs],
      ["connectTimeoutMs", connectTimeoutMs],
    ] as const) {
      if (ms !== undefined && (!Number.isSafeInteger(ms) || ms < 1))
        throw new RangeError(`${what} must be an integer ≥ 1, not ${ms}.`);
    }
    return new PostgresDatabase(parseDatabaseUrl(options.url), options);
  }

  async query<R extends object = Record<string, unknown>>(text: string, values: readonly unknown[] = []): Promise<R[]> {
    this.assertOpen();
    try {
      return (await this.pool.query<R>(text, values as unknown[])).rows;
    } catch (error) {
      throw this.translate(error);
    }
  }

  /**
   * Runs a statement prepared once per connection under `name` (the same name must always carry the
   * same text). After a few executions PostgreSQL reuses a generic plan, which prunes partitions when
   * the statement starts instead of planning every partition of a 90-day table on each call.
   */
  async queryPrepared<R extends object = Record<string, unknown>>(
    name: string,
    text: string,
    values: readonly unknown[] = [],
  ): Promise<R[]> {
    this.assertOpen();
    try {
      return (await this.pool.query<R>({ name, text, values: values as unknown[] })).rows;
    } catch (error) {
      throw this.translate(error);
    }
  }

  /**
   * Runs `body` in one transaction on one pooled connection: COMMIT when it resolves, ROLLBACK when it
   * throws. The connection goes back to the pool unless the rollback failed (then it is closed).
   */
  async transaction<T>(body: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.connect();
    const tx = this.queryableOf(client);
    let clean = false;
    try {
      await tx.query("BEGIN");
      const result = await body(tx);
      await tx.query("COMMIT");
      clean = true;
      return result;
    } catch (error) {
      clean = await tx.query("ROLLBACK").then(
        () => true,
        () => false,
      );
      throw error;
    } finally {
      client.release(!clean);
    }
  }

  /**
   * Runs `body` on one connection of its own (session state: advisory locks, SET). The connection is
   * closed afterwards rather than pooled, so no session state outlives `body`.
   */
  async session<T>(body: (session: Queryable) => Promise<T>): Promise<T> {
    const client = await this.connect();
    try {
      return await body(this.queryableOf(client));
    } finally {
      client.release(true);
    }
  }

  /**
   * Calls `onNotify` with the payload of every NOTIFY on `channel` (from any node, once its
   * transaction committed), on a connection of its own outside the pool. When that connection is lost
   * (a server restart) it is opened again with backoff, then `onNotify(undefined)` says that
   * notifications may have been missed meanwhile: the listener re-reads what it watches.
   */
  async listen(channel: string, onNotify: (payload: string | undefined) => void): Promise<Subscription> {
    this.assertOpen();
    if (!CHANNEL.test(channel)) throw new RangeError(`Not a channel name: ${channel}.`);
    const connection = new ListenConnection(this.clientConfig, channel, onNotify);
    try {
      await connection.open();
    } catch (error) {
      await connection.close();
      throw this.translate(error);
    }
    const subscription: Subscription = {
      close: async () => {
        this.subscriptions.delete(subscription);
        await connection.close();
      },
    };
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Closes every connection and subscription; closing again does nothing. Every other method rejects once closed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const subscription of [...this.subscriptions]) await subscription.close();
    await this.pool.end();
  }

  private async connect(): Promise<pg.PoolClient> {
    this.assertOpen();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.translate(error);
    }
    // The pool hears a client's errors only while it is idle: a connection lost between two statements
    // of a transaction (a server shutting down) would emit an 'error' nobody hears, which ends the
    // process. Heard here, the next statement on the client fails instead (translated), and
    // release(true) discards it.
    const ignore = (): void => undefined;
    client.on("error", ignore);
    const release = client.release;
    client.release = (error?: Error | boolean) => {
      client.removeListener("error", ignore);
      release(error);
    };
    return client;
  }

  private queryableOf(client: pg.PoolClient): Queryable {
    return {
      query: async <R extends object>(text: string, values: readonly unknown[] = []) => {
        try {
          return (await client.query<R>(text, values as unknown[])).rows;
        } catch (error) {
          throw this.translate(error);
        }
      },
    };
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`The PostgreSQL database ${this.label} is closed.`);
  }

  private translate(error: unknown): unknown {
    if (!isUnavailable(error)) return error;
    const reason = error instanceof Error ? error.message : String(error);
    const scrubbed = this.secret === "" ? reason : reason.split(this.secret).join("***");
    return new StoreUnavailableError(`PostgreSQL at ${this.label} is unavailable: ${scrubbed}`, { cause: error });
  }
}

/** One LISTEN connection that opens itself again when lost, until closed. */
class ListenConnection {
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
    private readonly onNotify: (payload: string | undefined) => void,
  ) {}

  async open(): Promise<void> {
    const client = new pg.Client(this.config);
    client.on("notification", (message) => {
      if (message.channel === this.channel) this.onNotify(message.payload ?? "");
    });
    // Without an error listener a lost connection would end the process.
    client.on("error", () => this.lost(client));
    client.on("end", () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) await client.end().catch(() => undefined);
    else this.client = client;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private lost(client: pg.Client): void {
    if (client !== this.client || this.closed) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    this.reopenAfter(RELISTEN_FIRST_MS);
  }

  private reopenAfter(delayMs: number): void {
    this.retry = setTimeout(() => {
      this.open().then(
        () => {
          if (!this.closed) this.onNotify(undefined);
        },
        () => {
          if (!this.closed) this.reopenAfter(Math.min(delayMs * 2, RELISTEN_MAX_MS));
        },
      );
    }, delayMs);
    // A node waiting for its database must still be able to exit.
    this.retry.unref();
  }
}

/** Opens the pool lazily: no connection is made until the first statement. */
export function openPostgresDatabase(options: PostgresDatabaseOptions): PostgresDatabase {
  return PostgresDatabase.open(options);
}

function parseDatabaseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The text may hold a password: it is never repeated.
    throw new Error("The database URL is not a URL; expected postgres://user:password@host:port/database.");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:")
    throw new Error(`The database URL must start with postgres:// or postgresql://, not ${url.protocol}//.`);
  if (url.hostname === "") throw new Error("The database URL names no host.");
  return url;
}

/** The password as the driver sends it (percent-decoded), to scrub from messages; the raw text when it does not decode. */
function decodedPassword(url: URL): string {
  try {
    return decodeURIComponent(url.password);
  } catch {
    return url.password;
  }
}

function isUnavailable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  if (error instanceof StoreUnavailableError) return true;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === "string") {
    if (SOCKET_CODES.has(code) || UNAVAILABLE_CODES.has(code)) return true;
    if (/^[0-9A-Z]{5}$/.test(code) && UNAVAILABLE_CLASSES.includes(code.slice(0, 2))) return true;
  }
  return typeof message === "string" && UNAVAILABLE_MESSAGES.some((prefix) => message.startsWith(prefix));
}

/** A BIGINT column (node-postgres returns it as text) as a number, refusing what a number cannot hold exactly. */
export function safeInteger(value: unknown, what: string): number {
  const number = typeof value === "string" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number))
    throw new Error(`PostgreSQL returned ${what} ${String(value)}, not a safe integer.`);
  return number;
}
