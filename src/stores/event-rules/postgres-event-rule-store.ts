import type { MasterKey } from "../../lib/secret-envelope.js";
import { migrate, type Migration, type PostgresDatabase, type Queryable } from "../postgres/index.js";
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

/** The `event-rules` component's schema, shared with the import (event-rules-import.ts). */
export const EVENT_RULES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "event rules, targets, connections and api destinations",
    sql: `CREATE TABLE cairn_event_rules_revision (
            id       INTEGER PRIMARY KEY CHECK (id = 1),
            revision BIGINT NOT NULL
          );
          INSERT INTO cairn_event_rules_revision (id, revision) VALUES (1, 0);
          CREATE TABLE cairn_event_rules (
            arn           TEXT PRIMARY KEY,
            account_id    TEXT NOT NULL,
            region        TEXT NOT NULL,
            name          TEXT NOT NULL,
            event_pattern TEXT NOT NULL,
            state         TEXT NOT NULL,
            description   TEXT,
            role_arn      TEXT,
            created_at_ms BIGINT NOT NULL,
            updated_at_ms BIGINT NOT NULL,
            generation    BIGINT NOT NULL
          );
          CREATE INDEX cairn_event_rules_by_scope ON cairn_event_rules (account_id, region, name COLLATE "C");
          CREATE TABLE cairn_event_targets (
            rule_arn  TEXT NOT NULL REFERENCES cairn_event_rules (arn) ON DELETE CASCADE,
            target_id TEXT NOT NULL,
            spec      TEXT NOT NULL,
            PRIMARY KEY (rule_arn, target_id)
          );
          CREATE TABLE cairn_event_connections (
            account_id         TEXT NOT NULL,
            region             TEXT NOT NULL,
            name               TEXT NOT NULL,
            arn                TEXT NOT NULL UNIQUE,
            description        TEXT,
            authorization_type TEXT NOT NULL,
            public_auth        TEXT NOT NULL,
            secret_arn         TEXT NOT NULL,
            sealed_auth        TEXT NOT NULL CHECK (sealed_auth LIKE 'v1:%'),
            created_at_ms      BIGINT NOT NULL,
            updated_at_ms      BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, name)
          );
          CREATE TABLE cairn_event_api_destinations (
            account_id          TEXT NOT NULL,
            region              TEXT NOT NULL,
            name                TEXT NOT NULL,
            arn                 TEXT NOT NULL UNIQUE,
            description         TEXT,
            connection_arn      TEXT NOT NULL,
            invocation_endpoint TEXT NOT NULL,
            http_method         TEXT NOT NULL,
            rate_limit          BIGINT,
            created_at_ms       BIGINT NOT NULL,
            updated_at_ms       BIGINT NOT NULL,
            PRIMARY KEY (account_id, region, name)
          )`,
  },
  {
    version: 2,
    name: "connection state (OAuth connections are authorized after their creation)",
    sql: `ALTER TABLE cairn_event_connections ADD COLUMN connection_state TEXT NOT NULL DEFAULT 'AUTHORIZED';
          ALTER TABLE cairn_event_connections ADD COLUMN state_reason TEXT;
          ALTER TABLE cairn_event_connections ADD COLUMN authorized_at_ms BIGINT;
          UPDATE cairn_event_connections SET authorized_at_ms = updated_at_ms`,
  },
];

/**
 * Every write takes the next revision from this one row, in its own transaction: a reader sees a
 * revision only once the write that took it committed (a sequence would hand it out before), and
 * the row lock puts writers in one order, so a poller of `revision()` misses no change.
 */
export const NEXT_REVISION =
  "UPDATE cairn_event_rules_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision";
/** `left` rather than LIKE: names may hold `_`, which LIKE reads as a wildcard. */
const NAME_PAGE = (first: number) =>
  `left(name, length($${first})) = $${first} AND name COLLATE "C" > $${first + 1}
   ORDER BY name COLLATE "C" LIMIT $${first + 2}`;

/**
 * Opens (migrating) the cluster rule store on `db`; connection secrets are sealed with `masterKey`
 * (every node holds the same one). Every write is one transaction that takes the next revision, so
 * a node polling `revision()` sees every change once it is committed. Closing the
 * store leaves `db` open (its owner closes it).
 *
 * @example const rules = await openPostgresEventRuleStore(db, { masterKey });
 */
