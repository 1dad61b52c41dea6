/**
 * Connections whose views are already created, kept between queries (decision 0028). Creating a
 * query's view binds `read_parquet` over its files (DuckDB reads a footer and the Hive partitions):
 * 2–3 ms of a 10–30 ms query at 1M events. A finished query's connection is kept, keyed by the exact
 * statements that made its views (store ids, every file path, the schema options), and the next
 * query with the same statements takes it instead of binding again. New, compacted or pruned files
 * change the statements, so a connection is only reused over the very files it was made for.
 * Lake statements are single SELECTs (checkStatement), which leave a connection as they found it.
 */
import type { DuckDBConnection, DuckDBInstance } from "@duckdb/node-api";
import type { FileSnapshot } from "../compaction/compaction.js";
import { planViews, type ScanStatistics } from "./query-engine.js";
import type { DateRange } from "./query-pruning.js";

/** Idle connections kept at most (each holds only its views), and for how long unused. */
const IDLE_CONNECTIONS = 4;
const IDLE_MS = 60_000;

export interface WarmConnection {
  readonly connection: DuckDBConnection;
  readonly scan: ScanStatistics;
  /**
   * Hands the connection back: kept for the next query over the same files when `reusable` (the
   * query ran to its end), else closed (interrupted, failed: its state is not known).
   */
  release(reusable: boolean): void;
}

interface Idle {
  readonly connection: DuckDBConnection;
  readonly timer: NodeJS.Timeout;
}

export class WarmViews {
  /** By the statements that made the views; insertion order is least recently released first. */
  private readonly idle = new Map<string, Idle[]>();
  private idleCount = 0;

  constructor(
    private readonly duck: DuckDBInstance,
    private readonly lakeDir: string,
  ) {}

  async take(
    storeIds: readonly string[],
    ranges: ReadonlyMap<string, DateRange | undefined>,
    snapshot: FileSnapshot | undefined,
  ): Promise<WarmConnection> {
    // A new connection costs ~0.05 ms; it reads unseen footers, then runs the query if none is idle.
    let connection = await this.duck.connect();
    let key: string;
    let scan: ScanStatistics;
    try {
      const plan = await planViews(connection, this.lakeDir, storeIds, ranges, snapshot);
      key = plan.statements.join(";\n");
      scan = plan.scan;
      const warm = this.takeIdle(key);
      if (warm !== undefined) {
        connection.closeSync();
        connection = warm;
      } else for (const statement of plan.statements) await connection.run(statement);
    } catch (error) {
      connection.closeSync();
      throw error;
    }
    let released = false;
    return {
      connection,
      scan,
      release: (reusable) => {
        if (released) return;
        released = true;
        if (reusable) this.keep(key, connection);
        else connection.closeSync();
      },
    };
  }

  /** Closes every idle connection. */
  close(): void {
    for (const list of this.idle.values()) for (const { connection, timer } of list) this.drop(connection, timer);
    this.idle.clear();
    this.idleCount = 0;
  }

  private takeIdle(key: string): DuckDBConnection | undefined {
    const list = this.idle.get(key);
    const taken = list?.pop();
    if (taken === undefined) return undefined;
    if (list!.length === 0) this.idle.delete(key);
    this.idleCount--;
    clearTimeout(taken.timer);
    return taken.connection;
  }

  private keep(key: string, connection: DuckDBConnection): void {
    const list = this.idle.get(key) ?? [];
    const timer = setTimeout(() => this.expire(key, connection), IDLE_MS);
    timer.unref();
    list.push({ connection, timer });
    this.idle.delete(key); // re-inserted last: the most recently used
    this.idle.set(key, list);
    this.idleCount++;
    while (this.idleCount > IDLE_CONNECTIONS) {
      const [oldestKey, oldest] = this.idle.entries().next().value!;
      const dropped = oldest.shift()!;
      if (oldest.length === 0) this.idle.delete(oldestKey);
      this.idleCount--;
      this.drop(dropped.connection, dropped.timer);
    }
  }

  private expire(key: string, connection: DuckDBConnection): void {
    const list = this.idle.get(key);
    const at = list?.findIndex((idle) => idle.connection === connection) ?? -1;
    if (at === -1) return;
    list!.splice(at, 1);
    if (list!.length === 0) this.idle.delete(key);
    this.idleCount--;
    connection.closeSync();
  }

  private drop(connection: DuckDBConnection, timer: NodeJS.Timeout): void {
    clearTimeout(timer);
    connection.closeSync();
  }
}
