/**
 * Small records and one rule per modifier and condition form, shared by the Lake equivalence test
 * (test/integration/sigma-lake.test.ts): `sigma run` must find over the Lake what `sigma test`
 * finds in the records, form by form.
 */

const ACCOUNT = "111122223333";

function record(index: number, fields: Record<string, unknown>): Record<string, unknown> {
  return {
    eventVersion: "1.08",
    userIdentity: {
      type: "IAMUser",
      principalId: "AIDAEXAMPLE",
      arn: `arn:aws:iam::${ACCOUNT}:user/alice`,
      accountId: ACCOUNT,
      userName: "alice",
    },
    eventTime: `2024-03-01T10:00:${String(index).padStart(2, "0")}Z`,
    eventSource: "sts.amazonaws.com",
    eventName: "AssumeRole",
    awsRegion: "us-east-1",
    sourceIPAddress: "10.1.20.7",
    userAgent: "aws-cli/2.13.5 Python/3.11.4",
    requestParameters: null,
    responseElements: null,
    requestID: `00000000-0000-4000-8000-${String(index).padStart(12, "0")}`,
    eventID: `10000000-0000-4000-8000-${String(index).padStart(12, "0")}`,
    readOnly: true,
    eventType: "AwsApiCall",
    managementEvent: true,
    recipientAccountId: ACCOUNT,
    eventCategory: "Management",
    ...fields,
  };
}

export const MODIFIER_RECORDS: Record<string, unknown>[] = [
  record(1, {
    requestParameters: {
      roleArn: `arn:aws:iam::${ACCOUNT}:role/Admin`,
      durationSeconds: 3600,
      tags: [
        { key: "team", value: "RED" },
        { key: "cost", value: "42" },
      ],
      policyArns: [
        { arn: "arn:aws:iam::aws:policy/ReadOnlyAccess" },
        { arn: "arn:aws:iam::aws:policy/AdministratorAccess" },
      ],
      flag: true,
      nothing: null,
    },
  }),
  record(2, { userAgent: "tool /x a*b", sourceIPAddress: "10.1.40.7", errorCode: "AccessDenied" }),
  record(3, { userAgent: "tool \u2013x a\\b", requestParameters: { userName: "ALICE", durationSeconds: "900" } }),
  record(4, {
    eventName: "GetCallerIdentity",
    userAgent: Buffer.from("echo x; curl http://evil.example; y").toString("base64"),
    userIdentity: {
      type: "AssumedRole",
      arn: `arn:aws:sts::${ACCOUNT}:assumed-role/aws:ec2-instance/i-1`,
      accountId: ACCOUNT,
    },
  }),
  record(5, {
    eventName: "assumerole",
    sourceIPAddress: "2001:db8::5",
    requestParameters: { note: "AdministratorAccess here" },
  }),
  record(6, { eventName: "AssumeRoleX", userAgent: "axxb", responseElements: { credentials: { expiration: "x" } } }),
];

const RULES: Array<[string, string]> = [
  ["object text", 'requestParameters|contains: \'"key":"team"\''],
  ["list of objects, any element", "requestParameters.policyArns.arn|endswith: /administratoraccess"],
  ["nested list member", "requestParameters.tags.value: red"],
  ["number as text", "requestParameters.durationSeconds: 3600"],
  ["boolean as text", "requestParameters.flag: 'TRUE'"],
  ["greater or equal", "requestParameters.durationSeconds|gte: 900"],
  ["less than", "requestParameters.durationSeconds|lt: 1000"],
  ["wildcards", "userAgent: '*a?b'"],
  ["escaped star", "userAgent|endswith: 'a\\*b'"],
  ["escaped backslash", "userAgent|endswith: 'a\\\\b'"],
  ["regex, with case", "userIdentity.arn|re: ':user/[a-z]+$'"],
  ["regex without case", "userIdentity.arn|re|i: 'ASSUMED-ROLE/AWS:'"],
  ["cidr", "sourceIPAddress|cidr: 10.1.16.0/20"],
  ["null nested", "requestParameters.roleArn: null"],
  ["null absent", "errorCode: null"],
  ["exists", "responseElements.credentials|exists: true"],
  ["not exists", "errorCode|exists: false"],
  ["cased", "eventName|cased: AssumeRole"],
  ["plain, no case", "eventName: ASSUMEROLE"],
  ["windash", "userAgent|windash|contains: ' -x'"],
  ["base64offset", "userAgent|base64offset|contains: 'curl http://evil'"],
  ["fieldref", "userIdentity.userName|fieldref: requestParameters.userName"],
  ["neq", "eventName|neq: AssumeRole"],
  ["contains all", "userAgent|contains|all:\n            - aws-cli\n            - PYTHON"],
];

function rule(index: number, title: string, detection: string): string {
  return [
    `title: ${title}`,
    `id: 20000000-0000-4000-8000-${String(index).padStart(12, "0")}`,
    "level: low",
    "logsource:",
    "    product: aws",
    "    service: cloudtrail",
    "detection:",
    ...detection.split("\n").map((line) => `    ${line}`),
  ].join("\n");
}

/** One YAML file with a rule per case, conditions and keywords included, and a correlation. */
export function modifierRulesYaml(): string {
  const documents = RULES.map(([title, entry], index) =>
    rule(index, title, `selection:\n    ${entry}\ncondition: selection`),
  );
  documents.push(
    rule(
      100,
      "conditions",
      [
        "sel_sts:\n    eventSource: sts.amazonaws.com",
        "sel_name:\n    eventName: assumerole",
        "filter_cli:\n    userAgent|startswith: aws-cli",
        "condition: all of sel_* and not 1 of filter*",
      ].join("\n"),
    ),
    rule(101, "keywords", "keywords:\n    - '*AdministratorAccess*'\ncondition: keywords"),
    [
      "title: Two calls by one user",
      "id: 20000000-0000-4000-8000-000000000200",
      "correlation:",
      "    type: event_count",
      "    rules:",
      "        - 20000000-0000-4000-8000-000000000018",
      "    group-by:",
      "        - userIdentity.userName",
      "    timespan: 1m",
      "    condition:",
      "        gte: 2",
      "    generate: true",
    ].join("\n"),
  );
  return documents.join("\n---\n") + "\n";
}
