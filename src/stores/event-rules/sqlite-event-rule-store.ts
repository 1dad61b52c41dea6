import type Database from "better-sqlite3";
import type { MasterKey } from "../../lib/secret-envelope.js";
import { openSchemaDatabase } from "../../lib/sqlite-database.js";
import { preparedOnce } from "../../lib/sqlite-statement-cache.js";
import {
  CONNECTION_COLUMNS,
  DESTINATION_COLUMNS,
  connectionOfRow,
  connectionInsertValues,
  connectionRowValues,
  destinationOfRow,
  openConnectionAuth,
  ruleOfRow,
  rulesWithTargets,
  targetOfRow,
  type ConnectionRow,
  type DestinationRow,
  type RuleRow,
  type TargetRow,
} from "./event-rule-rows.js";
import {
  assertEventScope,
  closedStoreError,
  type ApiDestination,
  type ApiDestinationChange,
  type ConnectionAuth,
  type ConnectionChange,
  type ConnectionState,
  type ConnectionStateChange,
  type EventConnection,
  type EventRule,
  type EventRuleStore,
  type EventScope,
  type EventTarget,
  type NamePage,
  type NewConnection,
  type RuleDefinition,
  type RuleState,
  type RuleWithTargets,
} from "./event-rule-store.js";

const SCHEMA_VERSION = 2;
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS event_rules (
    arn           TEXT PRIMARY KEY,
    account_id    TEXT NOT NULL,
    region        TEXT NOT NULL,
    name          TEXT NOT NULL,
    event_pattern TEXT NOT NULL,
    state         TEXT NOT NULL,
    description   TEXT,
    role_arn      TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    generation    INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS event_rules_by_scope ON event_rules (account_id, region, name);
  CREATE TABLE IF NOT EXISTS event_targets (
    rule_arn  TEXT NOT NULL REFERENCES event_rules (arn) ON DELETE CASCADE,
    target_id TEXT NOT NULL,
    spec      TEXT NOT NULL,
    PRIMARY KEY (rule_arn, target_id)
  ) STRICT;
  CREATE TABLE IF NOT EXISTS event_connections (
    account_id         TEXT NOT NULL,
    region             TEXT NOT NULL,
    name               TEXT NOT NULL,
    arn                TEXT NOT NULL UNIQUE,
    description        TEXT,
    authorization_type TEXT NOT NULL,
    public_auth        TEXT NOT NULL,
    secret_arn         TEXT NOT NULL,
    -- The auth with its secrets, sealed with the master key (secret-envelope.ts), never plaintext.
    sealed_auth        TEXT NOT NULL CHECK (sealed_auth LIKE 'v1:%'),
    created_at_ms      INTEGER NOT NULL,
    updated_at_ms      INTEGER NOT NULL,
    connection_state   TEXT NOT NULL DEFAULT 'AUTHORIZED',
    state_reason       TEXT,
    authorized_at_ms   INTEGER,
    PRIMARY KEY (account_id, region, name)
  ) STRICT;
  CREATE TABLE IF NOT EXISTS event_api_destinations (
    account_id          TEXT NOT NULL,
    region              TEXT NOT NULL,
    name                TEXT NOT NULL,
    arn                 TEXT NOT NULL UNIQUE,
    description         TEXT,
    connection_arn      TEXT NOT NULL,
    invocation_endpoint TEXT NOT NULL,
    http_method         TEXT NOT NULL,
    rate_limit          INTEGER,
    created_at_ms       INTEGER NOT NULL,
    updated_at_ms       INTEGER NOT NULL,
    PRIMARY KEY (account_id, region, name)
  ) STRICT;
  CREATE TABLE IF NOT EXISTS event_rules_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
  ) STRICT;
  INSERT OR IGNORE INTO event_rules_revision (id, revision) VALUES (1, 0);
