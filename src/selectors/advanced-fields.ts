/**
 * The advanced-selector field reference (spec §6.2 "Supported fields"): which fields each event
 * category allows, with which operators and values, for trails and for event data stores.
 */
import { CAIRN_DATA_RESOURCE_TYPES } from "../model/cairn-resources.js";
import { EXCLUDABLE_MANAGEMENT_SOURCES } from "./basic-selectors.js";

export const OPERATORS = ["Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith"] as const;
export type Operator = (typeof OPERATORS)[number];

export type SelectorTarget = "trail" | "eventDataStore";

interface FieldRule {
  readonly operators: readonly Operator[];
  /** When set, every value must be one of these. */
  readonly values?: readonly string[];
  /** Exactly one value in total (one resource type, one network event source per selector). */
  readonly singleValue?: boolean;
}

export interface CategoryRules {
  readonly fields: Readonly<Record<string, FieldRule>>;
  readonly required: readonly string[];
}

const DATA_RESOURCE_TYPES_ADVANCED: readonly string[] = [
  "AWS::DynamoDB::Table",
  "AWS::Lambda::Function",
  "AWS::S3::Object",
  "AWS::AppConfig::Configuration",
  "AWS::B2BI::Transformer",
  "AWS::Bedrock::AgentAlias",
  "AWS::Bedrock::KnowledgeBase",
  "AWS::Cassandra::Table",
  "AWS::CloudFront::KeyValueStore",
  "AWS::CloudTrail::Channel",
  "AWS::CodeWhisperer::Customization",
  "AWS::CodeWhisperer::Profile",
  "AWS::Cognito::IdentityPool",
  "AWS::DynamoDB::Stream",
  "AWS::EC2::Snapshot",
  "AWS::EMRWAL::Workspace",
  "AWS::FinSpace::Environment",
  "AWS::Glue::Table",
  "AWS::GreengrassV2::ComponentVersion",
  "AWS::GreengrassV2::Deployment",
  "AWS::GuardDuty::Detector",
  "AWS::IoT::Certificate",
  "AWS::IoT::Thing",
  "AWS::IoTSiteWise::Asset",
  "AWS::IoTSiteWise::TimeSeries",
  "AWS::IoTTwinMaker::Entity",
  "AWS::IoTTwinMaker::Workspace",
  "AWS::KendraRanking::ExecutionPlan",
  "AWS::KinesisVideo::Stream",
  "AWS::ManagedBlockchain::Network",
  "AWS::ManagedBlockchain::Node",
  "AWS::MedicalImaging::Datastore",
  "AWS::NeptuneGraph::Graph",
  "AWS::PCAConnectorAD::Connector",
  "AWS::QApps::QApp",
  "AWS::QBusiness::Application",
  "AWS::QBusiness::DataSource",
  "AWS::QBusiness::Index",
  "AWS::QBusiness::WebExperience",
  "AWS::RDS::DBCluster",
  "AWS::S3::AccessPoint",
  "AWS::S3ObjectLambda::AccessPoint",
  "AWS::S3Outposts::Object",
  "AWS::SageMaker::Endpoint",
  "AWS::SageMaker::ExperimentTrialComponent",
  "AWS::SageMaker::FeatureGroup",
  "AWS::ServiceDiscovery::Namespace",
  "AWS::ServiceDiscovery::Service",
  "AWS::SCN::Instance",
  "AWS::SNS::PlatformEndpoint",
  "AWS::SNS::Topic",
  "AWS::SQS::Queue",
  "AWS::SSM::ManagedNode",
  "AWS::SSMMessages::ControlChannel",
  "AWS::SWF::Domain",
  "AWS::ThinClient::Device",
  "AWS::ThinClient::Environment",
  "AWS::Timestream::Database",
  "AWS::Timestream::Table",
  "AWS::VerifiedPermissions::PolicyStore",
  "AWS::XRay::Trace",
  // Cairn's own plumbing (POST /ingest, GET /tail, GET /quarantine): src/model/cairn-resources.ts.
  ...CAIRN_DATA_RESOURCE_TYPES,
];

const P = "arn:aws(?:-[a-z]+)*";
/**
 * With Equals/NotEquals, resources.ARN must be a full ARN of the selected type (spec §6.2); the
 * common types are checked exactly, any other type must at least be an ARN.
 */
