import { existsSync } from "node:fs";
import { join } from "node:path";
import { SAMPLES_DIR } from "./sample-records.js";

/** SigmaHQ's CloudTrail rules, beside the CloudTrail samples in the shared data (never copied into the repo). */
const SIGMA_DIR = join(SAMPLES_DIR, "../sigma-cloudtrail");
export const ACTIVE_RULES_DIR = join(SIGMA_DIR, "rules/cloud/aws/cloudtrail");
export const PLACEHOLDER_RULES_DIR = join(SIGMA_DIR, "rules-placeholder/cloud/aws/cloudtrail");
export const UNSUPPORTED_RULES_DIR = join(SIGMA_DIR, "unsupported/cloud");

let warned = false;

/** `false` when the Sigma rules are present, else the loud reason a test gives for skipping. */
export function sigmaRulesMissingReason(): string | false {
  if (existsSync(ACTIVE_RULES_DIR)) return false;
  const reason = `SKIPPED: SigmaHQ CloudTrail rules not found at ${SIGMA_DIR} (set CAIRN_SAMPLES_DIR or put ../shared beside the checkout)`;
  if (!warned) {
    warned = true;
    console.warn(`\n*** ${reason} ***\n`);
  }
  return reason;
}