`;

/** Schema 1 had no connection state: its connections were API_KEY or BASIC, AUTHORIZED since their last change. */
function upgrade(db: Database.Database, fromVersion: number): void {
  if (fromVersion >= 2) return;
  db.exec(`ALTER TABLE event_connections ADD COLUMN connection_state TEXT NOT NULL DEFAULT 'AUTHORIZED';
    ALTER TABLE event_connections ADD COLUMN state_reason TEXT;
    ALTER TABLE event_connections ADD COLUMN authorized_at_ms INTEGER;
    UPDATE event_connections SET authorized_at_ms = updated_at_ms;`);
}

/** `substr` rather than LIKE: names may hold `_`, which LIKE reads as a wildcard. */
const NAME_PAGE = "substr(name, 1, length(?)) = ? AND name > ? ORDER BY name LIMIT ?";

/**
 * Opens (creating) the embedded rule store, `<data-dir>/event-rules.db`; connection secrets are
 * sealed with `masterKey`. Every write is one transaction that also moves the revision, so
 * connections in other processes see each change whole.
 *
 * @example const rules = openSqliteEventRuleStore(join(dataDir, "event-rules.db"), { masterKey });
 */
export function openSqliteEventRuleStore(path: string, options: { masterKey: MasterKey }): EventRuleStore {
  // An acknowledged rule or target must survive a power cut.
  const db = preparedOnce(
    openSchemaDatabase(path, { schema: SCHEMA, schemaVersion: SCHEMA_VERSION, synchronous: "FULL", upgrade }),
  );
  db.pragma("foreign_keys = ON");
  return new SqliteEventRuleStore(db, options.masterKey);
}

// better-sqlite3 is synchronous: each method does its work at once and hands back a settled promise.
class SqliteEventRuleStore implements EventRuleStore {
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    private readonly masterKey: MasterKey,
  ) {}

  async putRule(rule: RuleDefinition, nowMs: number): Promise<{ rule: EventRule; created: boolean }> {
    this.open();
    assertEventScope(rule);
    return this.write(() => {
      const existed = this.ruleRow(rule.arn) !== undefined;
      this.db
        .prepare(
          `INSERT INTO event_rules (arn, account_id, region, name, event_pattern, state, description, role_arn,
             created_at_ms, updated_at_ms, generation)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT revision FROM event_rules_revision))
           ON CONFLICT (arn) DO UPDATE SET event_pattern = excluded.event_pattern, state = excluded.state,
             description = excluded.description, role_arn = excluded.role_arn,
             updated_at_ms = excluded.updated_at_ms, generation = excluded.generation`,
        )
        .run(
          ...[rule.arn, rule.accountId, rule.region, rule.name, rule.eventPattern, rule.state],
          ...[rule.description ?? null, rule.roleArn ?? null, nowMs, nowMs],
        );
      return { rule: ruleOfRow(this.ruleRow(rule.arn)!), created: !existed };
    });
  }

  async getRule(arn: string): Promise<EventRule | undefined> {
    this.open();
    const row = this.ruleRow(arn);
    return row === undefined ? undefined : ruleOfRow(row);
  }

  async listRules(scope: EventScope, page: NamePage): Promise<EventRule[]> {
    this.open();
    return this.db
      .prepare<unknown[], RuleRow>(`SELECT * FROM event_rules WHERE account_id = ? AND region = ? AND ${NAME_PAGE}`)
      .all(scope.accountId, scope.region, ...pageValues(page))
      .map(ruleOfRow);
  }

  async countRules(scope: EventScope): Promise<number> {
    this.open();
    return this.count("event_rules", scope);
  }

  async setRuleState(arn: string, state: RuleState, nowMs: number): Promise<boolean> {
    this.open();
    return this.write(() => this.touchRule(arn, nowMs, state));
  }

  async deleteRule(arn: string): Promise<"deleted" | "has-targets" | "absent"> {
    this.open();
    return this.write(() => {
      if (this.ruleRow(arn) === undefined) return "absent";
      if (this.targetCount(arn) > 0) return "has-targets";
      this.db.prepare("DELETE FROM event_rules WHERE arn = ?").run(arn);
      return "deleted";
    });
  }

  async putTargets(
    ruleArn: string,
    targets: readonly EventTarget[],
    maxTargets: number,
  ): Promise<"ok" | "limit" | "absent"> {
    this.open();
    return this.write(() => {
      if (this.ruleRow(ruleArn) === undefined) return "absent";
      const existing = this.db
        .prepare<[string], { target_id: string }>("SELECT target_id FROM event_targets WHERE rule_arn = ?")
        .all(ruleArn)
        .map((row) => row.target_id);
      if (new Set([...existing, ...targets.map((target) => target.id)]).size > maxTargets) return "limit";
      const upsert = this.db.prepare(
        `INSERT INTO event_targets (rule_arn, target_id, spec) VALUES (?, ?, ?)
         ON CONFLICT (rule_arn, target_id) DO UPDATE SET spec = excluded.spec`,
      );
      for (const target of targets) upsert.run(ruleArn, target.id, JSON.stringify(target));
      this.touchRule(ruleArn);
      return "ok";
    });
  }

  async listTargets(ruleArn: string, afterId: string | undefined, limit: number): Promise<EventTarget[] | undefined> {
    this.open();
    if (this.ruleRow(ruleArn) === undefined) return undefined;
    return this.db
      .prepare<[string, string, number], TargetRow>(
        "SELECT spec FROM event_targets WHERE rule_arn = ? AND target_id > ? ORDER BY target_id LIMIT ?",
      )
      .all(ruleArn, afterId ?? "", limit)
      .map(targetOfRow);
  }

  async removeTargets(ruleArn: string, ids: readonly string[]): Promise<string[] | undefined> {
    this.open();
    return this.write(() => {
      if (this.ruleRow(ruleArn) === undefined) return undefined;
      const remove = this.db.prepare("DELETE FROM event_targets WHERE rule_arn = ? AND target_id = ?");
      const removed = [...new Set(ids)].filter((id) => remove.run(ruleArn, id).changes === 1);
      if (removed.length > 0) this.touchRule(ruleArn);
      return removed;
    });
  }

  async createConnection(connection: NewConnection): Promise<{ connection: EventConnection; created: boolean }> {
    this.open();
    assertEventScope(connection);
    const values = connectionInsertValues(connection, this.masterKey);
    return this.write(() => {
      const inserted = this.db
        .prepare(
          `INSERT INTO event_connections (${CONNECTION_COLUMNS}, sealed_auth) VALUES (${values.map(() => "?").join(", ")})
           ON CONFLICT (account_id, region, name) DO NOTHING`,
        )
        .run(...values);
      return { connection: this.connectionRow(connection, connection.name)!, created: inserted.changes === 1 };
    });
  }

  async getConnection(scope: EventScope, name: string): Promise<EventConnection | undefined> {
    this.open();
    return this.connectionRow(scope, name);
  }

  async listConnections(scope: EventScope, page: NamePage, state?: ConnectionState): Promise<EventConnection[]> {
    this.open();
    return this.db
      .prepare<unknown[], ConnectionRow>(
        `SELECT ${CONNECTION_COLUMNS} FROM event_connections WHERE account_id = ? AND region = ?
           AND (? IS NULL OR connection_state = ?) AND ${NAME_PAGE}`,
      )
      .all(scope.accountId, scope.region, state ?? null, state ?? null, ...pageValues(page))
      .map(connectionOfRow);
  }

  async countConnections(scope: EventScope): Promise<number> {
    this.open();
    return this.count("event_connections", scope);
  }

  async deleteConnection(scope: EventScope, name: string): Promise<EventConnection | undefined> {
    this.open();
    return this.write(() => {
      const connection = this.connectionRow(scope, name);
      if (connection === undefined) return undefined;
      this.db.prepare("DELETE FROM event_connections WHERE arn = ?").run(connection.arn);
      return connection;
    });
  }

  async updateConnection(
    scope: EventScope,
    name: string,
    change: ConnectionChange,
    nowMs: number,
  ): Promise<EventConnection | undefined> {
    this.open();
    return this.write(() => {
      const current = this.connectionRow(scope, name);
      if (current === undefined) return undefined;
      const sealed =
        change.auth === undefined
          ? undefined
          : connectionRowValues({ arn: current.arn, auth: change.auth }, this.masterKey);
      this.db
        .prepare(
          `UPDATE event_connections SET description = coalesce(?, description),
             authorization_type = coalesce(?, authorization_type), public_auth = coalesce(?, public_auth),
             sealed_auth = coalesce(?, sealed_auth), updated_at_ms = ?,
             connection_state = coalesce(?, connection_state),
             state_reason = CASE WHEN ? IS NULL THEN state_reason END,
             authorized_at_ms = CASE WHEN ? = 'AUTHORIZED' THEN ? ELSE authorized_at_ms END
           WHERE arn = ?`,
        )
        .run(
          ...[change.description ?? null, change.auth?.authorizationType ?? null],
          ...[sealed?.publicAuth ?? null, sealed?.sealedAuth ?? null, nowMs],
          ...[change.state ?? null, change.state ?? null, change.state ?? null, nowMs, current.arn],
        );
      return this.connectionRow(scope, name);
    });
  }

  async connectionAuth(connectionArn: string): Promise<ConnectionAuth | undefined> {
    this.open();
    const row = this.db
      .prepare<[string], { sealed_auth: string }>("SELECT sealed_auth FROM event_connections WHERE arn = ?")
      .get(connectionArn);
    return row === undefined ? undefined : openConnectionAuth(this.masterKey, connectionArn, row.sealed_auth);
  }

  async setConnectionState(arn: string, change: ConnectionStateChange): Promise<boolean> {
    this.open();
    const set = this.db
      .prepare(
        `UPDATE event_connections SET connection_state = ?, state_reason = ?,
           authorized_at_ms = CASE WHEN ? = 'AUTHORIZED' THEN ? ELSE authorized_at_ms END
         WHERE arn = ? AND (? IS NULL OR updated_at_ms = ?)
           AND (connection_state <> ? OR state_reason IS NOT ? OR ? = 'AUTHORIZED')`,
      )
      .run(
        ...[change.state, change.reason ?? null, change.state, change.nowMs, arn],
        ...[change.ifUpdatedAtMs ?? null, change.ifUpdatedAtMs ?? null],
        ...[change.state, change.reason ?? null, change.state],
      );
    return set.changes === 1;
  }

  async createApiDestination(d: ApiDestination): Promise<{ destination: ApiDestination; created: boolean }> {
    this.open();
    assertEventScope(d);
    return this.write(() => {
      const inserted = this.db
        .prepare(
          `INSERT INTO event_api_destinations (${DESTINATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (account_id, region, name) DO NOTHING`,
        )
        .run(
          ...[d.arn, d.accountId, d.region, d.name, d.description ?? null, d.connectionArn],
          ...[d.invocationEndpoint, d.httpMethod, d.invocationRateLimitPerSecond ?? null, d.createdAtMs, d.updatedAtMs],
        );
      return { destination: this.destinationRow(d, d.name)!, created: inserted.changes === 1 };
    });
  }

  async getApiDestination(scope: EventScope, name: string): Promise<ApiDestination | undefined> {
    this.open();
    return this.destinationRow(scope, name);
  }

  async apiDestination(arn: string): Promise<ApiDestination | undefined> {
    this.open();
    const row = this.db
      .prepare<[string], DestinationRow>("SELECT * FROM event_api_destinations WHERE arn = ?")
      .get(arn);
    return row === undefined ? undefined : destinationOfRow(row);
  }

  async listApiDestinations(scope: EventScope, page: NamePage, connectionArn?: string): Promise<ApiDestination[]> {
    this.open();
    return this.db
      .prepare<unknown[], DestinationRow>(
        `SELECT * FROM event_api_destinations WHERE account_id = ? AND region = ?
           AND (? IS NULL OR connection_arn = ?) AND ${NAME_PAGE}`,
      )
      .all(scope.accountId, scope.region, connectionArn ?? null, connectionArn ?? null, ...pageValues(page))
      .map(destinationOfRow);
  }

  async updateApiDestination(
    scope: EventScope,
    name: string,
    change: ApiDestinationChange,
    nowMs: number,
  ): Promise<ApiDestination | undefined> {
    this.open();
    return this.write(() => {
      const result = this.db
        .prepare(
          `UPDATE event_api_destinations SET description = coalesce(?, description),
             connection_arn = coalesce(?, connection_arn), invocation_endpoint = coalesce(?, invocation_endpoint),
             http_method = coalesce(?, http_method), rate_limit = coalesce(?, rate_limit), updated_at_ms = ?
           WHERE account_id = ? AND region = ? AND name = ?`,
        )
        .run(
          ...[change.description ?? null, change.connectionArn ?? null, change.invocationEndpoint ?? null],
          ...[change.httpMethod ?? null, change.invocationRateLimitPerSecond ?? null, nowMs],
          ...[scope.accountId, scope.region, name],
        );
      return result.changes === 1 ? this.destinationRow(scope, name) : undefined;
    });
  }

  async countApiDestinations(scope: EventScope): Promise<number> {
    this.open();
    return this.count("event_api_destinations", scope);
  }

  async deleteApiDestination(scope: EventScope, name: string): Promise<boolean> {
    this.open();
    return this.write(
      () =>
        this.db
          .prepare("DELETE FROM event_api_destinations WHERE account_id = ? AND region = ? AND name = ?")
          .run(scope.accountId, scope.region, name).changes === 1,
    );
  }

  async activeRules(): Promise<RuleWithTargets[]> {
    this.open();
    return this.db.transaction(() => {
      const rules = this.db
        .prepare<[], RuleRow>("SELECT * FROM event_rules WHERE state <> 'DISABLED' ORDER BY arn")
        .all();
      const targets = this.db
        .prepare<[], TargetRow>(
          `SELECT t.rule_arn, t.target_id, t.spec FROM event_targets t JOIN event_rules r ON r.arn = t.rule_arn
           WHERE r.state <> 'DISABLED' ORDER BY t.rule_arn, t.target_id`,
        )
        .all();
      return rulesWithTargets(rules, targets);
    })();
  }

  async revision(): Promise<number> {
    this.open();
    return this.currentRevision();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  private open(): void {
    if (this.closed) throw closedStoreError();
  }

  /** Runs `body` in one write transaction that first moves the revision (rolled back with the write on failure). */
  private write<T>(body: () => T): T {
    return this.db.transaction(() => {
      this.db.prepare("UPDATE event_rules_revision SET revision = revision + 1 WHERE id = 1").run();
      return body();
    })();
  }

  private currentRevision(): number {
    return this.db.prepare<[], { revision: number }>("SELECT revision FROM event_rules_revision").get()!.revision;
  }

  /** Inside `write`: the rule takes the new revision as its generation (and a state and time when given). */
  private touchRule(arn: string, nowMs?: number, state?: RuleState): boolean {
    const result = this.db
      .prepare(
        `UPDATE event_rules SET generation = ?, state = coalesce(?, state), updated_at_ms = coalesce(?, updated_at_ms)
         WHERE arn = ?`,
      )
      .run(this.currentRevision(), state ?? null, nowMs ?? null, arn);
    return result.changes === 1;
  }

  private ruleRow(arn: string): RuleRow | undefined {
    return this.db.prepare<[string], RuleRow>("SELECT * FROM event_rules WHERE arn = ?").get(arn);
  }

  private targetCount(ruleArn: string): number {
    return this.db
      .prepare<[string], { n: number }>("SELECT count(*) AS n FROM event_targets WHERE rule_arn = ?")
      .get(ruleArn)!.n;
  }

  private count(table: string, scope: EventScope): number {
    return this.db
      .prepare<[string, string], { n: number }>(
        `SELECT count(*) AS n FROM ${table} WHERE account_id = ? AND region = ?`,
      )
      .get(scope.accountId, scope.region)!.n;
  }

  private connectionRow(scope: EventScope, name: string): EventConnection | undefined {
    const row = this.db
      .prepare<[string, string, string], ConnectionRow>(
        `SELECT ${CONNECTION_COLUMNS} FROM event_connections WHERE account_id = ? AND region = ? AND name = ?`,
      )
      .get(scope.accountId, scope.region, name);
    return row === undefined ? undefined : connectionOfRow(row);
  }

  private destinationRow(scope: EventScope, name: string): ApiDestination | undefined {
    const row = this.db
      .prepare<[string, string, string], DestinationRow>(
        "SELECT * FROM event_api_destinations WHERE account_id = ? AND region = ? AND name = ?",
      )
      .get(scope.accountId, scope.region, name);
    return row === undefined ? undefined : destinationOfRow(row);
  }
}

function pageValues(page: NamePage): [string, string, string, number] {
  const prefix = page.prefix ?? "";
  return [prefix, prefix, page.afterName ?? "", page.limit];
}