const FULL_ARN_FORMS: Readonly<Record<string, RegExp>> = {
  "AWS::S3::Object": new RegExp(`^${P}:s3:::[A-Za-z0-9][A-Za-z0-9._-]{1,254}/.*$`),
  "AWS::DynamoDB::Table": new RegExp(`^${P}:dynamodb:[a-z0-9-]+:\\d{12}:table/[A-Za-z0-9_.-]{3,255}$`),
  "AWS::DynamoDB::Stream": new RegExp(`^${P}:dynamodb:[a-z0-9-]+:\\d{12}:table/[A-Za-z0-9_.-]{3,255}/stream/.+$`),
  "AWS::Lambda::Function": new RegExp(`^${P}:lambda:[a-z0-9-]+:\\d{12}:function:[A-Za-z0-9_-]{1,64}$`),
  "AWS::SNS::Topic": new RegExp(`^${P}:sns:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_-]{1,256}(?:\\.fifo)?$`),
  "AWS::SQS::Queue": new RegExp(`^${P}:sqs:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_-]{1,80}(?:\\.fifo)?$`),
  "AWS::CloudTrail::Channel": new RegExp(`^${P}:cloudtrail:[a-z0-9-]+:\\d{12}:channel/[A-Za-z0-9-]+$`),
  "AWS::EC2::Snapshot": new RegExp(`^${P}:ec2:[a-z0-9-]+::snapshot/snap-[a-f0-9]+$`),
  "AWS::S3::AccessPoint": new RegExp(`^${P}:s3:[a-z0-9-]+:\\d{12}:accesspoint/[a-z0-9-]{3,50}(?:/object/.*)?$`),
  "AWS::Glue::Table": new RegExp(`^${P}:glue:[a-z0-9-]+:\\d{12}:table/[^/]+/[^/]+$`),
};
const ANY_ARN = new RegExp(`^${P}:[a-z0-9-]+:`);

export function fullArnProblem(resourceType: string | undefined, value: string): string | undefined {
  const form = (resourceType !== undefined ? FULL_ARN_FORMS[resourceType] : undefined) ?? ANY_ARN;
  return form.test(value) ? undefined : `must be a full ARN of ${resourceType ?? "the resource type"}`;
}

const ANY: readonly Operator[] = OPERATORS;
const EQUALS: readonly Operator[] = ["Equals"];
const CATEGORY: FieldRule = { operators: EQUALS, singleValue: true };
const READ_ONLY: FieldRule = { operators: EQUALS, values: ["true", "false"] };
const CONSOLE: FieldRule = { operators: ["Equals", "NotEquals"], values: ["true"] };
const ANY_FIELD: FieldRule = { operators: ANY };

const TRAIL_CATEGORIES: Readonly<Record<string, CategoryRules>> = {
  Management: {
    required: ["eventCategory"],
    fields: {
      eventCategory: CATEGORY,
      readOnly: READ_ONLY,
      // Trails can only drop these two noisy sources from management events (like basic selectors).
      eventSource: { operators: ["NotEquals"], values: EXCLUDABLE_MANAGEMENT_SOURCES },
      eventType: ANY_FIELD,
      sessionCredentialFromConsole: CONSOLE,
      "userIdentity.arn": ANY_FIELD,
    },
  },
  Data: {
    required: ["eventCategory", "resources.type"],
    fields: {
      eventCategory: CATEGORY,
      "resources.type": { operators: EQUALS, singleValue: true, values: DATA_RESOURCE_TYPES_ADVANCED },
      "resources.ARN": ANY_FIELD,
      readOnly: READ_ONLY,
      eventName: ANY_FIELD,
      eventType: ANY_FIELD,
      sessionCredentialFromConsole: CONSOLE,
      "userIdentity.arn": ANY_FIELD,
    },
  },
  NetworkActivity: {
    required: ["eventCategory", "eventSource"],
    fields: {
      eventCategory: CATEGORY,
      eventSource: { operators: EQUALS, singleValue: true },
      eventName: ANY_FIELD,
      errorCode: { operators: EQUALS, values: ["VpceAccessDenied"] },
      vpcEndpointId: ANY_FIELD,
      "userIdentity.arn": ANY_FIELD,
    },
  },
};

/** Event data stores filter management and data events on more fields (spec §6.2). */
const EDS_CATEGORIES: Readonly<Record<string, CategoryRules>> = {
  Management: {
    required: ["eventCategory"],
    fields: { ...TRAIL_CATEGORIES["Management"]!.fields, eventSource: ANY_FIELD, eventName: ANY_FIELD },
  },
  Data: {
    required: ["eventCategory", "resources.type"],
    fields: { ...TRAIL_CATEGORIES["Data"]!.fields, eventSource: ANY_FIELD },
  },
  NetworkActivity: TRAIL_CATEGORIES["NetworkActivity"]!,
  // These select the store's kind; nothing can be filtered.
  Insight: { required: ["eventCategory"], fields: { eventCategory: CATEGORY } },
  ConfigurationItem: { required: ["eventCategory"], fields: { eventCategory: CATEGORY } },
  Evidence: { required: ["eventCategory"], fields: { eventCategory: CATEGORY } },
  ActivityAuditLog: { required: ["eventCategory"], fields: { eventCategory: CATEGORY } },
};

export function categoryRules(target: SelectorTarget): Readonly<Record<string, CategoryRules>> {
  return target === "trail" ? TRAIL_CATEGORIES : EDS_CATEGORIES;
}

export const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  "eventCategory",
  "eventSource",
  "eventName",
  "readOnly",
  "resources.type",
  "resources.ARN",
  "eventType",
  "sessionCredentialFromConsole",
  "userIdentity.arn",
  "errorCode",
  "vpcEndpointId",
]);