export async function openPostgresEventRuleStore(
  db: PostgresDatabase,
  options: { masterKey: MasterKey },
): Promise<EventRuleStore> {
  await migrate(db, "event-rules", EVENT_RULES_MIGRATIONS);
  return new PostgresEventRuleStore(db, options.masterKey);
}

class PostgresEventRuleStore implements EventRuleStore {
  private closed = false;

  constructor(
    private readonly db: PostgresDatabase,
    private readonly masterKey: MasterKey,
  ) {}

  async putRule(rule: RuleDefinition, nowMs: number): Promise<{ rule: EventRule; created: boolean }> {
    this.open();
    assertEventScope(rule);
    // xmax = 0 only on the row version an INSERT wrote: the usual way to tell an upsert's insert.
    const [row] = await this.write((tx, revision) =>
      tx.query<RuleRow & { inserted: boolean }>(
        `INSERT INTO cairn_event_rules (arn, account_id, region, name, event_pattern, state, description, role_arn,
         created_at_ms, updated_at_ms, generation)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10)
       ON CONFLICT (arn) DO UPDATE SET event_pattern = excluded.event_pattern, state = excluded.state,
         description = excluded.description, role_arn = excluded.role_arn,
         updated_at_ms = excluded.updated_at_ms, generation = excluded.generation
       RETURNING *, (xmax = 0) AS inserted`,
        [
          ...[rule.arn, rule.accountId, rule.region, rule.name, rule.eventPattern, rule.state],
          ...[rule.description ?? null, rule.roleArn ?? null, nowMs, revision],
        ],
      ),
    );
    return { rule: ruleOfRow(row!), created: row!.inserted };
  }

  async getRule(arn: string): Promise<EventRule | undefined> {
    this.open();
    const [row] = await this.db.query<RuleRow>("SELECT * FROM cairn_event_rules WHERE arn = $1", [arn]);
    return row === undefined ? undefined : ruleOfRow(row);
  }

  async listRules(scope: EventScope, page: NamePage): Promise<EventRule[]> {
    this.open();
    const rows = await this.db.query<RuleRow>(
      `SELECT * FROM cairn_event_rules WHERE account_id = $1 AND region = $2 AND ${NAME_PAGE(3)}`,
      [scope.accountId, scope.region, ...pageValues(page)],
    );
    return rows.map(ruleOfRow);
  }

  async countRules(scope: EventScope): Promise<number> {
    this.open();
    return this.count("cairn_event_rules", scope);
  }

  async setRuleState(arn: string, state: RuleState, nowMs: number): Promise<boolean> {
    this.open();
    const rows = await this.write((tx, revision) =>
      tx.query(
        "UPDATE cairn_event_rules SET state = $1, updated_at_ms = $2, generation = $3 WHERE arn = $4 RETURNING 1",
        [state, nowMs, revision, arn],
      ),
    );
    return rows.length === 1;
  }

  async deleteRule(arn: string): Promise<"deleted" | "has-targets" | "absent"> {
    this.open();
    return this.write(async (tx) => {
      if (!(await lockRule(tx, arn))) return "absent";
      const [targets] = await tx.query<{ n: string }>(
        "SELECT count(*) AS n FROM cairn_event_targets WHERE rule_arn = $1",
        [arn],
      );
      if (Number(targets?.n ?? 0) > 0) return "has-targets";
      await tx.query("DELETE FROM cairn_event_rules WHERE arn = $1", [arn]);
      return "deleted";
    });
  }

  async putTargets(
    ruleArn: string,
    targets: readonly EventTarget[],
    maxTargets: number,
  ): Promise<"ok" | "limit" | "absent"> {
    this.open();
    return this.write(async (tx, revision) => {
      // The rule's row lock serialises PutTargets calls on one rule, so the limit holds across nodes.
      if (!(await lockRule(tx, ruleArn))) return "absent";
      const existing = await tx.query<{ target_id: string }>(
        "SELECT target_id FROM cairn_event_targets WHERE rule_arn = $1",
        [ruleArn],
      );
      const ids = new Set([...existing.map((row) => row.target_id), ...targets.map((target) => target.id)]);
      if (ids.size > maxTargets) return "limit";
      for (const target of targets) {
        await tx.query(
          `INSERT INTO cairn_event_targets (rule_arn, target_id, spec) VALUES ($1, $2, $3)
           ON CONFLICT (rule_arn, target_id) DO UPDATE SET spec = excluded.spec`,
          [ruleArn, target.id, JSON.stringify(target)],
        );
      }
      await touchRule(tx, ruleArn, revision);
      return "ok";
    });
  }

