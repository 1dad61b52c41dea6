/**
 * Where CloudTrail's own records differ from Cairn's two general redaction rules (a member the AWS
 * service model marks `sensitive` logs as `HIDDEN_DUE_TO_SECURITY_REASONS`, see
 * src/capture/protocols/sensitive-members.ts; a member named in the secret-name list of redact.ts is
 * hidden whatever the call). Data only: each entry names the record it was read from
 * (`/work/shared/data/...` datasets, cited as `<dataset>/<file>`), and test/normalize/redact.test.ts
 * runs every entry. The entries also apply by name where no model is at hand (calls of operations
 * the bundled models lack, `/ingest`, the middleware), so they hold for those records too.
 */

export const HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS";
export const PASSWORD_MASK = "****";
export const EC2_SENSITIVE_DATA_REMOVED = "<sensitiveDataRemoved>";
export const SSM_TOKEN_HIDDEN = "Value hidden due to security reasons.";

/**
 * Replace the member's value by `replace` (an existing CloudTrail placeholder is kept), drop it, or
 * keep it although the model marks it sensitive (CloudTrail logs it).
 */
export type RedactionAction = { readonly replace: string } | { readonly omit: true } | { readonly keep: true };

export interface RedactionException {
  readonly eventSource: string;
  /** The operations it applies to; `"*"`: every operation of the service. */
  readonly eventNames: readonly string[] | "*";
  readonly field: "requestParameters" | "responseElements";
  /**
   * Member names as the record writes them, `.`-separated, matched case-insensitively; lists (and
   * EC2's `{items: [...]}`) are stepped through, so `entries.message` reaches every entry's message.
   */
  readonly path: string;
  readonly action: RedactionAction;
  /** The real record(s) showing this, or why the entry follows one. */
  readonly source: string;
}

const STS_CREDENTIALS_OPERATIONS = [
  "AssumeRole",
  "AssumeRoleWithSAML",
  "AssumeRoleWithWebIdentity",
  "GetSessionToken",
  "GetFederationToken",
];

/** RDS operations whose input carries a master password (rds-2014-10-31 model). */
const RDS_MASTER_PASSWORD_OPERATIONS = [
  "CreateDBInstance",
  "ModifyDBInstance",
  "RestoreDBInstanceFromS3",
  "CreateDBCluster",
  "ModifyDBCluster",
  "RestoreDBClusterFromS3",
  "CreateTenantDatabase",
  "ModifyTenantDatabase",
];

const RDS_SOURCE =
  "seed-examples/aurora-CreateDBInstance.json (request and pendingModifiedValues); cloudtrail-samples/" +
  "panther-analysis-tests/panther_cloudtrail_test_events.json.gz (CreateDBInstance, ModifyDBInstance). " +
  "Clusters and tenant databases take the same member and are masked alike, so one detection " +
  "(SigmaHQ aws_rds_change_master_password matches `*`) covers them all. An older real record " +
  "(invictus-sigma-aws/…20230710T1220Z_r7NFD65BgeDMqD23.json.gz) shows HIDDEN_DUE_TO_SECURITY_REASONS; " +
  "ingested records keep whichever placeholder they carry.";

const SNS_SOURCE = "cloudtrail-spec §1.7 (SNS Publish data event: message HIDDEN_DUE_TO_SECURITY_REASONS)";

const EVENTS_SOURCE =
  "botocore events 2015-10-07 model: ApiKeyValue, Password, ClientSecret (AuthHeaderParametersSensitive) and " +
  "every connection header, query-string and body parameter Value (HeaderValueSensitive, " +
  "QueryStringValueSensitive, SensitiveString) are sensitive, which CloudTrail logs as " +
  "HIDDEN_DUE_TO_SECURITY_REASONS (cloudtrail-spec §1.7). Cairn's own EventBridge API records the calls, " +
  "so the table, not a capture model, hides them.";

/** The members of a connection's AuthParameters that hold secrets, as the record names them. */
const EVENTS_CONNECTION_SECRET_PATHS = [
  "authParameters.apiKeyAuthParameters.apiKeyValue",
  "authParameters.basicAuthParameters.password",
  "authParameters.oAuthParameters.clientParameters.clientSecret",
  ...["invocationHttpParameters", "oAuthParameters.oAuthHttpParameters"].flatMap((at) =>
    ["headerParameters", "queryStringParameters", "bodyParameters"].map((list) => `authParameters.${at}.${list}.value`),
  ),
];

