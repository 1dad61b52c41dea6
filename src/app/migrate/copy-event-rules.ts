import { join } from "node:path";
import { importPostgresEventRules, readSqliteEventRules } from "../../stores/event-rules/index.js";
import type { CopyCount } from "./copy-count.js";
import type { MigrationStepDefinition } from "./migration-step.js";

export interface EventRuleCounts {
  readonly eventConnections: CopyCount;
  readonly apiDestinations: CopyCount;
  readonly eventRules: CopyCount;
  readonly eventTargets: CopyCount;
}

/**
 * EventBridge connections, API destinations, rules and targets from `<data-dir>/event-rules.db`
 * (none: nothing to copy), ARNs, states, patterns and times as stored. Connection secrets stay
 * sealed on the way: the store opens each with the data dir's key and seals it with the cluster's
 * in the same call (importPostgresEventRules), so no plaintext reaches this step, its counts or its
 * errors. After the rule deliveries: a node that found the rules first, without the consumer's
 * cursor, would match the whole copied journal again.
 */
export const copyEventRules: MigrationStepDefinition<EventRuleCounts> = {
  name: "copy EventBridge rules",
  unit: "EventBridge rules",
  async run(source, target) {
    const contents = readSqliteEventRules(join(source.dataDir, "event-rules.db"));
    const added = await importPostgresEventRules(target.db, contents, { from: source.masterKey, to: target.masterKey });
    const count = (copied: number, of: readonly unknown[]): CopyCount => ({ copied, present: of.length - copied });
    return {
      eventConnections: count(added.connections, contents.connections),
      apiDestinations: count(added.destinations, contents.destinations),
      eventRules: count(added.rules, contents.rules),
      eventTargets: count(added.targets, contents.targets),
    };
  },
};
