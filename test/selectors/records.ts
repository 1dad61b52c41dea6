import type { CloudTrailRecord } from "../../src/model/record.js";
import { normalizeIngestedRecord } from "../../src/normalize/pipeline.js";
import { readRecordsFile, SAMPLES_DIR, invictusRecords } from "../helpers/sample-records.js";
import { join } from "node:path";

/** A hand-made record: a management write call unless overridden. */
export function record(overrides: Partial<CloudTrailRecord> = {}): CloudTrailRecord {
  return {
    eventVersion: "1.09",
    eventTime: "2024-01-01T00:00:00Z",
    eventSource: "iam.amazonaws.com",
    eventName: "CreateUser",
    awsRegion: "us-east-1",
    requestParameters: null,
    responseElements: null,
    eventID: "00000000-0000-0000-0000-000000000000",
    readOnly: false,
    eventType: "AwsApiCall",
    managementEvent: true,
    eventCategory: "Management",
    userIdentity: { type: "IAMUser", arn: "arn:aws:iam::111122223333:user/alice", accountId: "111122223333" },
    ...overrides,
  };
}

export function s3ObjectEvent(eventName: string, objectArn: string, readOnly: boolean): CloudTrailRecord {
  const bucketArn = objectArn.slice(0, objectArn.indexOf("/"));
  return record({
    eventSource: "s3.amazonaws.com",
    eventName,
    readOnly,
    managementEvent: false,
    eventCategory: "Data",
    resources: [
      { type: "AWS::S3::Object", ARN: objectArn },
      { accountId: "111122223333", type: "AWS::S3::Bucket", ARN: bucketArn },
    ],
  });
}

function normalized(raw: Record<string, unknown>[]): CloudTrailRecord[] {
  return raw.flatMap((r) => {
    const result = normalizeIngestedRecord(r, { receivedAtMs: Date.parse("2030-01-01T00:00:00Z") });
    return result.ok ? [result.record] : [];
  });
}

/** The 2,900 real invictus records, normalised as the journal holds them (all management events). */
export function invictusNormalized(): CloudTrailRecord[] {
  return normalized(invictusRecords());
}

/** OTRF's real S3 exfiltration day: 9 S3 data events (GetObject, ListObjects) among management events. */
export function otrfNormalized(): CloudTrailRecord[] {
  return normalized(
    readRecordsFile(join(SAMPLES_DIR, "otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14.json.gz")),
  );
}
