import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { inEventTimeOrder, loadRuleFiles, SigmaEngine, type SigmaRule } from "../../src/sigma/index.js";
import { invictusRecords, readRecordsFile, SAMPLES_DIR, samplesMissingReason } from "../helpers/sample-records.js";
import {
  ACTIVE_RULES_DIR,
  PLACEHOLDER_RULES_DIR,
  sigmaRulesMissingReason,
  UNSUPPORTED_RULES_DIR,
} from "../helpers/sigma-rules.js";

const STRATUS_DIR = join(SAMPLES_DIR, "stratus-red-team-detonation-logs");
const skip = samplesMissingReason() || sigmaRulesMissingReason();

async function allRules(): Promise<SigmaRule[]> {
  const loaded = await loadRuleFiles([ACTIVE_RULES_DIR, UNSUPPORTED_RULES_DIR]);
  return loaded.rules;
}

/** Titles of the matches, with how often each fired, over records offered in eventTime order. */
function firing(rules: readonly SigmaRule[], records: readonly unknown[]): Map<string, number> {
  const engine = new SigmaEngine(rules);
  const counts = new Map<string, number>();
  const note = (title: string) => counts.set(title, (counts.get(title) ?? 0) + 1);
  for (const record of inEventTimeOrder(records)) for (const match of engine.offer(record)) note(match.title);
  for (const match of engine.flush()) note(match.title);
  return counts;
}

describe("SigmaHQ's CloudTrail rules load", { skip }, () => {
  it("loads every active rule, as one detection rule per file", async () => {
    const files = readdirSync(ACTIVE_RULES_DIR).filter((name) => name.endsWith(".yml"));
    assert.equal(files.length, 57);
    const { rules, errors } = await loadRuleFiles([ACTIVE_RULES_DIR]);
    assert.deepEqual(errors, []);
    assert.equal(rules.length, 57);
    assert.ok(rules.every((rule) => rule.kind === "detection"));
    assert.equal(new Set(rules.map((rule) => rule.id)).size, 57);
    assert.deepEqual(new SigmaEngine(rules).errors, []);
  });

  it("refuses the placeholder rule, naming |expand", async () => {
    const { rules, errors } = await loadRuleFiles([PLACEHOLDER_RULES_DIR]);
    assert.equal(rules.length, 0);
    assert.equal(errors.length, 1);
    assert.match(errors[0]!.reason, /\|expand/);
  });

  it("loads the Sigma 1 `| count()` rules as correlations and refuses the other two with their reasons", async () => {
    const { rules, errors } = await loadRuleFiles([UNSUPPORTED_RULES_DIR]);
    const correlations = rules.filter((rule) => rule.kind === "correlation");
    assert.deepEqual(correlations.map((rule) => rule.source.file.split("/").pop()).sort(), [
      "aws_ec2_download_userdata.yml",
      "aws_enum_backup.yml",
      "aws_enum_listing.yml",
      "aws_enum_network.yml",
      "aws_enum_storage.yml",
      "aws_macic_evasion.yml",
    ]);
    // aws_macic_evasion counts per source address (`count() by sourceIPAddress`).
    const macie = correlations.find((rule) => rule.source.file.endsWith("aws_macic_evasion.yml"));
    assert.deepEqual(macie?.kind === "correlation" ? [macie.groupBy, macie.timespanMs] : [], [
      ["sourceIPAddress"],
      600_000,
    ]);
    assert.deepEqual(errors.map((error) => [error.source.file.split("/").pop(), error.reason.split(":")[0]]).sort(), [
      ["aws_lambda_function_created_or_invoked.yml", "the Sigma 1 'near' aggregation is not supported"],
      ["aws_ses_messaging_enabled.yml", "detection.timeframe without an aggregation"],
    ]);
  });
});

/**
 * Stratus Red Team detonations, one technique per file (named `aws.<tactic>.<technique>.json`).
 * "Rules written for it": the rules whose title and detection describe the technique's API calls,
 * read side by side with the technique's documentation (stratus-red-team.cloud/attack-techniques/AWS/):
 * - ec2-get-password-data calls GetPasswordData, one of aws_enum_backup's enumeration calls;
 * - ec2-steal-instance-credentials and ssm-send-command run commands through SSM SendCommand
 *   (aws_cloudtrail_ssm_malicious_usage);
 * - cloudtrail-delete / cloudtrail-stop: DeleteTrail / StopLogging (aws_cloudtrail_disable_logging);
 * - vpc-remove-flow-logs: DeleteFlowLogs; ec2-download-user-data: DescribeInstanceAttribute userData
 *   repeatedly (aws_ec2_download_userdata, a count); ec2-security-group-open-port-22-ingress:
 *   AuthorizeSecurityGroupIngress; ec2-share-ebs-snapshot: ModifySnapshotAttribute;
 *   console-login-without-mfa: ConsoleLogin with MFAUsed No;
 * - iam-backdoor-user and iam-create-admin-user create an access key for another user
 *   (aws_iam_backdoor_users_keys); lambda-layer-extension: UpdateFunctionConfiguration with layers;
 *   iam-update-user-login-profile: UpdateLoginProfile on another user.
 * Techniques with no SigmaHQ rule today (cloudtrail-event-selectors, organizations-leave, dns-delete-logs,
 * ec2-share-ami, rds-share-snapshot, lambda-*, sts-federation-token, bedrock, …) expect nothing.
 */
