/**
 * S3 object keys of trail log files and digest files (spec §2.1, §3.1). Pure functions: the
 * validator (`aws cloudtrail validate-logs`) finds digests by position in these keys, so every
 * character matters — the tests pin them against the spec's golden examples.
 */

/** Where a trail's objects go: the optional prefix and, for organization trails, the org id. */
export interface KeyScope {
  /** The trail's S3KeyPrefix; empty or undefined means keys start with `AWSLogs/`. */
  readonly prefix?: string | undefined;
  /** `o-…` for organization trails, whose keys carry the org id before the account. */
  readonly organizationId?: string | undefined;
  readonly accountId: string;
}

const UNIQUE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
export const UNIQUE_LENGTH = 16;

function pad(value: number, width = 2): string {
  return String(value).padStart(width, "0");
}

/** `YYYY/MM/DD` of a UTC time: the date folders of both log and digest keys. */
export function dateFolders(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
}

/** `YYYYMMDDTHHmmZ`: log file names carry the delivery time to the minute. */
export function minuteStamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}Z`;
}

/** `YYYYMMDDTHHMMSSZ` (16 characters): digest names carry the digest end time to the second. */
export function secondStamp(ms: number): string {
  const d = new Date(ms);
  return `${minuteStamp(ms).slice(0, -1)}${pad(d.getUTCSeconds())}Z`;
}

/** `[prefix/]AWSLogs/[o-id/]<acct>/` — the part every CloudTrail folder shares. */
export function accountRoot(scope: KeyScope): string {
  const org = scope.organizationId ? `${scope.organizationId}/` : "";
  const root = `AWSLogs/${org}${scope.accountId}/`;
  return scope.prefix ? `${scope.prefix}/${root}` : root;
}

/**
 * Turns random bytes into the 16-character `[A-Za-z0-9]` suffix that keeps two files delivered in the
 * same minute apart. The bytes are injected so delivery stays reproducible under test.
 * The modulo bias (256 % 62) is irrelevant: the suffix only has to be unlikely to collide.
 */
export function uniqueSuffix(randomBytes: Uint8Array): string {
  if (randomBytes.length < UNIQUE_LENGTH) throw new RangeError(`uniqueSuffix needs ${UNIQUE_LENGTH} bytes.`);
  let out = "";
  for (let i = 0; i < UNIQUE_LENGTH; i++) out += UNIQUE_ALPHABET[randomBytes[i]! % UNIQUE_ALPHABET.length];
  return out;
}

/**
 * @example
 * logFileKey({ accountId: "111122223333" }, "us-east-2", Date.UTC(2015, 7, 1, 2, 10), "Mu0KsOhtH1ar15ZZ")
 * // "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz"
 */
export function logFileKey(scope: KeyScope, region: string, deliveredAtMs: number, unique: string): string {
  if (!/^[A-Za-z0-9]{16}$/.test(unique)) throw new RangeError(`Invalid unique suffix "${unique}".`);
  const name = `${scope.accountId}_CloudTrail_${region}_${minuteStamp(deliveredAtMs)}_${unique}.json.gz`;
  return `${accountRoot(scope)}CloudTrail/${region}/${dateFolders(deliveredAtMs)}/${name}`;
}

/** The folders of a trail's files under `AWSLogs/<acct>/`: events, and Insights events (spec §2.1). */
export type LogFolder = "CloudTrail" | "CloudTrail-Insight";

/**
 * A log file's key in `folder`: `CloudTrail` as logFileKey, `CloudTrail-Insight` for Insights
 * events, whose name says `CloudTrail-Insight` where a log file's says `CloudTrail` (spec §2.1).
 *
 * @example
 * folderFileKey("CloudTrail-Insight", { accountId: "111122223333" }, "us-east-2", Date.UTC(2015, 7, 1, 2, 10), "Mu0KsOhtH1ar15ZZ")
 * // "AWSLogs/111122223333/CloudTrail-Insight/us-east-2/2015/08/01/111122223333_CloudTrail-Insight_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz"
 */
export function folderFileKey(
  folder: LogFolder,
  scope: KeyScope,
  region: string,
  deliveredAtMs: number,
  unique: string,
): string {
  if (folder === "CloudTrail") return logFileKey(scope, region, deliveredAtMs, unique);
  if (!/^[A-Za-z0-9]{16}$/.test(unique)) throw new RangeError(`Invalid unique suffix "${unique}".`);
  const name = `${scope.accountId}_${folder}_${region}_${minuteStamp(deliveredAtMs)}_${unique}.json.gz`;
  return `${accountRoot(scope)}${folder}/${region}/${dateFolders(deliveredAtMs)}/${name}`;
}

export interface DigestKeyParts {
  /** The region the digest covers (folder and first region in the name). */
  readonly region: string;
  readonly trailName: string;
  readonly homeRegion: string;
  readonly digestEndMs: number;
}

/**
 * @example
 * digestKey({ accountId: "111122223333" }, { region: "us-east-2", trailName: "t", homeRegion: "us-east-2", digestEndMs })
 * // "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_t_us-east-2_20150817T150131Z.json.gz"
 */
export function digestKey(scope: KeyScope, parts: DigestKeyParts): string {
  const { region, trailName, homeRegion, digestEndMs } = parts;
  const name = `${scope.accountId}_CloudTrail-Digest_${region}_${trailName}_${homeRegion}_${secondStamp(digestEndMs)}.json.gz`;
  return `${accountRoot(scope)}CloudTrail-Digest/${region}/${dateFolders(digestEndMs)}/${name}`;
}

/** The parts of `arn:aws:cloudtrail:<homeRegion>:<accountId>:trail/<name>`, as the validator reads them. */
export interface TrailArnParts {
  readonly partition: string;
  readonly homeRegion: string;
  readonly accountId: string;
  readonly trailName: string;
}

/** Same acceptance rule as the AWS CLI (`arn:.+:cloudtrail:.+:\d{12}:trail/.+`); `undefined` otherwise. */
export function parseTrailArn(arn: string): TrailArnParts | undefined {
  if (!/^arn:.+:cloudtrail:.+:\d{12}:trail\/.+/.test(arn)) return undefined;
  const fields = arn.split(":");
  const slash = arn.lastIndexOf("/");
  return {
    partition: fields[1] ?? "",
    homeRegion: fields[3] ?? "",
    accountId: fields[4] ?? "",
    trailName: arn.slice(slash + 1),
  };
}
