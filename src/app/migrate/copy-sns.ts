import { join } from "node:path";
import { importPostgresSns, readSqliteSnsStore } from "../../stores/sns/index.js";
import type { CopyCount } from "./copy-count.js";
import type { MigrationStepDefinition } from "./migration-step.js";

export interface SnsCounts {
  readonly snsTopics: CopyCount;
  readonly snsSubscriptions: CopyCount;
}

/**
 * SNS topics with their display name and policy, then their subscriptions with their status and the
 * hash and expiry of their confirmation token (tokens are never stored, so none is copied), from
 * `<data-dir>/sns.db` (none: nothing to copy) into the cluster's tables, each kept unless its ARN is
 * there. Before the EventBridge rules, whose targets may name the topics.
 */
export const copySns: MigrationStepDefinition<SnsCounts> = {
  name: "copy SNS topics and subscriptions",
  unit: "SNS topics",
  async run(source, target) {
    const contents = readSqliteSnsStore(join(source.dataDir, "sns.db"));
    const added = await importPostgresSns(target.db, contents);
    return {
      snsTopics: { copied: added.topics, present: contents.topics.length - added.topics },
      snsSubscriptions: {
        copied: added.subscriptions,
        present: contents.subscriptions.length - added.subscriptions,
      },
    };
  },
};
