/**
 * Calls whose CloudTrail records are laid out otherwise than the service model names the call:
 * members CloudTrail logs under its own names, answers it does not log. No model states these; each
 * entry cites the real record it reproduces. (EC2's RunInstances layout has its own module,
 * ec2-layout.ts, because it also fills in defaults.)
 */
import type { DecodedCall } from "./decode-call.js";
import { defineMember } from "./query-request.js";

interface RecordLayout {
  /** Decoded member (lower-first model name) → the dotted path CloudTrail logs it under. */
  readonly requestMembers?: Readonly<Record<string, string>>;
  /** Whether CloudTrail logs the answer; false writes responseElements null. */
  readonly responseLogged?: false;
  readonly source: string;
}

const RECORD_LAYOUTS: Readonly<Record<string, RecordLayout>> = {
  "ec2-instance-connect.amazonaws.com SendSSHPublicKey": {
    requestMembers: { instanceOSUser: "osUser", sSHPublicKey: "SSHKey.publicKey" },
    responseLogged: false,
    source:
      "AWS EC2/EBS 'Logging API calls with CloudTrail' page example (seed-examples/ec2-ebs-SendSSHPublicKey.json): " +
      '`"osUser": "ec2-user", "SSHKey": {"publicKey": "ssh-rsa …"}`, responseElements null',
  },
};

/** `decoded` laid out as CloudTrail's records of `eventSource`/`eventName` are. */
export function withRecordLayout(eventSource: string, eventName: string, decoded: DecodedCall): DecodedCall {
  const layout = RECORD_LAYOUTS[`${eventSource} ${eventName}`];
  if (layout === undefined) return decoded;
  const requestParameters =
    layout.requestMembers === undefined || decoded.requestParameters === null
      ? decoded.requestParameters
      : renamed(decoded.requestParameters, layout.requestMembers);
  return {
    ...decoded,
    requestParameters,
    responseElements: layout.responseLogged === false ? null : decoded.responseElements,
  };
}

function renamed(
  parameters: Record<string, unknown>,
  members: Readonly<Record<string, string>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parameters)) {
    const path = (Object.hasOwn(members, key) ? members[key] : undefined)?.split(".") ?? [key];
    // Renamed paths are the table's own names; other keys are the caller's (defineMember keeps a
    // "__proto__" member a member).
    let parent = out;
    for (const step of path.slice(0, -1)) {
      if (typeof parent[step] !== "object" || parent[step] === null) parent[step] = {};
      parent = parent[step] as Record<string, unknown>;
    }
    defineMember(parent, path[path.length - 1]!, value);
  }
  return out;
}
