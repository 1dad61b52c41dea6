import { compileEventPattern, offerCloudTrailRecord, type RuleState } from "../src/event-patterns/index.js";
import type { CloudTrailRecord } from "../src/model/record.js";

/**
 * 100 EventBridge rules of the kind a security team writes over CloudTrail (tampering with logging,
 * IAM persistence, exposure of data, destructive calls…), for bench/detection.ts. They match on
 * eventSource and eventName, and some on userIdentity, errorCode, requestParameters and
 * sourceIPAddress with the pattern operators (prefix, suffix, wildcard, anything-but, exists, cidr,
 * $or). Over the shared samples (Stratus Red Team detonations, so attack-heavy) about 5% of the
 * records match one of them, most rules never fire, and few records match two.
 */
export interface BenchRule {
  readonly name: string;
  readonly pattern: Record<string, unknown>;
  readonly state: RuleState;
}

const API_CALL = "AWS API Call via CloudTrail";

function call(
  service: string,
  names: readonly unknown[],
  detail: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    source: [`aws.${service}`],
    "detail-type": [API_CALL],
    detail: { eventSource: [`${service}.amazonaws.com`], eventName: names, ...detail },
  };
}

/** Rules on one service's calls by name: [rule name, event names, extra detail conditions]. */
type Row = readonly [string, readonly unknown[], Record<string, unknown>?];