const hide = { replace: HIDDEN } as const;
const omit = { omit: true } as const;
const ec2Removed = { replace: EC2_SENSITIVE_DATA_REMOVED } as const;
const ssmToken = { replace: SSM_TOKEN_HIDDEN } as const;
/** Logged although the model marks it sensitive; honoured by the model pass for top-level members. */
const keep = { keep: true } as const;

/** The exceptions table. */
export const REDACTION_EXCEPTIONS: readonly RedactionException[] = [
  ...RDS_MASTER_PASSWORD_OPERATIONS.map((name) => ({
    eventSource: "rds.amazonaws.com",
    eventNames: [name],
    field: "requestParameters" as const,
    path: "masterUserPassword",
    action: { replace: PASSWORD_MASK },
    source: RDS_SOURCE,
  })),
  {
    eventSource: "rds.amazonaws.com",
    eventNames: "*",
    field: "responseElements",
    path: "pendingModifiedValues.masterUserPassword",
    action: { replace: PASSWORD_MASK },
    source: RDS_SOURCE,
  },
  ...STS_CREDENTIALS_OPERATIONS.map((name) => ({
    eventSource: "sts.amazonaws.com",
    eventNames: [name],
    field: "responseElements" as const,
    path: "credentials.secretAccessKey",
    action: omit,
    source:
      "cloudtrail-samples/cribl-pack-sample/controltower_us-west-2_2022-01-03.json.gz (AssumeRole, " +
      "AssumeRoleWithSAML), stratus-red-team-detonation-logs/aws.persistence.sts-federation-token.json " +
      "(GetFederationToken), otrf-security-datasets (AssumeRole): credentials carry accessKeyId, " +
      "sessionToken, expiration only (cloudtrail-spec §1.7). GetSessionToken returns the same Credentials shape.",
  })),
  {
    eventSource: "iam.amazonaws.com",
    eventNames: ["CreateAccessKey"],
    field: "responseElements",
    path: "accessKey.secretAccessKey",
    action: omit,
    source:
      "cloudtrail-samples/stratus-red-team-detonation-logs/aws.persistence.iam-backdoor-user.json, " +
      "invictus-sigma-aws/…20230710T1230Z_ZtUNbBkwAu98FPZb.json.gz: accessKey has accessKeyId, " +
      "createDate, status, userName only.",
  },
  {
    eventSource: "iam.amazonaws.com",
    eventNames: ["CreateLoginProfile", "UpdateLoginProfile"],
    field: "requestParameters",
    path: "password",
    action: omit,
    source:
      "cloudtrail-samples/stratus-red-team-detonation-logs/aws.persistence.iam-create-user-login-profile.json, " +
      "aws.privilege-escalation.iam-update-user-login-profile.json, invictus-sigma-aws/" +
      "…20230710T1230Z_04rtp9DpvIpSZzMr.json.gz: no password member (cloudtrail-spec §1.7).",
  },
  ...["CreateSecret", "PutSecretValue", "UpdateSecret"].flatMap((name) =>
    ["secretString", "secretBinary"].map((member) => ({
      eventSource: "secretsmanager.amazonaws.com",
      eventNames: [name],
      field: "requestParameters" as const,
      path: member,
      action: omit,
      source:
        "cloudtrail-samples/invictus-sigma-aws/…20230710T1200Z_iLj9fb7yyUG9X4Bf.json.gz: PutSecretValue " +
        "(Terraform's secret version, which sends SecretString) logs secretId and clientRequestToken only; " +
        "CreateSecret and UpdateSecret take the same members.",
    })),
  ),
  {
    eventSource: "ssm.amazonaws.com",
    eventNames: ["PutParameter"],
    field: "requestParameters",
    path: "value",
    action: hide,
    source: "cloudtrail-samples/invictus-sigma-aws/…20230710T1200Z_iLj9fb7yyUG9X4Bf.json.gz (SecureString)",
  },
  {
    eventSource: "ssm.amazonaws.com",
    eventNames: ["SendCommand"],
    field: "requestParameters",
    path: "parameters",
    action: hide,
    source: "cloudtrail-samples/stratus-red-team-detonation-logs/aws.execution.ssm-send-command.json",
  },
  {
    eventSource: "ssm.amazonaws.com",
    eventNames: ["SendCommand"],
    field: "responseElements",
    path: "command.parameters",
    action: hide,
    source: "cloudtrail-samples/stratus-red-team-detonation-logs/aws.execution.ssm-send-command.json",
  },
  {
    eventSource: "ssm.amazonaws.com",
    eventNames: ["StartSession", "ResumeSession"],
    field: "responseElements",
    path: "tokenValue",
    action: ssmToken,
    source:
      "cloudtrail-samples/stratus-red-team-detonation-logs/aws.execution.ssm-start-session.json; " +
      "ResumeSession answers the same members.",
  },
  {
    // ssmmessages calls are logged under ssm.amazonaws.com, and the bundled models lack ssmmessages.
    eventSource: "ssm.amazonaws.com",
    eventNames: ["CreateControlChannel", "CreateDataChannel"],
    field: "responseElements",
    path: "tokenValue",
    action: ssmToken,
    source: "seed-examples/systems-manager-CreateControlChannel.json; CreateDataChannel answers the same token.",
  },
  ...(["clientSecret", "refreshToken", "codeVerifier"] as const).map((member) => ({
    eventSource: "sso.amazonaws.com",
    eventNames: ["CreateToken"],
    field: "requestParameters" as const,
    path: member,
    action: hide,
    source: "cloudtrail-samples/panther-analysis-tests/panther_cloudtrail_test_events.json.gz (CreateToken)",
  })),
  ...(["accessToken", "idToken", "refreshToken"] as const).map((member) => ({
    eventSource: "sso.amazonaws.com",
    eventNames: ["CreateToken"],
    field: "responseElements" as const,
    path: member,
    action: hide,
    source: "cloudtrail-samples/panther-analysis-tests/panther_cloudtrail_test_events.json.gz (CreateToken)",
  })),
  ...["message", "subject", "messageAttributes"].flatMap((member) => [
    {
      eventSource: "sns.amazonaws.com",
      eventNames: ["Publish"],
      field: "requestParameters" as const,
      path: member,
      action: hide,
      source: SNS_SOURCE,
    },
    {
      eventSource: "sns.amazonaws.com",
      eventNames: ["PublishBatch"],
      field: "requestParameters" as const,
      path: `publishBatchRequestEntries.${member}`,
      action: hide,
      source: `${SNS_SOURCE}; PublishBatch entries carry the same members.`,
    },
  ]),
  {
    eventSource: "ec2.amazonaws.com",
    eventNames: ["CreateKeyPair"],
    field: "responseElements",
    path: "keyMaterial",
    action: ec2Removed,
    source: "cloudtrail-samples/aws-docs-examples/cloudtrail_user_guide_examples.json (CreateKeyPair)",
  },
  {
    eventSource: "ec2.amazonaws.com",
    eventNames: ["ModifyInstanceAttribute", "RunInstances"],
    field: "requestParameters",
    path: "userData",
    action: ec2Removed,
    source:
      "cloudtrail-samples/stratus-red-team-detonation-logs/aws.execution.ec2-user-data.json, " +
      "panther-analysis-tests and zmallen-cloudtrail2sightings (ModifyInstanceAttribute); RunInstances " +
      "takes the same user data.",
  },
  ...(["requestParameters", "responseElements"] as const).map((field) => ({
    eventSource: "s3.amazonaws.com",
    eventNames: "*" as const,
    field,
    path: "x-amz-server-side-encryption-aws-kms-key-id",
    action: keep,
    source:
      "cloudtrail-samples/panther-analysis-tests/panther_cloudtrail_test_events.json.gz (CopyObject: the " +
      "KMS key ARN in requestParameters, which detections of re-encryption with a foreign key read). " +
      "The S3 model marks SSEKMSKeyId sensitive; a key ARN is no secret.",
  })),
  ...EVENTS_CONNECTION_SECRET_PATHS.flatMap((path) =>
    ["CreateConnection", "UpdateConnection"].map((name) => ({
      eventSource: "events.amazonaws.com",
      eventNames: [name],
      field: "requestParameters" as const,
      path,
      action: hide,
      source: EVENTS_SOURCE,
    })),
  ),
];

export interface SensitivePlaceholder {
  readonly eventSource: string;
  readonly placeholder: string;
  readonly source: string;
}

/**
 * Services whose model-`sensitive` members CloudTrail replaces with their own placeholder rather
 * than HIDDEN_DUE_TO_SECURITY_REASONS.
 */
export const SENSITIVE_PLACEHOLDERS: readonly SensitivePlaceholder[] = [
  {
    eventSource: "ec2.amazonaws.com",
    placeholder: EC2_SENSITIVE_DATA_REMOVED,
    source:
      "Every EC2 secret in the samples: CreateKeyPair keyMaterial (aws-docs-examples), userData " +
      "(stratus-red-team-detonation-logs/aws.execution.ec2-user-data.json); cloudtrail-spec §1.7.",
  },
  {
    eventSource: "rds.amazonaws.com",
    placeholder: PASSWORD_MASK,
    source: `RDS's only sensitive members are master passwords. ${RDS_SOURCE}`,
  },
];
