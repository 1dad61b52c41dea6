/**
 * Management records built in code, in the shapes CloudTrail writes, for the tests that need realistic
 * traffic when the shared samples are absent (a fresh clone). Varied in service, name, identity type,
 * read-only flag and resources so that lookups and selectors have something to tell apart.
 */
type RawRecord = Record<string, unknown>;

// The account of the invictus sample, so tests written against either set query the same account.
const ACCOUNT = "123837392027";

const IDENTITIES: RawRecord[] = [
  {
    type: "IAMUser",
    principalId: "AIDAEXAMPLEALICE0001",
    arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
    accountId: ACCOUNT,
    accessKeyId: "AKIAEXAMPLEALICE0001",
    userName: "alice",
  },
  {
    type: "IAMUser",
    principalId: "AIDAEXAMPLEBOB000001",
    arn: `arn:aws:iam::${ACCOUNT}:user/bob`,
    accountId: ACCOUNT,
    accessKeyId: "AKIAEXAMPLEBOB000001",
    userName: "bob",
  },
  {
    type: "AssumedRole",
    principalId: "AROAEXAMPLEDEPLOY001:ci-session",
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/deploy/ci-session`,
    accountId: ACCOUNT,
    accessKeyId: "ASIAEXAMPLEDEPLOY001",
    sessionContext: {
      sessionIssuer: {
        type: "Role",
        principalId: "AROAEXAMPLEDEPLOY001",
        arn: `arn:aws:iam::${ACCOUNT}:role/deploy`,
        accountId: ACCOUNT,
        userName: "deploy",
      },
      attributes: { creationDate: "2026-01-01T00:00:00Z", mfaAuthenticated: "false" },
    },
  },
  { type: "Root", principalId: ACCOUNT, arn: `arn:aws:iam::${ACCOUNT}:root`, accountId: ACCOUNT },
];

interface Template {
  eventSource: string;
  eventName: string;
  readOnly: boolean;
  requestParameters: RawRecord | null;
  responseElements?: RawRecord | null;
  resources?: RawRecord[];
  eventType?: string;
  errorCode?: string;
  errorMessage?: string;
}

const TEMPLATES: Template[] = [
  {
    eventSource: "ec2.amazonaws.com",
    eventName: "DescribeInstances",
    readOnly: true,
    requestParameters: { instancesSet: {}, filterSet: {} },
  },
  {
    eventSource: "config.amazonaws.com",
    eventName: "StopConfigurationRecorder",
    readOnly: false,
    requestParameters: { configurationRecorderName: "default" },
    errorCode: "AccessDenied",
    errorMessage: "User is not authorized to perform: config:StopConfigurationRecorder",
  },
  {
    eventSource: "s3.amazonaws.com",
    eventName: "CreateBucket",
    readOnly: false,
    requestParameters: { bucketName: "example-reports", Host: "example-reports.s3.amazonaws.com" },
    resources: [{ type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::example-reports" }],
  },
  {
    eventSource: "sts.amazonaws.com",
    eventName: "GetCallerIdentity",
    readOnly: true,
    requestParameters: null,
  },
  {
    eventSource: "iam.amazonaws.com",
    eventName: "CreateUser",
    readOnly: false,
    requestParameters: { userName: "carol" },
    responseElements: {
      user: { userName: "carol", userId: "AIDAEXAMPLECAROL0001", arn: `arn:aws:iam::${ACCOUNT}:user/carol` },
    },
  },
  {
    eventSource: "iam.amazonaws.com",
    eventName: "ListUsers",
    readOnly: true,
    requestParameters: null,
  },
  {
    eventSource: "ec2.amazonaws.com",
    eventName: "RunInstances",
    readOnly: false,
    requestParameters: { instanceType: "t3.micro", minCount: 1, maxCount: 1 },
    responseElements: { instancesSet: { items: [{ instanceId: "i-0abc1234def567890" }] } },
    resources: [{ type: "AWS::EC2::Instance", ARN: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/i-0abc1234def567890` }],
  },
  {
    eventSource: "signin.amazonaws.com",
    eventName: "ConsoleLogin",
    readOnly: false,
    requestParameters: null,
    responseElements: { ConsoleLogin: "Success" },
    eventType: "AwsConsoleSignIn",
  },
];

const SOURCE_IPS = ["198.51.100.7", "203.0.113.25", "192.0.2.14"];
const AGENTS = ["aws-cli/2.15.0 Python/3.11.6", "Boto3/1.34.0 Python/3.12.1", "console.amazonaws.com"];

function record(template: Template, identity: RawRecord, n: number): RawRecord {
  return {
    eventVersion: "1.09",
    userIdentity: identity,
    eventTime: "2026-01-01T00:00:00Z",
    eventSource: template.eventSource,
    eventName: template.eventName,
    awsRegion: "us-east-1",
    sourceIPAddress: SOURCE_IPS[n % SOURCE_IPS.length],
    userAgent: AGENTS[n % AGENTS.length],
    requestParameters: template.requestParameters,
    ...(template.errorCode ? { errorCode: template.errorCode, errorMessage: template.errorMessage } : {}),
    responseElements: template.responseElements ?? null,
    requestID: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    eventID: `00000000-0000-4000-9000-${String(n).padStart(12, "0")}`,
    readOnly: template.readOnly,
    ...(template.resources ? { resources: template.resources } : {}),
    eventType: template.eventType ?? "AwsApiCall",
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: "Management",
  };
}

export function syntheticRecords(): RawRecord[] {
  return IDENTITIES.flatMap((identity, i) =>
    TEMPLATES.map((template, j) => record(template, identity, i * TEMPLATES.length + j)),
  );
}

/** Rare events among the common ones, for the tests that need a query with a few matches. */
function rareVariant(n: number): RawRecord {
  if (n % 211 === 0)
    return {
      eventSource: "kms.amazonaws.com",
      eventName: "ScheduleKeyDeletion",
      readOnly: false,
      requestParameters: { keyId: "1234abcd-12ab-34cd-56ef-1234567890ab", pendingWindowInDays: 7 },
    };
  if (n % 97 === 0)
    return {
      eventSource: "s3.amazonaws.com",
      eventName: "GetBucketPolicy",
      readOnly: true,
      requestParameters: { bucketName: "example-reports" },
    };
  return {};
}

/** `count` synthetic records, each with its own eventID and requestID, cycling through the shapes above. */
export function syntheticArchive(count: number): RawRecord[] {
  const base = syntheticRecords();
  return Array.from({ length: count }, (_, n) => {
    const id = String(n).padStart(12, "0");
    return {
      ...base[n % base.length],
      ...rareVariant(n),
      requestID: `11111111-0000-4000-8000-${id}`,
      eventID: `11111111-0000-4000-9000-${id}`,
    };
  });
}
