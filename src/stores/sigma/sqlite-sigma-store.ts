import type Database from "better-sqlite3";
import { commitUnsynced, openSchemaDatabase } from "../../lib/sqlite-database.js";
import {
  closedStoreError,
  MATCH_INSERT_COLUMNS,
  matchOfRow,
  matchValues,
  ruleOfRow,
  type NewSigmaMatch,
  type SigmaMatch,
  type SigmaMatchFilter,
  type SigmaMatchRow,
  type SigmaMatchStore,
  type SigmaStore,
  type SigmaRuleRow,
  type SigmaRuleStore,
  type StoredSigmaRule,
} from "./sigma-store.js";

const SCHEMA_VERSION = 1;
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS sigma_rules (
    account_id  TEXT NOT NULL,
    id          TEXT NOT NULL,
    title       TEXT NOT NULL,
    level       TEXT NOT NULL,
    yaml        TEXT NOT NULL,
    added_by    TEXT NOT NULL,
    added_at_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, id)
  ) STRICT;
  CREATE TABLE IF NOT EXISTS sigma_state (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
  ) STRICT;
  INSERT OR IGNORE INTO sigma_state (name, value) VALUES ('revision', 0), ('cursor', 0);
  CREATE TABLE IF NOT EXISTS sigma_matches (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id    TEXT NOT NULL,
    rule_id       TEXT NOT NULL,
    title         TEXT NOT NULL,
    level         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    event_id      TEXT NOT NULL,
    event_time    TEXT NOT NULL,
    event_time_ms INTEGER NOT NULL,
    events        TEXT NOT NULL,
    group_by      TEXT,
    matched_at_ms INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    match_key     TEXT NOT NULL,
    UNIQUE (account_id, match_key)
  ) STRICT;
  CREATE INDEX IF NOT EXISTS sigma_matches_by_account ON sigma_matches (account_id, id);
  CREATE INDEX IF NOT EXISTS sigma_matches_by_time ON sigma_matches (matched_at_ms);
`;

/**
 * Opens (creating) the embedded Sigma store, `<data-dir>/sigma.db`: the rules added through the API
 * and the live matches with the consumer's cursor, in one file so that matches and cursor commit in
 * one transaction. One object serves as both stores.
 *
 * @example const sigma = openSqliteSigmaStore(join(dataDir, "sigma.db"));
 */
export function openSqliteSigmaStore(path: string): SigmaStore {
  // An acknowledged rule and a committed match must survive a power cut.
  const db = openSchemaDatabase(path, { schema: SCHEMA, schemaVersion: SCHEMA_VERSION, synchronous: "FULL" });
  return new SqliteSigmaStore(db);
}

// better-sqlite3 is synchronous: each method does its work at once and hands back a settled promise.
class SqliteSigmaStore implements SigmaRuleStore, SigmaMatchStore {
  private closed = false;

  constructor(private readonly db: Database.Database) {}

  async put(rule: StoredSigmaRule, maxPerAccount: number): Promise<"created" | "replaced" | "limit"> {
    this.open();
    return this.db
      .transaction(() => {
        const exists = this.db
          .prepare("SELECT 1 FROM sigma_rules WHERE account_id = ? AND id = ?")
          .get(rule.accountId, rule.id);
        if (exists === undefined) {
          const { n } = this.db
            .prepare<[string], { n: number }>("SELECT count(*) AS n FROM sigma_rules WHERE account_id = ?")
            .get(rule.accountId)!;
          if (n >= maxPerAccount) return "limit";
        }
        this.db
          .prepare(
            `INSERT INTO sigma_rules (account_id, id, title, level, yaml, added_by, added_at_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, id) DO UPDATE SET title = excluded.title,
           level = excluded.level, yaml = excluded.yaml, added_by = excluded.added_by, added_at_ms = excluded.added_at_ms`,
          )
          .run(rule.accountId, rule.id, rule.title, rule.level, rule.yaml, rule.addedBy, rule.addedAtMs);
        this.bumpRevision();
        return exists === undefined ? "created" : "replaced";
      })
      .immediate();
  }

  async list(accountId: string): Promise<StoredSigmaRule[]> {
    this.open();
    return this.db
      .prepare<[string], SigmaRuleRow>("SELECT * FROM sigma_rules WHERE account_id = ? ORDER BY id")
      .all(accountId)
      .map(ruleOfRow);
  }

  async all(): Promise<StoredSigmaRule[]> {
    this.open();
    return this.db.prepare<[], SigmaRuleRow>("SELECT * FROM sigma_rules ORDER BY account_id, id").all().map(ruleOfRow);
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    this.open();
    return this.db
      .transaction(() => {
        const deleted = this.db.prepare("DELETE FROM sigma_rules WHERE account_id = ? AND id = ?").run(accountId, id);
        if (deleted.changes === 1) this.bumpRevision();
        return deleted.changes === 1;
      })
      .immediate();
  }

  async revision(): Promise<number> {
    this.open();
    return this.state("revision");
  }

  async cursor(): Promise<number> {
    this.open();
    return this.state("cursor");
  }

  async commit(matches: readonly NewSigmaMatch[], cursorSeq: number): Promise<number> {
    this.open();
    const insert = this.db.prepare(
      `INSERT INTO sigma_matches (${MATCH_INSERT_COLUMNS}) VALUES (${Array(13).fill("?").join(", ")})
       ON CONFLICT (account_id, match_key) DO NOTHING`,
    );
    const commit = this.db.transaction(() => {
      let stored = 0;
      for (const match of matches) stored += insert.run(...matchValues(match)).changes;
      this.db.prepare("UPDATE sigma_state SET value = max(value, ?) WHERE name = 'cursor'").run(cursorSeq);
      return stored;
    });
    // A batch without matches moves the cursor alone: replayed after a power cut, it matches nothing again.
    return matches.length === 0 ? commitUnsynced(this.db, () => commit.immediate()) : commit.immediate();
  }

  async listMatches(filter: SigmaMatchFilter): Promise<SigmaMatch[]> {
    this.open();
    return this.db
      .prepare<unknown[], SigmaMatchRow>(
        `SELECT * FROM sigma_matches WHERE account_id = ? AND id > ?
           AND (? IS NULL OR rule_id = ?) AND event_time_ms >= ? AND event_time_ms <= ?
         ORDER BY id LIMIT ?`,
      )
      .all(
        filter.accountId,
        filter.afterId ?? 0,
        filter.ruleId ?? null,
        filter.ruleId ?? null,
        filter.startMs ?? Number.MIN_SAFE_INTEGER,
        filter.endMs ?? Number.MAX_SAFE_INTEGER,
        filter.limit,
      )
      .map(matchOfRow);
  }

  async matchesAfter(afterId: number, limit: number): Promise<SigmaMatch[]> {
    this.open();
    return this.db
      .prepare<[number, number], SigmaMatchRow>("SELECT * FROM sigma_matches WHERE id > ? ORDER BY id LIMIT ?")
      .all(afterId, limit)
      .map(matchOfRow);
  }

  async trim(beforeMs: number): Promise<number> {
    this.open();
    return this.db.prepare("DELETE FROM sigma_matches WHERE matched_at_ms < ?").run(beforeMs).changes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private state(name: string): number {
    return this.db.prepare<[string], { value: number }>("SELECT value FROM sigma_state WHERE name = ?").get(name)!
      .value;
  }

  private bumpRevision(): void {
    this.db.prepare("UPDATE sigma_state SET value = value + 1 WHERE name = 'revision'").run();
  }

  private open(): void {
    if (this.closed) throw closedStoreError();
  }
}