const BY_SERVICE: Readonly<Record<string, readonly Row[]>> = {
  cloudtrail: [
    ["cloudtrail-stop-logging", ["StopLogging"]],
    ["cloudtrail-delete-trail", ["DeleteTrail"]],
    ["cloudtrail-update-trail", ["UpdateTrail"]],
    ["cloudtrail-selectors", ["PutEventSelectors", "PutInsightSelectors"]],
    ["cloudtrail-lake-stop", ["DeleteEventDataStore", "StopEventDataStoreIngestion"]],
  ],
  guardduty: [
    ["guardduty-disable", ["DeleteDetector", "UpdateDetector", "DisassociateFromMasterAccount"]],
    ["guardduty-filters", ["CreateFilter", "UpdateFilter", "CreateIPSet", "UpdateIPSet"]],
  ],
  config: [["config-stop", ["StopConfigurationRecorder", "DeleteConfigurationRecorder", "DeleteDeliveryChannel"]]],
  securityhub: [["securityhub-disable", ["DisableSecurityHub", "BatchDisableStandards", "DeleteMembers"]]],
  "access-analyzer": [["access-analyzer-delete", ["DeleteAnalyzer", "DeleteArchiveRule"]]],
  macie2: [["macie-disable", ["DisableMacie", "DisableOrganizationAdminAccount"]]],
  iam: [
    ["iam-create-user", ["CreateUser"]],
    ["iam-create-access-key", ["CreateAccessKey"]],
    ["iam-login-profile", ["CreateLoginProfile", "UpdateLoginProfile"]],
    [
      "iam-admin-policy-attached",
      ["AttachUserPolicy", "AttachRolePolicy", "AttachGroupPolicy"],
      { requestParameters: { policyArn: [{ suffix: "/AdministratorAccess" }] } },
    ],
    ["iam-trust-policy", ["UpdateAssumeRolePolicy"]],
    ["iam-role-created", ["CreateRole"], { errorCode: [{ exists: false }] }],
    ["iam-mfa-removed", ["DeactivateMFADevice", "DeleteVirtualMFADevice"]],
    ["iam-policy-version", ["CreatePolicyVersion", "SetDefaultPolicyVersion"]],
    ["iam-identity-provider", ["CreateSAMLProvider", "UpdateSAMLProvider", "CreateOpenIDConnectProvider"]],
    ["iam-password-policy", ["UpdateAccountPasswordPolicy", "DeleteAccountPasswordPolicy"]],
    ["iam-user-policy-inline", ["PutUserPolicy", "PutGroupPolicy"]],
    ["iam-group-membership", ["AddUserToGroup"], { requestParameters: { groupName: [{ prefix: "admin" }] } }],
    ["iam-delete-user", ["DeleteUser"]],
  ],
  sts: [
    ["sts-assume-role-denied", ["AssumeRole"], { errorCode: ["AccessDenied"] }],
    ["sts-federation-token", ["GetFederationToken"]],
    [
      "sts-assume-role-outside",
      ["AssumeRole"],
      { requestParameters: { roleArn: [{ "anything-but": { wildcard: "arn:aws:iam::123837392027:role/*" } }] } },
    ],
  ],
  ec2: [
    [
      "ec2-ingress-open-to-world",
      ["AuthorizeSecurityGroupIngress"],
      { requestParameters: { ipPermissions: { items: { ipRanges: { items: { cidrIp: ["0.0.0.0/0"] } } } } } },
    ],
    ["ec2-snapshot-shared", ["ModifySnapshotAttribute"]],
    ["ec2-image-shared", ["ModifyImageAttribute"], { requestParameters: { attributeType: ["launchPermission"] } }],
    ["ec2-flow-logs-deleted", ["DeleteFlowLogs"]],
    ["ec2-user-data-changed", ["ModifyInstanceAttribute"], { requestParameters: { userData: [{ exists: true }] } }],
    ["ec2-key-pair", ["CreateKeyPair", "ImportKeyPair"]],
    ["ec2-ebs-encryption-off", ["DisableEbsEncryptionByDefault"]],
    ["ec2-serial-console", ["EnableSerialConsoleAccess"]],
    ["ec2-large-instance", ["RunInstances"], { requestParameters: { instanceType: [{ wildcard: "*.metal" }] } }],
    ["ec2-route-to-internet", ["CreateRoute", "ReplaceRoute"]],
    ["ec2-nacl-changed", ["CreateNetworkAclEntry", "ReplaceNetworkAclEntry", "DeleteNetworkAclEntry"]],
    ["ec2-vpc-peering", ["CreateVpcPeeringConnection", "AcceptVpcPeeringConnection"]],
    ["ec2-instances-terminated", ["TerminateInstances"]],
    ["ec2-traffic-mirror", ["CreateTrafficMirrorSession", "CreateTrafficMirrorTarget"]],
    ["ec2-launch-template", ["CreateLaunchTemplateVersion", "ModifyLaunchTemplate"]],
  ],
  s3: [
    ["s3-bucket-policy", ["PutBucketPolicy", "DeleteBucketPolicy"]],
    [
      "s3-public-access-block",
      ["DeletePublicAccessBlock", "PutBucketPublicAccessBlock", "DeleteAccountPublicAccessBlock"],
    ],
    ["s3-acl", ["PutBucketAcl", "PutObjectAcl"]],
    ["s3-encryption-removed", ["DeleteBucketEncryption"]],
    ["s3-lifecycle", ["PutBucketLifecycle", "DeleteBucketLifecycle"]],
    ["s3-replication", ["PutBucketReplication"]],
    ["s3-versioning", ["PutBucketVersioning"]],
    ["s3-bucket-deleted", ["DeleteBucket"]],
    ["s3-logging-changed", ["PutBucketLogging"]],
  ],
  kms: [
    ["kms-key-disabled", ["DisableKey", "ScheduleKeyDeletion", "DisableKeyRotation"]],
    ["kms-key-policy", ["PutKeyPolicy", "CreateGrant"]],
    ["kms-decrypt-failed", ["Decrypt"], { errorCode: [{ exists: true }] }],
  ],
  secretsmanager: [
    ["secrets-deleted", ["DeleteSecret"]],
    ["secrets-policy", ["PutResourcePolicy", "DeleteResourcePolicy"]],
    ["secrets-rotation-cancelled", ["CancelRotateSecret"]],
    ["secrets-replicated", ["ReplicateSecretToRegions"]],
  ],
  ssm: [
    ["ssm-send-command", ["SendCommand", "StartSession"]],
    ["ssm-document-shared", ["ModifyDocumentPermission"]],
    ["ssm-document-changed", ["CreateDocument", "UpdateDocument"]],
  ],
  lambda: [
    ["lambda-public-permission", [{ prefix: "AddPermission" }], { requestParameters: { principal: ["*"] } }],
    ["lambda-code-updated", [{ prefix: "UpdateFunctionCode" }]],
    ["lambda-function-url", [{ prefix: "CreateFunctionUrlConfig" }]],
    ["lambda-layer-shared", [{ prefix: "AddLayerVersionPermission" }]],
  ],
  rds: [
    ["rds-snapshot-shared", ["ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute"]],
    ["rds-made-public", ["ModifyDBInstance"], { requestParameters: { publiclyAccessible: [true] } }],
    ["rds-master-password", ["ModifyDBInstance"], { requestParameters: { masterUserPassword: [{ exists: true }] } }],
    ["rds-restore", ["RestoreDBInstanceFromDBSnapshot", "RestoreDBClusterFromSnapshot"]],
  ],
  organizations: [
    ["org-leave", ["LeaveOrganization", "RemoveAccountFromOrganization"]],
    ["org-scp-changed", ["DetachPolicy", "DeletePolicy", "DisablePolicyType"]],
  ],
  account: [["account-regions", ["DisableRegion", "EnableRegion"]]],
  logs: [
    ["logs-deleted", ["DeleteLogGroup", "DeleteLogStream"]],
    ["logs-subscription", ["PutSubscriptionFilter"]],
  ],
  rolesanywhere: [["rolesanywhere-trust-anchor", ["CreateTrustAnchor", "UpdateTrustAnchor"]]],
  route53: [["route53-records", ["ChangeResourceRecordSets"]]],
  route53domains: [["route53-domain-transfer", ["TransferDomainToAnotherAwsAccount", "DisableDomainTransferLock"]]],
  ecr: [["ecr-repository-policy", ["SetRepositoryPolicy"]]],
  eks: [["eks-access", ["CreateAccessEntry", "AssociateAccessPolicy"]]],
  sso: [["sso-permission-set", ["CreatePermissionSet", "AttachManagedPolicyToPermissionSet"]]],
  wafv2: [["waf-acl-deleted", ["DeleteWebACL", "DisassociateWebACL"]]],
  elasticloadbalancing: [["elb-deleted", ["DeleteLoadBalancer"]]],
  cloudfront: [["cloudfront-distribution", ["UpdateDistribution", "DeleteDistribution"]]],
  sns: [["sns-topic-policy", ["SetTopicAttributes", "AddPermission"]]],
  sqs: [["sqs-queue-policy", ["SetQueueAttributes", "AddPermission"]]],
  dynamodb: [["dynamodb-destructive", ["DeleteTable", "UpdateContinuousBackups"]]],
  backup: [["backup-deleted", ["DeleteBackupVault", "DeleteRecoveryPoint", "DeleteBackupPlan"]]],
  glue: [["glue-dev-endpoint", ["CreateDevEndpoint", "UpdateDevEndpoint"]]],
  sagemaker: [["sagemaker-notebook", ["CreatePresignedNotebookInstanceUrl", "CreateNotebookInstance"]]],
  bedrock: [["bedrock-logging", ["DeleteModelInvocationLoggingConfiguration"]]],
};

