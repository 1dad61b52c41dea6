import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { toEventTime } from "../src/lib/clock.js";
import type { CloudTrailRecord, RecordResource, UserIdentity } from "../src/model/record.js";

/**
 * Deterministic synthetic CloudTrail records for the Event history benchmark: the real sample
 * records (~1.2 KB each) with a fresh eventID, a time spread evenly over the window, and users,
 * access keys and resource names drawn from skewed distributions, so that the index sees realistic
 * cardinalities. Record i is a pure function of (i, count, window), so the benchmark can re-derive any
 * record to pick query values without keeping 10M records in memory.
 */

const SAMPLES_DIRECTORY = resolve(import.meta.dirname, "../../../shared/data/cloudtrail-samples/invictus-sigma-aws");
export const BENCH_ACCOUNT = "123837392027";
export const BENCH_REGIONS = ["us-east-1", "eu-west-1"] as const;

export function loadSamples(): CloudTrailRecord[] {
  const records: CloudTrailRecord[] = [];
  for (const name of readdirSync(SAMPLES_DIRECTORY).sort()) {
    if (!name.endsWith(".json.gz")) continue;
    const body = JSON.parse(gunzipSync(readFileSync(join(SAMPLES_DIRECTORY, name))).toString("utf8")) as {
      Records: CloudTrailRecord[];
    };
    records.push(...body.Records);
  }
  return records;
}

/** mulberry32: a tiny seeded generator, so runs are reproducible. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hex(value: number, digits: number): string {
  return Math.floor(value).toString(16).padStart(digits, "0").slice(-digits);
}

export interface RecordGenerator {
  record(i: number): CloudTrailRecord;
}

export function recordGenerator(
  samples: readonly CloudTrailRecord[],
  count: number,
  firstMs: number,
  lastMs: number,
): RecordGenerator {
  const spanMs = lastMs - firstMs;
  const identity = (base: UserIdentity | undefined, user: number, key: number): UserIdentity | undefined => {
    if (base === undefined) return undefined;
    switch (base.type) {
      case "IAMUser":
        return {
          ...base,
          userName: `user-${user}`,
          arn: `arn:aws:iam::${BENCH_ACCOUNT}:user/user-${user}`,
          accessKeyId: `AKIA${hex(key, 16).toUpperCase()}`,
        };
      case "AssumedRole":
        return {
          ...base,
          arn: `arn:aws:sts::${BENCH_ACCOUNT}:assumed-role/role-${user % 20}/session-${user}`,
          accessKeyId: `ASIA${hex(key * 7919, 16).toUpperCase()}`,
        };
      default:
        return base;
    }
  };
  return {
    record(i: number): CloudTrailRecord {
      const next = random(i * 2654435761);
      const sample = samples[(i * 7919) % samples.length]!;
      const user = Math.floor(500 * next() ** 3);
      const key = user * 4 + Math.floor(next() * 4);
      const resourceId = Math.floor(20_000 * next() ** 2);
      const resources = sample.resources?.map((resource): RecordResource => ({
        ...resource,
        ARN: `${resource.ARN ?? resource.ARNPrefix ?? "arn"}-${resourceId}`,
      }));
      const jitterMs = Math.floor(next() * 60_000) - 30_000;
      const timeMs = Math.min(lastMs, Math.max(firstMs, firstMs + Math.floor((i * spanMs) / count) + jitterMs));
      return {
        ...sample,
        userIdentity: identity(sample.userIdentity, user, key),
        eventTime: toEventTime(timeMs),
        eventID: `${hex(i, 8)}-${hex(next() * 65536, 4)}-4${hex(next() * 4096, 3)}-a${hex(next() * 4096, 3)}-${hex(next() * 2 ** 32, 8)}${hex(next() * 65536, 4)}`,
        requestID: `${hex(next() * 2 ** 32, 8)}-${hex(next() * 65536, 4)}-${hex(next() * 65536, 4)}`,
        sourceIPAddress: `10.${Math.floor(next() * 256)}.${Math.floor(next() * 256)}.${Math.floor(next() * 256)}`,
        awsRegion: next() < 0.9 ? BENCH_REGIONS[0] : BENCH_REGIONS[1],
        recipientAccountId: BENCH_ACCOUNT,
        ...(resources === undefined ? {} : { resources }),
      };
    },
  };
}
