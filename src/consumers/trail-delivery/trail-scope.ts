import { recordAccountId, type CloudTrailRecord } from "../../model/record.js";
import type { TrailConfig } from "../../stores/trails/index.js";

/**
 * Services whose events CloudTrail treats as "global service events" (IAM, the STS global endpoint,
 * CloudFront, Route 53, sign-in, Organizations). Since 2021-11-22 they are logged in us-east-1
 * (spec §1, `awsRegion`), so the region rule below already keeps them out of trails in other
 * regions; `IncludeGlobalServiceEvents=false` removes them from us-east-1 and multi-Region trails.
 * STS has regional endpoints too: only its us-east-1 events count as global, which is what
 * CloudTrail does for the global endpoint (and the one case we cannot tell apart from a record).
 */
const GLOBAL_SERVICE_EVENT_SOURCES: ReadonlySet<string> = new Set([
  "iam.amazonaws.com",
  "sts.amazonaws.com",
  "cloudfront.amazonaws.com",
  "route53.amazonaws.com",
  "signin.amazonaws.com",
  "organizations.amazonaws.com",
]);

function isGlobalServiceEvent(record: Pick<CloudTrailRecord, "eventSource" | "awsRegion">): boolean {
  return GLOBAL_SERVICE_EVENT_SOURCES.has(record.eventSource) && record.awsRegion === "us-east-1";
}

const LAKE_ONLY_CATEGORIES: ReadonlySet<string> = new Set(["ActivityAuditLog", "ConfigurationItem", "Evidence"]);

/**
 * Whether a record belongs to a trail's scope before its selectors are asked: the trail's account
 * (organization trails take every account: Cairn serves one organization), its home region unless it
 * is multi-Region, and the global-service-events switch.
 */
export function recordInTrailScope(trail: TrailConfig, record: CloudTrailRecord): boolean {
  // Lake-only kinds (channel events, Config items, Audit Manager evidence) never reach trails in AWS.
  if (record.eventCategory !== undefined && LAKE_ONLY_CATEGORIES.has(record.eventCategory)) return false;
  if (!trail.isOrganizationTrail && recordAccountId(record) !== trail.accountId) return false;
  if (!trail.isMultiRegionTrail && record.awsRegion !== trail.homeRegion) return false;
  if (!trail.includeGlobalServiceEvents && isGlobalServiceEvent(record)) return false;
  return true;
}
