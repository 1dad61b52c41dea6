/** Trail names and ARNs (spec §5.3 "Trail names"), with the messages AWS (and moto) use. */

export const TRAIL_RESOURCE_TYPE = "AWS::CloudTrail::Trail";

/** The reason a trail name is invalid (InvalidTrailNameException), or undefined when it is valid. */
export function trailNameProblem(name: string): string | undefined {
  if (name.length < 3)
    return `Trail name too short. Minimum allowed length: 3 characters. Specified name length: ${name.length} characters.`;
  if (name.length > 128)
    return `Trail name too long. Maximum allowed length: 128 characters. Specified name length: ${name.length} characters.`;
  if (!/^[0-9a-zA-Z]/.test(name)) return "Trail name must starts with a letter or number.";
  if (!/[0-9a-zA-Z]$/.test(name)) return "Trail name must ends with a letter or number.";
  if (!/^[.\-_0-9a-zA-Z]+$/.test(name))
    return "Trail name or ARN can only contain uppercase letters, lowercase letters, numbers, periods (.), hyphens (-), and underscores (_).";
  if (/[._-]{2}/.test(name))
    return "Trail name cannot contain adjacent periods (.), hyphens (-), or underscores (_), such as my-_namespace or my--namespace.";
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return "Trail name cannot be formatted as an IP address.";
  return undefined;
}

export function trailArnOf(region: string, accountId: string, name: string): string {
  return `arn:aws:cloudtrail:${region}:${accountId}:trail/${name}`;
}

export interface ParsedCloudTrailArn {
  readonly region: string;
  readonly accountId: string;
  /** `trail`, `eventdatastore`, `channel`, `dashboard`. */
  readonly resourceType: string;
  readonly resourceId: string;
}

const CLOUDTRAIL_ARN = /^arn:aws(?:-[a-z]+)*:cloudtrail:([a-z]{2}(?:-[a-z]+)+-\d+):(\d{12}):([a-z]+)\/(.+)$/;

/** `arn:aws:cloudtrail:<region>:<account>:<type>/<id>`, or undefined when malformed. */
export function parseCloudTrailArn(value: string): ParsedCloudTrailArn | undefined {
  const match = CLOUDTRAIL_ARN.exec(value);
  if (match === null) return undefined;
  return { region: match[1]!, accountId: match[2]!, resourceType: match[3]!, resourceId: match[4]! };
}

/** What a `Name`/`TrailName` member refers to: a bare name, or a trail ARN. */
export type TrailReference =
  | { readonly kind: "name"; readonly name: string }
  | {
      readonly kind: "arn";
      readonly arn: string;
      readonly region: string;
      readonly accountId: string;
      readonly name: string;
    };

/**
 * Reads a name-or-ARN member: `{ problem }` says which exception applies when it is neither a valid
 * name nor a well-formed trail ARN.
 */
export function parseTrailReference(
  value: string,
):
  | { reference: TrailReference }
  | { problem: "InvalidTrailNameException" | "CloudTrailARNInvalidException"; message: string } {
  if (value.startsWith("arn:")) {
    const arn = parseCloudTrailArn(value);
    if (arn === undefined || arn.resourceType !== "trail" || trailNameProblem(arn.resourceId) !== undefined)
      return {
        problem: "CloudTrailARNInvalidException",
        message: `ARN ${value} is not valid. Use the format arn:aws:cloudtrail:<region>:<account-id>:trail/<trail-name>.`,
      };
    return {
      reference: { kind: "arn", arn: value, region: arn.region, accountId: arn.accountId, name: arn.resourceId },
    };
  }
  const problem = trailNameProblem(value);
  if (problem !== undefined) return { problem: "InvalidTrailNameException", message: problem };
  return { reference: { kind: "name", name: value } };
}