  async listTargets(ruleArn: string, afterId: string | undefined, limit: number): Promise<EventTarget[] | undefined> {
    this.open();
    return this.db.transaction(async (tx) => {
      const rule = await tx.query("SELECT 1 FROM cairn_event_rules WHERE arn = $1", [ruleArn]);
      if (rule.length === 0) return undefined;
      const rows = await tx.query<TargetRow>(
        `SELECT spec FROM cairn_event_targets WHERE rule_arn = $1 AND target_id COLLATE "C" > $2
         ORDER BY target_id COLLATE "C" LIMIT $3`,
        [ruleArn, afterId ?? "", limit],
      );
      return rows.map(targetOfRow);
    });
  }

  async removeTargets(ruleArn: string, ids: readonly string[]): Promise<string[] | undefined> {
    this.open();
    return this.write(async (tx, revision) => {
      if (!(await lockRule(tx, ruleArn))) return undefined;
      const rows = await tx.query<{ target_id: string }>(
        "DELETE FROM cairn_event_targets WHERE rule_arn = $1 AND target_id = ANY($2::text[]) RETURNING target_id",
        [ruleArn, [...new Set(ids)]],
      );
      if (rows.length > 0) await touchRule(tx, ruleArn, revision);
      const removed = new Set(rows.map((row) => row.target_id));
      return [...new Set(ids)].filter((id) => removed.has(id));
    });
  }

  async createConnection(connection: NewConnection): Promise<{ connection: EventConnection; created: boolean }> {
    this.open();
    assertEventScope(connection);
    const values = connectionInsertValues(connection, this.masterKey);
    const inserted = await this.write((tx) =>
      tx.query(
        `INSERT INTO cairn_event_connections (${CONNECTION_COLUMNS}, sealed_auth)
       VALUES (${values.map((_, i) => `$${i + 1}`).join(", ")})
       ON CONFLICT (account_id, region, name) DO NOTHING RETURNING 1`,
        values,
      ),
    );
    const stored = await this.getConnection(connection, connection.name);
    if (stored === undefined) throw new Error(`The connection ${connection.arn} was deleted as it was created.`);
    return { connection: stored, created: inserted.length === 1 };
  }

  async getConnection(scope: EventScope, name: string): Promise<EventConnection | undefined> {
    this.open();
    const [row] = await this.db.query<ConnectionRow>(
      `SELECT ${CONNECTION_COLUMNS} FROM cairn_event_connections WHERE account_id = $1 AND region = $2 AND name = $3`,
      [scope.accountId, scope.region, name],
    );
    return row === undefined ? undefined : connectionOfRow(row);
  }

  async listConnections(scope: EventScope, page: NamePage, state?: ConnectionState): Promise<EventConnection[]> {
    this.open();
    const rows = await this.db.query<ConnectionRow>(
      `SELECT ${CONNECTION_COLUMNS} FROM cairn_event_connections WHERE account_id = $1 AND region = $2
         AND ($3::text IS NULL OR connection_state = $3) AND ${NAME_PAGE(4)}`,
      [scope.accountId, scope.region, state ?? null, ...pageValues(page)],
    );
    return rows.map(connectionOfRow);
  }

  async countConnections(scope: EventScope): Promise<number> {
    this.open();
    return this.count("cairn_event_connections", scope);
  }

  async deleteConnection(scope: EventScope, name: string): Promise<EventConnection | undefined> {
    this.open();
    const [row] = await this.write((tx) =>
      tx.query<ConnectionRow>(
        `DELETE FROM cairn_event_connections WHERE account_id = $1 AND region = $2 AND name = $3
         RETURNING ${CONNECTION_COLUMNS}`,
        [scope.accountId, scope.region, name],
      ),
    );
    return row === undefined ? undefined : connectionOfRow(row);
  }

