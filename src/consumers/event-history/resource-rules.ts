/**
 * Which request/response members name which resource, per service: what CloudTrail's Event history
 * shows as an event's `Resources` (spec §4.2: "each service supplies its own extraction (instance id,
 * bucket name, trail ARN, role name…)"). CloudTrail derives these itself: EC2, RDS, IAM… records carry no
 * `resources` member, yet their Event history rows list the instance, the DB, the user. Member names are
 * the record's (lower camel case), as real records and the capture proxy write them.
 */

/** How a resource's ARN is built from its name or id; undefined when it cannot be (a random suffix). */
interface ArnForm {
  readonly service: string;
  /** `regional`: arn:P:S:region:account:…; `global`: arn:P:S::account:…; `bare`: arn:P:S:::… (S3 buckets). */
  readonly scope: "regional" | "global" | "bare";
  /** Put before the id: `instance/`, `db:`, `key/`. */
  readonly prefix: string;
}

export interface ResourceRule {
  readonly type: string;
  readonly arn?: ArnForm;
}

/** A member's rule may depend on the operation (SSM `name` is a parameter or a document) or on the value. */
type MemberRule = ResourceRule | ((eventName: string, value: string) => ResourceRule | undefined);

function rule(type: string, service: string, scope: ArnForm["scope"], prefix: string): ResourceRule {
  return { type, arn: { service, scope, prefix } };
}

const ec2 = (type: string, prefix: string): ResourceRule => rule(`AWS::EC2::${type}`, "ec2", "regional", prefix);
const rds = (type: string, prefix: string): ResourceRule => rule(`AWS::RDS::${type}`, "rds", "regional", prefix);
const cache = (type: string, prefix: string): ResourceRule =>
  rule(`AWS::ElastiCache::${type}`, "elasticache", "regional", prefix);
const iam = (type: string, prefix: string): ResourceRule => rule(`AWS::IAM::${type}`, "iam", "global", prefix);

const EC2_SNAPSHOT = ec2("Snapshot", "snapshot/");
const RDS_SNAPSHOT = rds("DBSnapshot", "snapshot:");
const CACHE_SNAPSHOT = cache("Snapshot", "snapshot:");
const IAM_ROLE = iam("Role", "role/");
const KMS_KEY = rule("AWS::KMS::Key", "kms", "regional", "key/");
const KMS_ALIAS = rule("AWS::KMS::Alias", "kms", "regional", "");
const SSM_PARAMETER = rule("AWS::SSM::Parameter", "ssm", "regional", "parameter/");
const SSM_DOCUMENT = rule("AWS::SSM::Document", "ssm", "regional", "document/");
const SECRET: ResourceRule = { type: "AWS::SecretsManager::Secret" };
const TRAIL = rule("AWS::CloudTrail::Trail", "cloudtrail", "regional", "trail/");

/** CloudTrail operations whose `name` is not a trail's (event data stores, channels, dashboards, queries…). */
const NOT_TRAIL_NAME = /EventDataStore|Channel|Dashboard|Quer|Import|ResourcePolicy/;