const WRITTEN_FOR: Record<string, string[]> = {
  "aws.credential-access.ec2-get-password-data.json": ["Potential Backup Enumeration on AWS"],
  "aws.credential-access.ec2-steal-instance-credentials.json": [
    "Potential Malicious Usage of CloudTrail System Manager",
  ],
  "aws.defense-evasion.cloudtrail-delete.json": ["AWS CloudTrail Important Change"],
  "aws.defense-evasion.cloudtrail-stop.json": ["AWS CloudTrail Important Change"],
  "aws.defense-evasion.vpc-remove-flow-logs.json": ["AWS VPC Flow Logs Deleted"],
  "aws.discovery.ec2-download-user-data.json": ["AWS EC2 Download Userdata"],
  "aws.execution.ssm-send-command.json": ["Potential Malicious Usage of CloudTrail System Manager"],
  "aws.exfiltration.ec2-security-group-open-port-22-ingress.json": ["Ingress/Egress Security Group Modification"],
  "aws.exfiltration.ec2-share-ebs-snapshot.json": ["AWS Snapshot Backup Exfiltration"],
  "aws.initial-access.console-login-without-mfa.json": ["AWS Successful Console Login Without MFA"],
  "aws.persistence.iam-backdoor-user.json": ["AWS IAM Backdoor Users Keys"],
  "aws.persistence.iam-create-admin-user.json": ["AWS IAM Backdoor Users Keys"],
  "aws.persistence.lambda-layer-extension.json": ["AWS New Lambda Layer Attached"],
  "aws.privilege-escalation.iam-update-user-login-profile.json": ["AWS User Login Profile Was Modified"],
};

/**
 * Unrelated rules that fire anyway, and why: aws_sts_assumerole_misuse matches any call made with
 * role-session credentials whose session issuer is a role, which is how Stratus runs several
 * detonations (it is a broad, low-level hunting rule).
 */
const ALSO_FIRES: Record<string, string[]> = {
  "aws.credential-access.ec2-get-password-data.json": ["AWS STS AssumeRole Misuse"],
  "aws.credential-access.ec2-steal-instance-credentials.json": ["AWS STS AssumeRole Misuse"],
  "aws.defense-evasion.organizations-leave.json": ["AWS STS AssumeRole Misuse"],
  "aws.discovery.ec2-download-user-data.json": ["AWS STS AssumeRole Misuse"],
  "aws.execution.ec2-launch-unusual-instances.json": ["AWS STS AssumeRole Misuse"],
  "aws.impact.bedrock-invoke-model.json": ["AWS STS AssumeRole Misuse"],
  "aws.lateral-movement.ec2-serial-console-send-ssh-public-key.json": ["AWS STS AssumeRole Misuse"],
};

describe("SigmaHQ's rules over Stratus Red Team detonations (one technique per file)", { skip }, () => {
  it("fire on the technique they were written for, and elsewhere only as listed", async () => {
    const rules = await allRules();
    const files = readdirSync(STRATUS_DIR)
      .filter((name) => name.endsWith(".json"))
      .sort();
    assert.equal(files.length, 35);
    for (const name of Object.keys({ ...WRITTEN_FOR, ...ALSO_FIRES })) assert.ok(files.includes(name), name);
    for (const file of files) {
      const fired = [...firing(rules, readRecordsFile(join(STRATUS_DIR, file))).keys()].sort();
      const expected = [...new Set([...(WRITTEN_FOR[file] ?? []), ...(ALSO_FIRES[file] ?? [])])].sort();
      assert.deepEqual(fired, expected, file);
    }
  });
});

/**
 * The invictus-ir/Sigma-AWS account: every Stratus technique detonated in one account, as AWS
 * delivered it (55 files by time, not by technique). Each rule that fires, how often, and the
 * detonation it comes from (the records' eventNames, read in the files):
 */
const INVICTUS_FIRES: Record<string, number> = {
  "AWS Bucket Deleted": 5, // Terraform (Stratus' warm-up/clean-up) deleting the techniques' buckets
  "AWS CloudTrail Important Change": 6, // cloudtrail-stop (StopLogging ×3), cloudtrail-delete, and Terraform deleting trails
  "AWS EC2 Download Userdata": 1, // ec2-download-user-data (a Sigma 1 count > 10 in 30 min)
  "AWS IAM Backdoor Users Keys": 2, // iam-backdoor-user, iam-create-admin-user
  "AWS STS AssumeRole Misuse": 76, // role-session calls of the detonations (broad rule, see ALSO_FIRES)
  "AWS Snapshot Backup Exfiltration": 2, // ec2-share-ebs-snapshot (share and unshare)
  "AWS Successful Console Login Without MFA": 1, // console-login-without-mfa
  "AWS VPC Flow Logs Deleted": 1, // vpc-remove-flow-logs
  "Account Enumeration on AWS": 4, // Terraform's List* bursts while building and removing prerequisites (count > 50 in 10 min)
  "Ingress/Egress Security Group Modification": 6, // ec2-security-group-open-port-22-ingress and its setup
  "New Network Route Added": 6, // the VPC setup of the EC2 techniques (CreateRoute)
  "Potential Backup Enumeration on AWS": 10, // ec2-get-password-data (a Sigma 1 count > 5 in 10 min)
  "Potential Bucket Enumeration on AWS": 3, // ListBuckets by an IAM user from the S3 and CloudTrail consoles
  "Potential Malicious Usage of CloudTrail System Manager": 1, // ssm-send-command
  "Potential Storage Enumeration on AWS": 8, // bursts of S3 Get/ListBucket* calls (a Sigma 1 count > 5 in 10 min)
};

describe("SigmaHQ's rules over the invictus-sigma-aws account", { skip }, () => {
  it("fire exactly as listed, and no other rule fires", async () => {
    const fired = Object.fromEntries([...firing(await allRules(), invictusRecords()).entries()].sort());
    assert.deepEqual(fired, INVICTUS_FIRES);
  });
});