  async updateConnection(
    scope: EventScope,
    name: string,
    change: ConnectionChange,
    nowMs: number,
  ): Promise<EventConnection | undefined> {
    this.open();
    const [row] = await this.write(async (tx) => {
      const [current] = await tx.query<{ arn: string }>(
        "SELECT arn FROM cairn_event_connections WHERE account_id = $1 AND region = $2 AND name = $3 FOR UPDATE",
        [scope.accountId, scope.region, name],
      );
      if (current === undefined) return [];
      const auth = change.auth;
      const sealed = auth === undefined ? undefined : connectionRowValues({ arn: current.arn, auth }, this.masterKey);
      return tx.query<ConnectionRow>(
        `UPDATE cairn_event_connections SET description = coalesce($1, description),
           authorization_type = coalesce($2, authorization_type), public_auth = coalesce($3, public_auth),
           sealed_auth = coalesce($4, sealed_auth), updated_at_ms = $5,
           connection_state = coalesce($7, connection_state),
           state_reason = CASE WHEN $7::text IS NULL THEN state_reason END,
           authorized_at_ms = CASE WHEN $7 = 'AUTHORIZED' THEN $5 ELSE authorized_at_ms END
         WHERE arn = $6
         RETURNING ${CONNECTION_COLUMNS}`,
        [
          ...[change.description ?? null, auth?.authorizationType ?? null, sealed?.publicAuth ?? null],
          ...[sealed?.sealedAuth ?? null, nowMs, current.arn, change.state ?? null],
        ],
      );
    });
    return row === undefined ? undefined : connectionOfRow(row);
  }

  async setConnectionState(arn: string, change: ConnectionStateChange): Promise<boolean> {
    this.open();
    const set = await this.db.query(
      `UPDATE cairn_event_connections SET connection_state = $1, state_reason = $2,
         authorized_at_ms = CASE WHEN $1 = 'AUTHORIZED' THEN $3 ELSE authorized_at_ms END
       WHERE arn = $4 AND ($5::bigint IS NULL OR updated_at_ms = $5)
         AND (connection_state <> $1 OR state_reason IS DISTINCT FROM $2 OR $1 = 'AUTHORIZED')
       RETURNING 1`,
      [change.state, change.reason ?? null, change.nowMs, arn, change.ifUpdatedAtMs ?? null],
    );
    return set.length === 1;
  }

  async connectionAuth(connectionArn: string): Promise<ConnectionAuth | undefined> {
    this.open();
    const [row] = await this.db.query<{ sealed_auth: string }>(
      "SELECT sealed_auth FROM cairn_event_connections WHERE arn = $1",
      [connectionArn],
    );
    return row === undefined ? undefined : openConnectionAuth(this.masterKey, connectionArn, row.sealed_auth);
  }

  async createApiDestination(d: ApiDestination): Promise<{ destination: ApiDestination; created: boolean }> {
    this.open();
    assertEventScope(d);
    const inserted = await this.write((tx) =>
      tx.query(
        `INSERT INTO cairn_event_api_destinations (${DESTINATION_COLUMNS})
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (account_id, region, name) DO NOTHING RETURNING 1`,
        [
          ...[d.arn, d.accountId, d.region, d.name, d.description ?? null, d.connectionArn],
          ...[d.invocationEndpoint, d.httpMethod, d.invocationRateLimitPerSecond ?? null, d.createdAtMs, d.updatedAtMs],
        ],
      ),
    );
    const stored = await this.getApiDestination(d, d.name);
    if (stored === undefined) throw new Error(`The API destination ${d.arn} was deleted as it was created.`);
    return { destination: stored, created: inserted.length === 1 };
  }

  async getApiDestination(scope: EventScope, name: string): Promise<ApiDestination | undefined> {
    this.open();
    const [row] = await this.db.query<DestinationRow>(
      "SELECT * FROM cairn_event_api_destinations WHERE account_id = $1 AND region = $2 AND name = $3",
      [scope.accountId, scope.region, name],
    );
    return row === undefined ? undefined : destinationOfRow(row);
  }

  async apiDestination(arn: string): Promise<ApiDestination | undefined> {
    this.open();
    const [row] = await this.db.query<DestinationRow>("SELECT * FROM cairn_event_api_destinations WHERE arn = $1", [
      arn,
    ]);
    return row === undefined ? undefined : destinationOfRow(row);
  }

