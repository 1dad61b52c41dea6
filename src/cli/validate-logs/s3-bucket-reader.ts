import { GetObjectCommand, ListObjectsCommand, S3Client, S3ServiceException } from "@aws-sdk/client-s3";
import type { ListObjectsPage, StoredObject } from "../../stores/objects/index.js";
import type { ClientCredentials } from "../../client/client-settings.js";
import type { BucketReader } from "./digest-chain.js";

/**
 * Reads buckets over the S3 protocol for `cairn validate-logs --s3-endpoint-url` — Cairn's own S3
 * view of the embedded store, MinIO, or AWS. Lists with ListObjects v1 and a marker, exactly the calls
 * the AWS CLI's validator makes, so both see the same keys. Path-style addressing: custom endpoints
 * rarely have per-bucket DNS names.
 */
export function s3BucketReader(
  endpointUrl: string | undefined,
  region: string,
  credentials: ClientCredentials,
): BucketReader {
  const client = new S3Client({
    region,
    ...(endpointUrl !== undefined ? { endpoint: endpointUrl, forcePathStyle: true } : {}),
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
  });
  return {
    async listObjects(bucket, options): Promise<ListObjectsPage> {
      const answer = await client.send(
        new ListObjectsCommand({
          Bucket: bucket,
          ...(options.prefix !== undefined ? { Prefix: options.prefix } : {}),
          ...(options.startAfter !== undefined ? { Marker: options.startAfter } : {}),
          ...(options.maxKeys !== undefined ? { MaxKeys: options.maxKeys } : {}),
        }),
      );
      const objects = (answer.Contents ?? []).map((o) => ({
        key: o.Key ?? "",
        sizeBytes: o.Size ?? 0,
        lastModifiedMs: o.LastModified?.getTime() ?? 0,
        etag: o.ETag ?? "",
      }));
      // ListObjects v1 sends NextMarker only with a delimiter; otherwise the last key is the marker.
      const next = answer.IsTruncated ? (answer.NextMarker ?? objects.at(-1)?.key) : undefined;
      return { objects, ...(next !== undefined ? { nextStartAfter: next } : {}) };
    },
    async getObject(bucket, key): Promise<StoredObject | undefined> {
      try {
        const answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const body = Buffer.from((await answer.Body?.transformToByteArray()) ?? new Uint8Array());
        return {
          body,
          metadata: answer.Metadata ?? {},
          lastModifiedMs: answer.LastModified?.getTime() ?? 0,
          etag: answer.ETag ?? "",
          ...(answer.ContentType !== undefined ? { contentType: answer.ContentType } : {}),
          ...(answer.ContentEncoding !== undefined ? { contentEncoding: answer.ContentEncoding } : {}),
        };
      } catch (error) {
        // Only a missing key is a finding ("INVALID: not found"); a missing bucket or a refusal aborts.
        if (error instanceof S3ServiceException && error.name === "NoSuchKey") return undefined;
        throw error;
      }
    },
  };
}
