import { migrate, type Migration, type PostgresDatabase, type Queryable } from "../postgres/index.js";
import {
  closedStoreError,
  MATCH_INSERT_COLUMNS,
  matchOfRow,
  matchValues,
  ruleOfRow,
  SigmaFencedOffError,
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

/** The `sigma` component's schema, shared with the import (sigma-import.ts). */
export const SIGMA_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "sigma rules, matches and cursor",
    sql: `CREATE TABLE cairn_sigma_rules (
            account_id  TEXT NOT NULL,
            id          TEXT NOT NULL,
            title       TEXT NOT NULL,
            level       TEXT NOT NULL,
            yaml        TEXT NOT NULL,
            added_by    TEXT NOT NULL,
            added_at_ms BIGINT NOT NULL,
            PRIMARY KEY (account_id, id)
          );
          CREATE TABLE cairn_sigma_state (
            name          TEXT PRIMARY KEY,
            value         BIGINT NOT NULL,
            fencing_token BIGINT
          );
          INSERT INTO cairn_sigma_state (name, value) VALUES ('revision', 0), ('cursor', 0);
          CREATE TABLE cairn_sigma_matches (
            id            BIGSERIAL PRIMARY KEY,
            account_id    TEXT NOT NULL,
            rule_id       TEXT NOT NULL,
            title         TEXT NOT NULL,
            level         TEXT NOT NULL,
            kind          TEXT NOT NULL,
            event_id      TEXT NOT NULL,
            event_time    TEXT NOT NULL,
            event_time_ms BIGINT NOT NULL,
            events        TEXT NOT NULL,
            group_by      TEXT,
            matched_at_ms BIGINT NOT NULL,
            seq           BIGINT NOT NULL,
            match_key     TEXT NOT NULL,
            UNIQUE (account_id, match_key)
          );
          CREATE INDEX cairn_sigma_matches_by_account ON cairn_sigma_matches (account_id, id);
          CREATE INDEX cairn_sigma_matches_by_time ON cairn_sigma_matches (matched_at_ms)`,
  },
];

/**
 * The cursor under a fencing token ($2; NULL unfenced): moves only forward, and only while no
 * higher token claimed it. No row back means a later holder of the Sigma lease committed.
 */
const CURSOR_SQL = `UPDATE cairn_sigma_state
  SET value = GREATEST(value, $1), fencing_token = COALESCE($2, fencing_token)
  WHERE name = 'cursor' AND ($2::bigint IS NULL OR fencing_token IS NULL OR fencing_token <= $2)
  RETURNING value`;

/**
 * Opens (migrating) the cluster Sigma store on `db`: rules, matches and the consumer's cursor, the
 * same on every node. Closing the store leaves `db` open (its owner closes it).
 *
 * @example const sigma = await openPostgresSigmaStore(db);
 */
export async function openPostgresSigmaStore(db: PostgresDatabase): Promise<SigmaStore> {
  await migrate(db, "sigma", SIGMA_MIGRATIONS);
  return new PostgresSigmaStore(db);
}

class PostgresSigmaStore implements SigmaRuleStore, SigmaMatchStore {
  private closed = false;

  constructor(private readonly db: PostgresDatabase) {}