  async listApiDestinations(scope: EventScope, page: NamePage, connectionArn?: string): Promise<ApiDestination[]> {
    this.open();
    const rows = await this.db.query<DestinationRow>(
      `SELECT * FROM cairn_event_api_destinations WHERE account_id = $1 AND region = $2
         AND ($3::text IS NULL OR connection_arn = $3) AND ${NAME_PAGE(4)}`,
      [scope.accountId, scope.region, connectionArn ?? null, ...pageValues(page)],
    );
    return rows.map(destinationOfRow);
  }

  async updateApiDestination(
    scope: EventScope,
    name: string,
    change: ApiDestinationChange,
    nowMs: number,
  ): Promise<ApiDestination | undefined> {
    this.open();
    const [row] = await this.write((tx) =>
      tx.query<DestinationRow>(
        `UPDATE cairn_event_api_destinations SET description = coalesce($1, description),
           connection_arn = coalesce($2, connection_arn), invocation_endpoint = coalesce($3, invocation_endpoint),
           http_method = coalesce($4, http_method), rate_limit = coalesce($5, rate_limit), updated_at_ms = $6
         WHERE account_id = $7 AND region = $8 AND name = $9 RETURNING *`,
        [
          ...[change.description ?? null, change.connectionArn ?? null, change.invocationEndpoint ?? null],
          ...[change.httpMethod ?? null, change.invocationRateLimitPerSecond ?? null, nowMs],
          ...[scope.accountId, scope.region, name],
        ],
      ),
    );
    return row === undefined ? undefined : destinationOfRow(row);
  }

  async countApiDestinations(scope: EventScope): Promise<number> {
    this.open();
    return this.count("cairn_event_api_destinations", scope);
  }

  async deleteApiDestination(scope: EventScope, name: string): Promise<boolean> {
    this.open();
    const rows = await this.write((tx) =>
      tx.query(
        "DELETE FROM cairn_event_api_destinations WHERE account_id = $1 AND region = $2 AND name = $3 RETURNING 1",
        [scope.accountId, scope.region, name],
      ),
    );
    return rows.length === 1;
  }

  async activeRules(): Promise<RuleWithTargets[]> {
    this.open();
    // One snapshot for both reads, so no rule is listed with another moment's targets.
    return this.db.transaction(async (tx) => {
      await tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
      const rules = await tx.query<RuleRow>(
        `SELECT * FROM cairn_event_rules WHERE state <> 'DISABLED' ORDER BY arn COLLATE "C"`,
      );
      const targets = await tx.query<TargetRow>(
        `SELECT t.rule_arn, t.target_id, t.spec FROM cairn_event_targets t
         JOIN cairn_event_rules r ON r.arn = t.rule_arn WHERE r.state <> 'DISABLED'
         ORDER BY t.rule_arn COLLATE "C", t.target_id COLLATE "C"`,
      );
      return rulesWithTargets(rules, targets);
    });
  }

  async revision(): Promise<number> {
    this.open();
    const [row] = await this.db.query<{ revision: string }>("SELECT revision FROM cairn_event_rules_revision");
    return Number(row?.revision ?? 0);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private open(): void {
    if (this.closed) throw closedStoreError();
  }

  /** Runs `body` in one transaction that first takes the next revision (given to it); nothing moves on failure. */
  private write<T>(body: (tx: Queryable, revision: number) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<{ revision: string }>(NEXT_REVISION);
      return body(tx, Number(row!.revision));
    });
  }

  private async count(table: string, scope: EventScope): Promise<number> {
    const [row] = await this.db.query<{ n: string }>(
      `SELECT count(*) AS n FROM ${table} WHERE account_id = $1 AND region = $2`,
      [scope.accountId, scope.region],
    );
    return Number(row?.n ?? 0);
  }
}

/** Inside a transaction: locks the rule's row until commit; false when there is no such rule. */
async function lockRule(tx: Queryable, arn: string): Promise<boolean> {
  return (await tx.query("SELECT 1 FROM cairn_event_rules WHERE arn = $1 FOR UPDATE", [arn])).length === 1;
}

/** The rule takes the write's revision as its generation. */
async function touchRule(tx: Queryable, arn: string, revision: number): Promise<void> {
  await tx.query("UPDATE cairn_event_rules SET generation = $1 WHERE arn = $2", [revision, arn]);
}

function pageValues(page: NamePage): [string, string, number] {
  return [page.prefix ?? "", page.afterName ?? "", page.limit];
}
