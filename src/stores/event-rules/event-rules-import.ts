import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import type { MasterKey } from "../../lib/secret-envelope.js";
import { migrate, type PostgresDatabase, type Queryable } from "../postgres/index.js";
import {
  CONNECTION_COLUMNS,
  DESTINATION_COLUMNS,
  type ConnectionRow,
  type DestinationRow,
  type RuleRow,
  type TargetRow,
} from "./event-rule-rows.js";
import { assertEventScope } from "./event-rule-store.js";
import { EVENT_RULES_MIGRATIONS, NEXT_REVISION } from "./postgres-event-rule-store.js";
import { resealed } from "./reseal-connection-secrets.js";

/**
 * Every row of an embedded rule store, of every account and region, as stored: connection secrets
 * stay sealed with the data dir's master key (`sealed_auth`), never opened here.
 */
export interface EventRulesContents {
  readonly rules: readonly RuleRow[];
  readonly targets: readonly TargetRow[];
  readonly connections: ReadonlyArray<ConnectionRow & { readonly sealed_auth: string }>;
  readonly destinations: readonly DestinationRow[];
}

export interface EventRulesImported {
  readonly rules: number;
  readonly targets: number;
  readonly connections: number;
  readonly destinations: number;
}

/** Reads `<data-dir>/event-rules.db` whole, read-only, for `cairn migrate --to-cluster`. A missing file holds nothing. */
export function readSqliteEventRules(path: string): EventRulesContents {
  if (!existsSync(path)) return { rules: [], targets: [], connections: [], destinations: [] };
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return {
      rules: db.prepare<[], RuleRow>("SELECT * FROM event_rules ORDER BY arn").all(),
      targets: db.prepare<[], TargetRow>("SELECT * FROM event_targets ORDER BY rule_arn, target_id").all(),
      connections: db
        .prepare<[], ConnectionRow & { sealed_auth: string }>(
          `SELECT ${CONNECTION_COLUMNS}, sealed_auth FROM event_connections ORDER BY arn`,
        )
        .all(),
      destinations: db.prepare<[], DestinationRow>("SELECT * FROM event_api_destinations ORDER BY arn").all(),
    };
  } finally {
    db.close();
  }
}

/**
 * Adds to the cluster's rule tables, in one transaction that takes one revision when it adds
 * anything (a polling node reloads once), what it does not hold: connections (their sealed auth
 * opened with `keys.from`, the data dir's key, and sealed with `keys.to`, the cluster's, bound to
 * the same ARN), then API destinations (they name connections), then rules with their targets
 * (targets name destinations and topics), every ARN, name and time as stored; a rule's generation
 * is the import's revision. A connection or destination the cluster holds under the same name and
 * ARN, or a rule under its ARN, is left as it is (a rule's targets with it), so a re-run adds
 * nothing and writes nothing. The same name under another ARN (created in the cluster) is refused:
 * targets name ARNs.
 */
export async function importPostgresEventRules(
  db: PostgresDatabase,
  contents: EventRulesContents,
  keys: { readonly from: MasterKey; readonly to: MasterKey },
): Promise<EventRulesImported> {
  await migrate(db, "event-rules", EVENT_RULES_MIGRATIONS);
  [...contents.rules, ...contents.connections, ...contents.destinations].forEach((row) =>
    assertEventScope({ accountId: row.account_id, region: row.region }),
  );
  return db.transaction(async (tx) => {
    // Locked, not moved yet: a run that adds nothing writes nothing (nodes reload nothing).
    const [row] = await tx.query<{ revision: string }>(
      "SELECT revision FROM cairn_event_rules_revision WHERE id = 1 FOR UPDATE",
    );
    const revision = Number(row!.revision) + 1;
    let connections = 0;
    for (const c of contents.connections) {
      if (await heldByName(tx, "cairn_event_connections", c, "EventBridge connection")) continue;
      await tx.query(
        `INSERT INTO cairn_event_connections (${CONNECTION_COLUMNS}, sealed_auth) VALUES (${params(14)})`,
        [
          ...[c.arn, c.account_id, c.region, c.name, c.description, c.authorization_type, c.public_auth],
          ...[c.secret_arn, c.created_at_ms, c.updated_at_ms, c.connection_state, c.state_reason, c.authorized_at_ms],
          resealed(c, [keys.from], keys.to),
        ],
      );
      connections++;
    }
    let destinations = 0;
    for (const d of contents.destinations) {
      if (await heldByName(tx, "cairn_event_api_destinations", d, "API destination")) continue;
      await tx.query(`INSERT INTO cairn_event_api_destinations (${DESTINATION_COLUMNS}) VALUES (${params(11)})`, [
        ...[d.arn, d.account_id, d.region, d.name, d.description, d.connection_arn, d.invocation_endpoint],
        ...[d.http_method, d.rate_limit, d.created_at_ms, d.updated_at_ms],
      ]);
      destinations++;
    }
    const { rules, targets } = await importRules(tx, contents, revision);
    if (rules + connections + destinations > 0) await tx.query(NEXT_REVISION);
    return { rules, targets, connections, destinations };
  });
}

async function importRules(
  tx: Queryable,
  contents: EventRulesContents,
  revision: number,
): Promise<{ rules: number; targets: number }> {
  let rules = 0;
  let targets = 0;
  for (const r of contents.rules) {
    const inserted = await tx.query(
      `INSERT INTO cairn_event_rules (arn, account_id, region, name, event_pattern, state, description, role_arn,
         created_at_ms, updated_at_ms, generation) VALUES (${params(11)}) ON CONFLICT (arn) DO NOTHING RETURNING 1`,
      [
        ...[r.arn, r.account_id, r.region, r.name, r.event_pattern, r.state, r.description, r.role_arn],
        ...[r.created_at_ms, r.updated_at_ms, revision],
      ],
    );
    if (inserted.length === 0) continue;
    rules++;
    for (const t of contents.targets.filter((target) => target.rule_arn === r.arn)) {
      await tx.query("INSERT INTO cairn_event_targets (rule_arn, target_id, spec) VALUES ($1, $2, $3)", [
        t.rule_arn,
        t.target_id,
        t.spec,
      ]);
      targets++;
    }
  }
  return { rules, targets };
}

/** Whether the cluster holds a row of that scope and name: true when it is this one (same ARN); another is refused. */
async function heldByName(
  tx: Queryable,
  table: "cairn_event_connections" | "cairn_event_api_destinations",
  row: { arn: string; account_id: string; region: string; name: string },
  kind: string,
): Promise<boolean> {
  const [held] = await tx.query<{ arn: string }>(
    `SELECT arn FROM ${table} WHERE account_id = $1 AND region = $2 AND name = $3`,
    [row.account_id, row.region, row.name],
  );
  if (held !== undefined && held.arn !== row.arn)
    throw new Error(
      `The cluster already has another ${kind} named ${row.name} in account ${row.account_id} (${row.region}).`,
    );
  return held !== undefined;
}

/** `$1, …, $n`. */
function params(n: number): string {
  return Array.from({ length: n }, (_, i) => `$${i + 1}`).join(", ");
}