/** eventSource → member → rule. Only members that name a resource of the call; others are ignored. */
export const RESOURCE_RULES: ReadonlyMap<string, ReadonlyMap<string, MemberRule>> = new Map(
  Object.entries<Record<string, MemberRule>>({
    "ec2.amazonaws.com": {
      instanceId: ec2("Instance", "instance/"),
      instanceIds: ec2("Instance", "instance/"),
      volumeId: ec2("Volume", "volume/"),
      snapshotId: EC2_SNAPSHOT,
      sourceSnapshotId: EC2_SNAPSHOT,
      imageId: ec2("Image", "image/"),
      groupId: ec2("SecurityGroup", "security-group/"),
      keyName: ec2("KeyPair", "key-pair/"),
      vpcId: ec2("VPC", "vpc/"),
      subnetId: ec2("Subnet", "subnet/"),
      networkInterfaceId: ec2("NetworkInterface", "network-interface/"),
      internetGatewayId: ec2("InternetGateway", "internet-gateway/"),
      routeTableId: ec2("RouteTable", "route-table/"),
      natGatewayId: ec2("NatGateway", "natgateway/"),
      networkAclId: ec2("NetworkAcl", "network-acl/"),
      allocationId: ec2("EIP", "elastic-ip/"),
      launchTemplateId: ec2("LaunchTemplate", "launch-template/"),
      vpcEndpointId: ec2("VPCEndpoint", "vpc-endpoint/"),
      flowLogId: ec2("FlowLog", "vpc-flow-log/"),
    },
    "rds.amazonaws.com": {
      dBInstanceIdentifier: rds("DBInstance", "db:"),
      dBClusterIdentifier: rds("DBCluster", "cluster:"),
      dBSnapshotIdentifier: RDS_SNAPSHOT,
      sourceDBSnapshotIdentifier: RDS_SNAPSHOT,
      targetDBSnapshotIdentifier: RDS_SNAPSHOT,
      dBClusterSnapshotIdentifier: rds("DBClusterSnapshot", "cluster-snapshot:"),
      dBParameterGroupName: rds("DBParameterGroup", "pg:"),
      dBClusterParameterGroupName: rds("DBClusterParameterGroup", "cluster-pg:"),
      dBSubnetGroupName: rds("DBSubnetGroup", "subgrp:"),
      optionGroupName: rds("OptionGroup", "og:"),
    },
    "elasticache.amazonaws.com": {
      cacheClusterId: cache("CacheCluster", "cluster:"),
      replicationGroupId: cache("ReplicationGroup", "replicationgroup:"),
      snapshotName: CACHE_SNAPSHOT,
      sourceSnapshotName: CACHE_SNAPSHOT,
      targetSnapshotName: CACHE_SNAPSHOT,
      cacheSubnetGroupName: cache("SubnetGroup", "subnetgroup:"),
      cacheParameterGroupName: cache("ParameterGroup", "parametergroup:"),
    },
    "iam.amazonaws.com": {
      userName: iam("User", "user/"),
      roleName: IAM_ROLE,
      groupName: iam("Group", "group/"),
      policyArn: iam("Policy", "policy/"),
      instanceProfileName: iam("InstanceProfile", "instance-profile/"),
      accessKeyId: { type: "AWS::IAM::AccessKey" },
    },
    "sts.amazonaws.com": { roleArn: IAM_ROLE, principalArn: iam("SAMLProvider", "saml-provider/") },
    "s3.amazonaws.com": { bucketName: rule("AWS::S3::Bucket", "s3", "bare", "") },
    "lambda.amazonaws.com": { functionName: rule("AWS::Lambda::Function", "lambda", "regional", "function:") },
    "kms.amazonaws.com": {
      keyId: (_operation, value) => (value.startsWith("alias/") || value.includes(":alias/") ? KMS_ALIAS : KMS_KEY),
      aliasName: KMS_ALIAS,
    },
    "secretsmanager.amazonaws.com": { secretId: SECRET, name: SECRET, arn: SECRET },
    "ssm.amazonaws.com": {
      name: (operation) =>
        operation.includes("Parameter") ? SSM_PARAMETER : operation.includes("Document") ? SSM_DOCUMENT : undefined,
      names: SSM_PARAMETER,
      documentName: SSM_DOCUMENT,
      instanceId: ec2("Instance", "instance/"),
      instanceIds: ec2("Instance", "instance/"),
      associationId: rule("AWS::SSM::Association", "ssm", "regional", "association/"),
    },
    "cloudtrail.amazonaws.com": {
      name: (operation) => (NOT_TRAIL_NAME.test(operation) ? undefined : TRAIL),
      trailName: TRAIL,
      trailNameList: TRAIL,
      trailARN: TRAIL,
    },
    "dynamodb.amazonaws.com": { tableName: rule("AWS::DynamoDB::Table", "dynamodb", "regional", "table/") },
    "logs.amazonaws.com": { logGroupName: rule("AWS::Logs::LogGroup", "logs", "regional", "log-group:") },
  }).map(([source, members]) => [source, new Map(Object.entries(members))]),
);

