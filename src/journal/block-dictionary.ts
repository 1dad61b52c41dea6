import { invariant } from "./invariant.js";

/**
 * Preset deflate dictionaries (zlib `dictionary` option), by the id stored in each block header.
 * A dictionary primes deflate's 32 KiB window, so a small block compresses almost as well as a
 * large one: its first records can already refer back to field names and common values. That is
 * what lets random reads inflate ~20 KB instead of ~150 KB (docs/decisions/0004).
 *
 * A dictionary is part of the on-disk format: once blocks were written with an id, its bytes MUST
 * never change. A better dictionary gets a new id; readers keep every old one.
 *
 * Dictionary 1 is hand-written from the CloudTrail record schema (field names in the order AWS
 * and `JSON.stringify` of Cairn's records emit them) and service-independent values. It contains no
 * account ids, ARNs, user agents or other values of any particular data set, so it is not tuned to
 * the benchmark's samples. deflate codes nearer matches more cheaply, so the most frequent text
 * (the record skeleton) comes last.
 */
export const DICTIONARY_NONE = 0;
export const DICTIONARY_CLOUDTRAIL_1 = 1;

const CLOUDTRAIL_1_PARTS: readonly string[] = [
  // Rarer shapes first: Insights, service events, console sign-in, errors.
  '{"eventVersion":"1.07","eventTime":"","awsRegion":"us-east-1","eventID":"","eventType":"AwsCloudTrailInsight","recipientAccountId":"","sharedEventID":"","insightDetails":{"state":"Start","eventSource":"","eventName":"","insightType":"ApiCallRateInsight","insightContext":{"statistics":{"baseline":{"average":0.0},"insight":{"average":0.0},"insightDuration":1},"attributions":[{"attribute":"userIdentityArn","insight":[{"value":"","average":0.0}],"baseline":[{"value":"","average":0.0}]},{"attribute":"userAgent","insight":[]},{"attribute":"errorCode","insight":[{"value":"null","average":0.0}]}]}},"eventCategory":"Insight"}',
  '{"eventVersion":"1.08","userIdentity":{"type":"Root","principalId":"","arn":"arn:aws:iam:::root","accountId":""},"eventTime":"","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","awsRegion":"us-east-1","sourceIPAddress":"","userAgent":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/","requestParameters":null,"responseElements":{"ConsoleLogin":"Success"},"additionalEventData":{"LoginTo":"https://console.aws.amazon.com/console/home","MobileVersion":"No","MFAUsed":"No"},"eventID":"","readOnly":false,"eventType":"AwsConsoleSignIn","managementEvent":true,"recipientAccountId":"","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"signin.aws.amazon.com"}}',
  '{"eventVersion":"1.08","userIdentity":{"type":"AWSService","invokedBy":"' +
    'cloudtrail.amazonaws.com"},"eventTime":"","eventSource":"kms.amazonaws.com","eventName":"Decrypt","awsRegion":"us-east-1","sourceIPAddress":"AWS Internal","userAgent":"AWS Internal","requestParameters":{"encryptionContext":{"aws:s3:arn":"arn:aws:s3:::"},"encryptionAlgorithm":"SYMMETRIC_DEFAULT"},"responseElements":null,"requestID":"","eventID":"","readOnly":true,"resources":[{"accountId":"","type":"AWS::KMS::Key","ARN":"arn:aws:kms:us-east-1::key/"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"","sharedEventID":"","eventCategory":"Management"}',
  '{"eventVersion":"1.08","userIdentity":{"accountId":"","invokedBy":"ec2.amazonaws.com"},"eventTime":"","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"ec2.amazonaws.com","userAgent":"ec2.amazonaws.com","requestParameters":{"roleArn":"arn:aws:iam:::role/","roleSessionName":"","durationSeconds":3600},"responseElements":{"credentials":{"accessKeyId":"ASIA","sessionToken":"","expiration":"Jan 1, 2024, 12:00:00 AM"},"assumedRoleUser":{"assumedRoleId":"AROA","arn":"arn:aws:sts:::assumed-role/"}},"requestID":"","eventID":"","readOnly":true,"resources":[{"accountId":"","type":"AWS::IAM::Role","ARN":"arn:aws:iam:::role/"}],"eventType":"AwsServiceEvent","managementEvent":true,"recipientAccountId":"","sharedEventID":"","eventCategory":"Management"}',
  '"errorCode":"AccessDenied","errorMessage":"User: arn:aws:iam:::user/ is not authorized to perform:  on resource:  because no identity-based policy allows the  action",',
  '"errorCode":"Client.UnauthorizedOperation","errorMessage":"You are not authorized to perform this operation.",',
  '"errorCode":"ThrottlingException","errorMessage":"Rate exceeded","errorCode":"ResourceNotFoundException","errorCode":"NoSuchEntityException","errorCode":"InvalidParameterValue",',
  // Common values, service names and request fields.
  '"us-west-2","eu-west-1","eu-central-1","ap-southeast-1","ap-northeast-1","us-east-2","us-west-1",',
  '"s3.amazonaws.com","ssm.amazonaws.com","secretsmanager.amazonaws.com","kms.amazonaws.com","lambda.amazonaws.com","logs.amazonaws.com","cloudformation.amazonaws.com","config.amazonaws.com","monitoring.amazonaws.com","dynamodb.amazonaws.com","rds.amazonaws.com","organizations.amazonaws.com","guardduty.amazonaws.com","cloudtrail.amazonaws.com","elasticloadbalancing.amazonaws.com","autoscaling.amazonaws.com","ecr.amazonaws.com","ecs.amazonaws.com","eks.amazonaws.com","sns.amazonaws.com","sqs.amazonaws.com","route53.amazonaws.com","access-analyzer.amazonaws.com","health.amazonaws.com",',
  '"eventName":"Describe","eventName":"List","eventName":"Get","eventName":"Create","eventName":"Delete","eventName":"Put","eventName":"Update","eventName":"GetCallerIdentity","eventName":"DescribeInstances","eventName":"GetObject","eventName":"PutObject","eventName":"ListBuckets","eventName":"GetBucketAcl","eventName":"GetSecretValue","eventName":"GenerateDataKey","eventName":"Encrypt","eventName":"RunInstances","eventName":"CreateTags","eventName":"GetParameter",',
  '"requestParameters":{"bucketName":"","Host":"","acl":""},"requestParameters":{"instancesSet":{"items":[{"instanceId":"i-"}]},"filterSet":{}},"requestParameters":{"maxResults":1000,"nextToken":""},"requestParameters":{"name":"","withDecryption":true},"requestParameters":{"secretId":"arn:aws:secretsmanager:us-east-1::secret:"},"requestParameters":{"roleName":"","policyArn":"arn:aws:iam::aws:policy/"},"requestParameters":{"userName":""},"requestParameters":{"keyId":"","keySpec":"AES_256"},',
  '"responseElements":{"requestId":"","return":true},"responseElements":{"_return":true},"tagSpecificationSet":{"items":[{"resourceType":"","tags":[{"key":"Name","value":""}]}]},"vpcId":"vpc-","subnetId":"subnet-","groupId":"sg-","imageId":"ami-","instanceType":"t3.micro","ownerId":"","items":[{"key":"","value":""}]},',
  '"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"ECDHE-RSA-AES128-GCM-SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"","bytesTransferredOut":0},"resources":[{"type":"AWS::S3::Object","ARNPrefix":"arn:aws:s3:::"},{"accountId":"","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::"}],"eventCategory":"Data"',
  '"userAgent":"aws-cli/2.13.0 Python/3.11.4 Linux/5.15.0 exe/x86_64.ubuntu.22 prompt/off command/","userAgent":"Boto3/1.28.0 md/Botocore#1.31.0 ua/2.0 os/linux#5.15.0 md/arch#x86_64 lang/python#3.11.4 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.31.0","userAgent":"aws-sdk-go/1.44.0 (go1.20; linux; amd64)","userAgent":"aws-sdk-java/1.12.0 Linux/5.10 OpenJDK_64-Bit_Server_VM/17 java/17 vendor/Amazon.com_Inc.","userAgent":"aws-sdk-js/3.0.0 ua/2.0 os/linux#5.10 lang/js md/nodejs#18.0.0 api/","userAgent":"APN/1.0 HashiCorp/1.0 Terraform/1.5.0 (+https://www.terraform.io) terraform-provider-aws/5.0.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.44.0 (go1.20; linux; amd64)","userAgent":"console.amazonaws.com","userAgent":"AWS Internal",',
  '"sessionCredentialFromConsole":"true","vpcEndpointId":"vpce-","vpcEndpointAccountId":"","type":"AWS::EC2::Instance","type":"AWS::IAM::Role","type":"AWS::IAM::User","type":"AWS::KMS::Key","type":"AWS::SecretsManager::Secret","type":"AWS::SSM::Parameter","type":"AWS::Lambda::Function",',
  // Identity variants.
  '"userIdentity":{"type":"AssumedRole","principalId":"AROA:","arn":"arn:aws:sts:::assumed-role/","accountId":"","accessKeyId":"ASIA","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA","arn":"arn:aws:iam:::role/","accountId":"","userName":""},"webIdFederationData":{},"attributes":{"creationDate":"T:00:00Z","mfaAuthenticated":"false"}},"invokedBy":""},',
  '"userIdentity":{"type":"IAMUser","principalId":"AIDA","arn":"arn:aws:iam:::user/","accountId":"","accessKeyId":"AKIA","userName":"","sessionContext":{"sessionIssuer":{},"webIdFederationData":{},"attributes":{"creationDate":"T:00:00Z","mfaAuthenticated":"true"}}},',
  // The record skeleton, most frequent of all.
  '{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"","arn":"arn:aws:sts:::assumed-role/","accountId":"","accessKeyId":"ASIA","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"","arn":"arn:aws:iam:::role/","accountId":"","userName":""},"attributes":{"creationDate":"","mfaAuthenticated":"false"}}},"eventTime":"","eventSource":"ec2.amazonaws.com","eventName":"","awsRegion":"us-east-1","sourceIPAddress":"","userAgent":"","errorCode":"","errorMessage":"","requestParameters":null,"responseElements":null,"requestID":"","eventID":"","readOnly":false,"resources":[{"accountId":"","type":"","ARN":"arn:aws:"}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"us-east-1.amazonaws.com"}}',
  '{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDA","arn":"arn:aws:iam:::user/","accountId":"","accessKeyId":"AKIA","userName":""},"eventTime":"2024-01-01T00:00:00Z","eventSource":"iam.amazonaws.com","eventName":"","awsRegion":"us-east-1","sourceIPAddress":"","userAgent":"","requestParameters":null,"responseElements":null,"requestID":"","eventID":"","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.2","cipherSuite":"ECDHE-RSA-AES128-GCM-SHA256","clientProvidedHostHeader":"iam.amazonaws.com"}}',
];

const DICTIONARIES = new Map<number, Buffer>([
  [DICTIONARY_CLOUDTRAIL_1, Buffer.from(CLOUDTRAIL_1_PARTS.join(""), "utf8")],
]);

/** deflate's window: bytes of a dictionary beyond it are never referenced. */
const DICTIONARY_BYTES_MAX = 32 * 1024;

/** The dictionary bytes for an id stored in a block header; undefined for DICTIONARY_NONE or an unknown id. */
export function blockDictionary(id: number): Buffer | undefined {
  const dictionary = DICTIONARIES.get(id);
  if (dictionary !== undefined) invariant(dictionary.length <= DICTIONARY_BYTES_MAX, `Dictionary ${id} is too large.`);
  return dictionary;
}
