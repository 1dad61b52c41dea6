import cliProgress from "cli-progress";
import { resolveClientSettings, type ClientSettings } from "../../client/client-settings.js";
import { parseTrailArn } from "../../model/trail-object-key.js";
import { systemClock } from "../../lib/clock.js";
import type { BucketReader, PublicKeyMap } from "../validate-logs/digest-chain.js";
import { s3BucketReader } from "../validate-logs/s3-bucket-reader.js";
import {
  apiPublicKeys,
  dataDirPublicKeys,
  describeTrailByArn,
  filesystemBucketReader,
} from "../validate-logs/sources.js";
import { validateLogs } from "../validate-logs/validate-run.js";
import type { Output } from "../output.js";
import { UsageError } from "../usage-error.js";

export interface ValidateLogsFlags {
  readonly trailArn: string;
  readonly startTime: string;
  readonly endTime?: string;
  readonly s3Bucket?: string;
  readonly s3Prefix?: string;
  readonly accountId?: string;
  readonly verbose?: boolean;
  readonly endpointUrl?: string;
  readonly region?: string;
  readonly dataDir?: string;
  readonly s3EndpointUrl?: string;
  readonly bucketDir?: string;
}

export interface ValidateLogsCommandOptions {
  readonly flags: ValidateLogsFlags;
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly progress?: boolean;
  readonly nowMs?: number;
}

/**
 * Parses a time the way the AWS CLI's dateutil does for the forms people use: ISO-8601 with or
 * without a zone (no zone = UTC, as the CLI forces UTC), `20160129T19:00:00Z`, or epoch seconds.
 */
function parseValidationTime(flag: string, text: string): number {
  const trimmed = text.trim();
  const basic = /^(\d{4})(\d{2})(\d{2})T(\d{2}):?(\d{2}):?(\d{2})Z?$/.exec(trimmed);
  if (basic) return Date.UTC(+basic[1]!, +basic[2]! - 1, +basic[3]!, +basic[4]!, +basic[5]!, +basic[6]!);
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) {
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(trimmed) || !trimmed.includes("T") ? trimmed : `${trimmed}Z`;
    const ms = Date.parse(zoned);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new UsageError(`${flag}: Unable to parse date value: ${text}`);
}

/**
 * `cairn validate-logs`: the AWS CLI's `aws cloudtrail validate-logs`, against Cairn or anything
 * S3-compatible — same checks, same lines, same exit status (spec §3.5). Returns the exit code.
 */
export async function runValidateLogs(options: ValidateLogsCommandOptions): Promise<number> {
  const { flags, env } = options;
  const arn = parseTrailArn(flags.trailArn);
  if (arn === undefined) throw new UsageError(`Invalid trail ARN provided: ${flags.trailArn}`);
  const startMs = parseValidationTime("--start-time", flags.startTime);
  const endMs =
    flags.endTime === undefined
      ? (options.nowMs ?? systemClock.nowMs())
      : parseValidationTime("--end-time", flags.endTime);
  if (startMs > endMs) throw new UsageError("Invalid time range specified: start-time must occur before end-time");
  if (flags.bucketDir !== undefined && flags.s3EndpointUrl !== undefined) {
    throw new UsageError("--bucket-dir and --s3-endpoint-url exclude each other.");
  }
  const offline = flags.bucketDir !== undefined;
  if (offline && flags.s3Bucket === undefined) {
    throw new UsageError("--bucket-dir needs --s3-bucket: offline there is no server to ask for the trail's bucket.");
  }
  // The validated (source) region: like the AWS CLI's --region; the trail's home region when unset.
  const region = flags.region ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? arn.homeRegion;
  let client: ClientSettings | undefined;
  const api = (): ClientSettings => (client ??= resolveClientSettings({ ...flags, region }, env));

  let bucket = flags.s3Bucket;
  let prefix = flags.s3Prefix;
  if (bucket === undefined) {
    const trail = await describeTrailByArn(api(), flags.trailArn);
    if (trail.isOrganizationTrail && flags.accountId === undefined) {
      throw new UsageError("Missing required parameter for organization trail: '--account-id'");
    }
    bucket = trail.bucket;
    prefix = trail.prefix;
  }
  const reader: BucketReader = offline
    ? filesystemBucketReader(flags.bucketDir!)
    : s3BucketReader(
        flags.s3EndpointUrl ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL),
        region,
        api().credentials,
      );
  const publicKeys: (startMs: number, endMs: number) => Promise<PublicKeyMap> = offline
    ? dataDirPublicKeys(flags.dataDir ?? nonEmpty(env.CAIRN_DATA_DIR) ?? "./.cairn", region)
    : apiPublicKeys(api());

  const bar = options.progress ? startBar(options.stderr) : undefined;
  try {
    const { exitCode } = await validateLogs({
      trailArn: flags.trailArn,
      target: {
        accountId: flags.accountId ?? arn.accountId,
        trailName: arn.trailName,
        homeRegion: arn.homeRegion,
        sourceRegion: region,
      },
      bucket,
      prefix: prefix === "" ? undefined : prefix,
      startMs,
      endMs,
      verbose: flags.verbose === true,
      reader,
      publicKeys,
      // Lines go around the bar: it redraws on stderr, results go to stdout as the AWS CLI writes them.
      stdout: options.stdout,
      stderr: bar ? { write: (text: string) => bar.log(text) } : options.stderr,
      ...(bar ? { onChecked: (kind: "digest" | "log") => bar.checked(kind) } : {}),
    });
    return exitCode;
  } finally {
    bar?.stop();
  }
}

function startBar(stream: Output) {
  const bar = new cliProgress.SingleBar(
    {
      stream: stream as NodeJS.WritableStream,
      format: "Validating {digests} digest files, {logs} log files",
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  const counts = { digests: 0, logs: 0 };
  bar.start(1, 0, counts);
  return {
    checked(kind: "digest" | "log") {
      if (kind === "digest") counts.digests++;
      else counts.logs++;
      bar.update(0, counts);
    },
    log(text: string) {
      bar.stop();
      stream.write(text);
      bar.start(1, 0, counts);
    },
    stop: () => bar.stop(),
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}