/** Rules not tied to one service's call names. */
const CROSS_SERVICE: readonly BenchRule[] = [
  {
    name: "root-activity",
    pattern: {
      "detail-type": [API_CALL, "AWS Console Sign In via CloudTrail"],
      detail: { userIdentity: { type: ["Root"] } },
    },
    state: "ENABLED",
  },
  {
    name: "console-login-without-mfa",
    pattern: {
      source: ["aws.signin"],
      "detail-type": ["AWS Console Sign In via CloudTrail"],
      detail: { eventName: ["ConsoleLogin"], additionalEventData: { MFAUsed: ["No"] } },
    },
    state: "ENABLED",
  },
  {
    name: "console-login-failed",
    pattern: {
      source: ["aws.signin"],
      "detail-type": ["AWS Console Sign In via CloudTrail"],
      detail: { responseElements: { ConsoleLogin: ["Failure"] } },
    },
    state: "ENABLED",
  },
  {
    name: "threat-intel-addresses",
    pattern: {
      "detail-type": [API_CALL],
      detail: { sourceIPAddress: [{ cidr: "198.51.100.0/24" }, { cidr: "203.0.113.0/24" }, { cidr: "192.0.2.0/24" }] },
    },
    state: "ENABLED",
  },
  {
    name: "assumed-role-denied",
    pattern: {
      "detail-type": [API_CALL],
      detail: {
        userIdentity: { type: ["AssumedRole"] },
        errorCode: [{ prefix: "AccessDenied" }, "UnauthorizedOperation"],
      },
    },
    state: "ENABLED",
  },
  {
    name: "break-glass-role",
    pattern: {
      "detail-type": [API_CALL],
      detail: {
        userIdentity: { arn: [{ wildcard: "arn:aws:sts::*:assumed-role/break-glass/*" }] },
        eventName: [{ "anything-but": { prefix: "Describe" } }],
      },
    },
    state: "ENABLED",
  },
  {
    name: "password-data-read",
    pattern: call("ec2", ["GetPasswordData"]),
    // A Get… call: only a rule in this state receives read-only management events (spec §9.1).
    state: "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
  },
  {
    name: "secret-read-by-human",
    pattern: call("secretsmanager", ["GetSecretValue"], {
      $or: [
        { userIdentity: { type: ["IAMUser"] }, userAgent: [{ prefix: "aws-cli/" }] },
        { userIdentity: { type: ["Root"] } },
      ],
    }),
    state: "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS",
  },
  {
    name: "ssm-secure-parameter-created",
    pattern: call("ssm", ["PutParameter"], { requestParameters: { type: ["SecureString"], overwrite: [true] } }),
    state: "ENABLED",
  },
  {
    name: "service-event-secret-deletion",
    pattern: {
      source: ["aws.secretsmanager"],
      "detail-type": ["AWS Service Event via CloudTrail"],
      detail: { eventName: ["EndSecretVersionDelete"] },
    },
    state: "ENABLED",
  },
];

export const BENCH_RULES: readonly BenchRule[] = [
  ...Object.entries(BY_SERVICE).flatMap(([service, rows]) =>
    rows.map(([name, names, detail]): BenchRule => ({ name, pattern: call(service, names, detail), state: "ENABLED" })),
  ),
  ...CROSS_SERVICE,
];

/** The bench's rules compiled in process, to know which of them a record should reach. */
export function ruleMatcher(rules: readonly BenchRule[] = BENCH_RULES): (record: CloudTrailRecord) => string[] {
  const compiled = rules.map((rule) => ({
    name: rule.name,
    offer: { state: rule.state, pattern: compileEventPattern(JSON.stringify(rule.pattern)) },
  }));
  return (record) =>
    compiled
      .filter(({ offer }) => {
        const decision = offerCloudTrailRecord(record, offer);
        return decision.offered && decision.matched;
      })
      .map(({ name }) => name);
}
