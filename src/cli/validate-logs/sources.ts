import type { ClientSettings } from "../../client/client-settings.js";
import { openFilesystemObjectStore } from "../../stores/objects/index.js";
import { readPublicKeys } from "../../stores/signing-keys/index.js";
import type { BucketReader, PublicKeyMap } from "./digest-chain.js";

/** What validate-logs needs to know about the trail (DescribeTrails, spec §3.5 step 2). */
export interface TrailLocation {
  readonly bucket: string;
  readonly prefix?: string | undefined;
  readonly isOrganizationTrail: boolean;
}

async function cloudTrailClient(client: ClientSettings) {
  // Loaded on demand: the AWS SDK is slow to import and offline runs do not need it.
  const sdk = await import("@aws-sdk/client-cloudtrail");
  const { credentials } = client;
  return {
    sdk,
    client: new sdk.CloudTrailClient({
      endpoint: client.endpointUrl,
      region: client.region,
      credentials: {
        accessKeyId: credentials.accessKeyId,
        secretAccessKey: credentials.secretAccessKey,
        ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
      },
    }),
  };
}

/** DescribeTrails with no parameters, then the entry whose TrailARN matches exactly — as the AWS CLI does. */
export async function describeTrailByArn(client: ClientSettings, trailArn: string): Promise<TrailLocation> {
  const { sdk, client: cloudTrail } = await cloudTrailClient(client);
  try {
    const answer = await cloudTrail.send(new sdk.DescribeTrailsCommand({}));
    const trail = (answer.trailList ?? []).find((t) => t.TrailARN === trailArn);
    if (trail === undefined || trail.S3BucketName === undefined) {
      throw new Error(`A trail could not be found for ${trailArn}`);
    }
    return {
      bucket: trail.S3BucketName,
      prefix: trail.S3KeyPrefix,
      isOrganizationTrail: trail.IsOrganizationTrail === true,
    };
  } finally {
    cloudTrail.destroy();
  }
}

/** ListPublicKeys in the client's region; `Value` back to base64, as the AWS CLI keeps it. */
export function apiPublicKeys(client: ClientSettings): (startMs: number, endMs: number) => Promise<PublicKeyMap> {
  return async (startMs, endMs) => {
    const { sdk, client: cloudTrail } = await cloudTrailClient(client);
    try {
      const answer = await cloudTrail.send(
        new sdk.ListPublicKeysCommand({ StartTime: new Date(startMs), EndTime: new Date(endMs) }),
      );
      const keys: PublicKeyMap = new Map();
      for (const key of answer.PublicKeyList ?? []) {
        if (key.Fingerprint !== undefined && key.Value !== undefined) {
          keys.set(key.Fingerprint, Buffer.from(key.Value).toString("base64"));
        }
      }
      return keys;
    } finally {
      cloudTrail.destroy();
    }
  };
}

/** Offline: the key files in `<data-dir>/keys/<region>/` (public halves only). */
export function dataDirPublicKeys(
  dataDir: string,
  region: string,
): (startMs: number, endMs: number) => Promise<PublicKeyMap> {
  return async (startMs, endMs) => {
    const keys: PublicKeyMap = new Map();
    for (const key of await readPublicKeys(dataDir, region)) {
      if (key.validityStartMs <= endMs && key.validityEndMs >= startMs) {
        keys.set(key.fingerprint, key.publicKeyDer.toString("base64"));
      }
    }
    return keys;
  };
}

/** `--bucket-dir`: the embedded filesystem object store's layout (a directory per bucket, metadata sidecars). */
export function filesystemBucketReader(root: string): BucketReader {
  return openFilesystemObjectStore(root);
}