  async put(rule: StoredSigmaRule, maxPerAccount: number): Promise<"created" | "replaced" | "limit"> {
    this.open();
    return this.db.transaction(async (tx) => {
      // Serialises the account's adds, so that two at once cannot both pass the limit.
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('cairn_sigma_rules:' || $1))", [rule.accountId]);
      const exists = await tx.query("SELECT 1 FROM cairn_sigma_rules WHERE account_id = $1 AND id = $2", [
        rule.accountId,
        rule.id,
      ]);
      if (exists.length === 0) {
        const [row] = await tx.query<{ n: string }>(
          "SELECT count(*) AS n FROM cairn_sigma_rules WHERE account_id = $1",
          [rule.accountId],
        );
        if (Number(row!.n) >= maxPerAccount) return "limit";
      }
      await tx.query(
        `INSERT INTO cairn_sigma_rules (account_id, id, title, level, yaml, added_by, added_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id, id) DO UPDATE SET title = excluded.title,
         level = excluded.level, yaml = excluded.yaml, added_by = excluded.added_by, added_at_ms = excluded.added_at_ms`,
        [rule.accountId, rule.id, rule.title, rule.level, rule.yaml, rule.addedBy, rule.addedAtMs],
      );
      await bumpRevision(tx);
      return exists.length === 0 ? "created" : "replaced";
    });
  }

  async list(accountId: string): Promise<StoredSigmaRule[]> {
    this.open();
    const rows = await this.db.query<SigmaRuleRow>(
      `SELECT * FROM cairn_sigma_rules WHERE account_id = $1 ORDER BY id COLLATE "C"`,
      [accountId],
    );
    return rows.map(ruleOfRow);
  }

  async all(): Promise<StoredSigmaRule[]> {
    this.open();
    const rows = await this.db.query<SigmaRuleRow>(
      `SELECT * FROM cairn_sigma_rules ORDER BY account_id, id COLLATE "C"`,
    );
    return rows.map(ruleOfRow);
  }

  async delete(accountId: string, id: string): Promise<boolean> {
    this.open();
    return this.db.transaction(async (tx) => {
      const deleted = await tx.query("DELETE FROM cairn_sigma_rules WHERE account_id = $1 AND id = $2 RETURNING 1", [
        accountId,
        id,
      ]);
      if (deleted.length > 0) await bumpRevision(tx);
      return deleted.length > 0;
    });
  }

  async revision(): Promise<number> {
    this.open();
    return this.state("revision");
  }

  async cursor(): Promise<number> {
    this.open();
    return this.state("cursor");
  }

  async commit(matches: readonly NewSigmaMatch[], cursorSeq: number, fencingToken?: number): Promise<number> {
    this.open();
    return this.db.transaction(async (tx) => {
      // The cursor first: a fenced-off holder writes nothing, and the row lock orders two holders.
      const moved = await tx.query(CURSOR_SQL, [cursorSeq, fencingToken ?? null]);
      if (moved.length === 0) throw new SigmaFencedOffError(fencingToken);
      let stored = 0;
      for (const match of matches) {
        const inserted = await tx.query(
          `INSERT INTO cairn_sigma_matches (${MATCH_INSERT_COLUMNS})
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT (account_id, match_key) DO NOTHING RETURNING 1`,
          matchValues(match),
        );
        stored += inserted.length;
      }
      return stored;
    });
  }

  async listMatches(filter: SigmaMatchFilter): Promise<SigmaMatch[]> {
    this.open();
    const rows = await this.db.query<SigmaMatchRow>(
      `SELECT * FROM cairn_sigma_matches WHERE account_id = $1 AND id > $2
         AND ($3::text IS NULL OR rule_id = $3) AND event_time_ms >= $4 AND event_time_ms <= $5
       ORDER BY id LIMIT $6`,
      [
        filter.accountId,
        filter.afterId ?? 0,
        filter.ruleId ?? null,
        filter.startMs ?? Number.MIN_SAFE_INTEGER,
        filter.endMs ?? Number.MAX_SAFE_INTEGER,
        filter.limit,
      ],
    );
    return rows.map(matchOfRow);
  }

  async matchesAfter(afterId: number, limit: number): Promise<SigmaMatch[]> {
    this.open();
    const rows = await this.db.query<SigmaMatchRow>(
      "SELECT * FROM cairn_sigma_matches WHERE id > $1 ORDER BY id LIMIT $2",
      [afterId, limit],
    );
    return rows.map(matchOfRow);
  }

  async trim(beforeMs: number): Promise<number> {
    this.open();
    const rows = await this.db.query("DELETE FROM cairn_sigma_matches WHERE matched_at_ms < $1 RETURNING 1", [
      beforeMs,
    ]);
    return rows.length;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private async state(name: string): Promise<number> {
    const [row] = await this.db.query<{ value: string }>("SELECT value FROM cairn_sigma_state WHERE name = $1", [name]);
    return Number(row!.value);
  }

  private open(): void {
    if (this.closed) throw closedStoreError();
  }
}

async function bumpRevision(tx: Queryable): Promise<void> {
  await tx.query("UPDATE cairn_sigma_state SET value = value + 1 WHERE name = 'revision'");
}
