import { join } from "node:path";
import { importPostgresRuleDeliveries, readSqliteRuleDeliveries } from "../../stores/rule-deliveries/index.js";
import { countOne, type CopyCount } from "./copy-count.js";
import type { MigrationStepDefinition } from "./migration-step.js";

export interface RuleDeliveryCounts {
  readonly ruleDeliveryCursor: CopyCount;
  readonly queuedDeliveries: CopyCount;
  readonly deliveryFailures: CopyCount;
}

/**
 * The EventBridge rule consumer's state from `<data-dir>/rule-deliveries.db` (none: nothing to
 * copy): its cursor, the deliveries it still owes (they name journal seqs, which the journal copy
 * kept) and the failures it kept. The cluster notes what it imported, so a delivery a node made
 * since is not queued again by a re-run. Before the rules: a node delivers only for rules that
 * exist, and finds their consumer's cursor already there.
 */
export const copyRuleDeliveries: MigrationStepDefinition<RuleDeliveryCounts> = {
  name: "copy EventBridge rule deliveries",
  unit: "queued deliveries",
  async run(source, target) {
    const contents = readSqliteRuleDeliveries(join(source.dataDir, "rule-deliveries.db"));
    const added = await importPostgresRuleDeliveries(target.db, contents);
    return {
      ruleDeliveryCursor:
        contents.cursors.journal + contents.cursors.sigma === 0
          ? { copied: 0, present: 0 }
          : countOne(added.cursorMoved),
      queuedDeliveries: { copied: added.queued, present: contents.queued.length - added.queued },
      deliveryFailures: { copied: added.failures, present: contents.failures.length - added.failures },
    };
  },
};