/** `service:resource-type` of a record resource's ARN → its type, for the resources CloudTrail writes untyped (SSM). */
const TYPE_OF_ARN: ReadonlyMap<string, ResourceRule> = new Map([
  ["ssm:parameter", SSM_PARAMETER],
  ["ssm:document", SSM_DOCUMENT],
  ["ssm:association", rule("AWS::SSM::Association", "ssm", "regional", "association/")],
  ["ec2:instance", ec2("Instance", "instance/")],
  ["ecr:repository", rule("AWS::ECR::Repository", "ecr", "regional", "repository/")],
]);

/**
 * Types whose Event history ResourceName is the ARN: keys (a bare key id says nothing), policies (the
 * AWS-managed and customer ones share names), S3 objects (a key alone is ambiguous), SAML providers.
 * Other types show their name or id (`i-1234567`, a bucket, a role name), as spec §4.2's examples do.
 */
export const ARN_NAMED_TYPES: ReadonlySet<string> = new Set([
  "AWS::KMS::Key",
  "AWS::IAM::Policy",
  "AWS::IAM::SAMLProvider",
  "AWS::S3::Object",
]);

/** `arn:partition:service:region:account:resource` → its service and resource, or undefined when not an ARN. */
function arnParts(arn: string): { service: string; resource: string } | undefined {
  if (!arn.startsWith("arn:")) return undefined;
  const colons = [3];
  for (let i = 0; i < 4; i++) {
    const next = arn.indexOf(":", colons[i]! + 1);
    if (next < 0) return undefined;
    colons.push(next);
  }
  return { service: arn.slice(colons[1]! + 1, colons[2]), resource: arn.slice(colons[4]! + 1) };
}

/** The rule of an untyped record resource, from its ARN's service and resource type. */
export function ruleOfArn(arn: string): ResourceRule | undefined {
  const parts = arnParts(arn);
  if (parts === undefined) return undefined;
  const end = parts.resource.search(/[/:]/);
  return TYPE_OF_ARN.get(`${parts.service}:${end < 0 ? parts.resource : parts.resource.slice(0, end)}`);
}

/** The name or id an ARN stands for: the resource part after its type (`instance/i-1` → `i-1`, `db:x` → `x`). */
export function nameOfArn(arn: string, type: string | undefined): string {
  const resource = arnParts(arn)?.resource;
  if (resource === undefined || resource === "") return arn;
  const slash = resource.indexOf("/");
  if (type === SSM_PARAMETER.type && slash >= 0) {
    // Hierarchical parameter names start with "/", which the ARN drops (`parameter/a/b` is `/a/b`).
    const name = resource.slice(slash + 1);
    return name.includes("/") ? `/${name}` : name;
  }
  if (slash >= 0) return resource.slice(resource.lastIndexOf("/") + 1) || arn;
  const colon = resource.indexOf(":");
  return colon >= 0 ? resource.slice(colon + 1) || arn : resource;
}

function partitionOf(region: string): string {
  if (region.startsWith("cn-")) return "aws-cn";
  if (region.startsWith("us-gov-")) return "aws-us-gov";
  return "aws";
}

/** The ARN of a resource named `id`, or undefined when the rule or the record's scope cannot build it. */
export function arnOf(rule: ResourceRule, id: string, region: string, accountId: string): string | undefined {
  const form = rule.arn;
  if (form === undefined) return undefined;
  const partition = partitionOf(region);
  const resource = rule === SSM_PARAMETER && id.startsWith("/") ? id.slice(1) : id;
  switch (form.scope) {
    case "bare":
      return `arn:${partition}:${form.service}:::${form.prefix}${resource}`;
    case "global":
      return accountId === "" ? undefined : `arn:${partition}:${form.service}::${accountId}:${form.prefix}${resource}`;
    case "regional":
      return accountId === "" || region === ""
        ? undefined
        : `arn:${partition}:${form.service}:${region}:${accountId}:${form.prefix}${resource}`;
  }
}
