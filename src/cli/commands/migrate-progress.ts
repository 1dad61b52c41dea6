import type { CopyCount } from "../../app/migrate/copy-count.js";
import type { MigrationCounts, MigrationProgress } from "../../app/migrate/migration-progress.js";
import { systemClock, type Clock } from "../../lib/clock.js";
import type { Output } from "../output.js";

/** Each kind of item a migration copies, by its name in the summary, in the order the steps copy them. */
export const MIGRATION_COUNT_LABELS: ReadonlyArray<readonly [keyof MigrationCounts, string]> = [
  ["journalEntries", "journal entries"],
  ["quarantined", "quarantined"],
  ["principals", "principals"],
  ["users", "IAM users"],
  ["policies", "IAM policies"],
  ["signingKeys", "signing keys"],
  ["bucketOwners", "bucket owners"],
  ["objects", "bucket objects"],
  ["trails", "trails"],
  ["deliveryStates", "delivery states"],
  ["snsTopics", "SNS topics"],
  ["snsSubscriptions", "SNS subscriptions"],
  ["ruleDeliveryCursor", "rule delivery cursor"],
  ["queuedDeliveries", "queued deliveries"],
  ["deliveryFailures", "delivery failures"],
  ["eventConnections", "connections"],
  ["apiDestinations", "API destinations"],
  ["eventRules", "EventBridge rules"],
  ["eventTargets", "rule targets"],
  ["sigmaRules", "Sigma rules"],
  ["sigmaMatches", "Sigma matches"],
  ["sigmaCursor", "Sigma cursor"],
  ["insightSeries", "Insights series"],
  ["insightPoints", "Insights counts"],
  ["savedQueries", "saved queries"],
  ["eventDataStores", "event data stores"],
  ["lakeFiles", "Lake files"],
  ["lakeDocuments", "Lake documents"],
];

/** Items a step may go through between two of its progress lines, at most. */
const LINE_EVERY_ITEMS = 10_000;
/** Time between two progress lines of a step that goes on, at most (while it reports anything). */
const LINE_EVERY_MS = 5_000;

/**
 * Progress lines on stderr (`cairn migrate: …`), so a long migration is not silent until its
 * summary, which stays alone on stdout: a line as each step starts, one every 10,000 items or
 * 5 seconds while it advances, one with its counts and time as it ends, and the total time last.
 * Plain lines rather than a redrawn bar: a migration is often run with stderr in a log.
 *
 * @example await runMigrate({ ..., progress: printMigrationProgress(process.stderr) });
 */
export function printMigrationProgress(stderr: Output, clock: Clock = systemClock): MigrationProgress {
  let firstStartedAtMs = 0;
  let startedAtMs = 0;
  let lineAtMs = 0;
  let lineDone = 0;
  const line = (text: string): void => void stderr.write(`cairn migrate: ${text}\n`);
  const seconds = (sinceMs: number): string => `${((clock.nowMs() - sinceMs) / 1_000).toFixed(1)} s`;
  return {
    started(step) {
      startedAtMs = lineAtMs = clock.nowMs();
      if (step.index === 1) firstStartedAtMs = startedAtMs;
      lineDone = 0;
      line(`step ${step.index}/${step.of}: ${step.name}`);
    },
    advanced(step, done, total) {
      const nowMs = clock.nowMs();
      if (done === total || (done - lineDone < LINE_EVERY_ITEMS && nowMs - lineAtMs < LINE_EVERY_MS)) return;
      lineAtMs = nowMs;
      lineDone = done;
      line(`  ${step.unit}: ${done}${total !== undefined ? ` of ${total}` : ""}`);
    },
    finished(step, counts) {
      const copied = MIGRATION_COUNT_LABELS.flatMap(([key, label]) => {
        const count = counts[key];
        return count === undefined ? [] : [`${label} ${describeCount(count)}`];
      });
      line(`step ${step.index}/${step.of} done in ${seconds(startedAtMs)}: ${copied.join("; ")}`);
      if (step.index === step.of) line(`all ${step.of} steps done in ${seconds(firstStartedAtMs)}`);
    },
  };
}

function describeCount(count: CopyCount): string {
  return `${count.copied} copied, ${count.present} already there`;
}
