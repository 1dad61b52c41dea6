import { useCallback, useEffect, useState, type ReactNode } from "react";
import {
  GetEventSelectorsCommand,
  GetInsightSelectorsCommand,
  GetTrailCommand,
  GetTrailStatusCommand,
  ListTagsCommand,
  type GetEventSelectorsCommandOutput,
  type GetTrailStatusCommandOutput,
  type InsightSelector,
  type Tag,
  type Trail,
} from "@aws-sdk/client-cloudtrail";
import { useSession } from "../session-context.js";
import { describeError } from "../api/cloudtrail.js";
import { historyQueryString } from "../api/history-query.js";
import { ErrorBanner, Loading } from "../components/status.js";
import { ZonedTime } from "../components/zoned-time.js";

/** CloudTrail delivers a trail's digest files once an hour (spec: log file integrity validation). */
const DIGEST_INTERVAL_MS = 3_600_000;

interface TrailDetails {
  readonly trail: Trail;
  readonly status: GetTrailStatusCommandOutput;
  readonly selectors: GetEventSelectorsCommandOutput;
  /** Undefined: Insights are not enabled on the trail. */
  readonly insights: InsightSelector[] | undefined;
  readonly tags: Tag[];
}

type Client = ReturnType<typeof useSession>["client"];

/** GetInsightSelectors answers InsightNotEnabledException for a trail without Insights. */
async function insightSelectors(client: Client, trailArn: string): Promise<InsightSelector[] | undefined> {
  try {
    return (await client.send(new GetInsightSelectorsCommand({ TrailName: trailArn }))).InsightSelectors ?? [];
  } catch (problem) {
    if (describeError(problem).code === "InsightNotEnabledException") return undefined;
    throw problem;
  }
}

async function loadDetails(client: Client, name: string): Promise<TrailDetails> {
  const { Trail: trail } = await client.send(new GetTrailCommand({ Name: name }));
  const arn = trail?.TrailARN ?? name;
  const [status, selectors, insights, tagged] = await Promise.all([
    client.send(new GetTrailStatusCommand({ Name: arn })),
    client.send(new GetEventSelectorsCommand({ TrailName: arn })),
    insightSelectors(client, arn),
    client.send(new ListTagsCommand({ ResourceIdList: [arn] })),
  ]);
  const tags = tagged.ResourceTagList?.find((resource) => resource.ResourceId === arn)?.TagsList ?? [];
  return { trail: trail ?? {}, status, selectors, insights, tags };
}

/** Where the trail's files of one kind are: s3://bucket/prefix/AWSLogs/<account>/<kind>/<region>/. */
function filesLocation(trail: Trail, accountId: string, kind: string): string {
  const prefix = trail.S3KeyPrefix ? `${trail.S3KeyPrefix}/` : "";
  return `s3://${trail.S3BucketName ?? ""}/${prefix}AWSLogs/${accountId}/${kind}/${trail.HomeRegion ?? ""}/`;
}

/** The next hourly digest after the last one; undefined while validation is off or none came yet. */
function nextDigestDue(trail: Trail, status: GetTrailStatusCommandOutput): Date | undefined {
  const last = status.LatestDigestDeliveryTime;
  if (!trail.LogFileValidationEnabled || status.IsLogging !== true || last === undefined) return undefined;
  return new Date(last.getTime() + DIGEST_INTERVAL_MS);
}

/** GetTrailStatus gives the attempt times as text ("2026-12-07T17:14:32Z"); empty before any attempt. */
function dateOf(text: string | undefined): Date | undefined {
  return text ? new Date(text) : undefined;
}

function Facts({ label, rows }: { label: string; rows: Array<[string, ReactNode]> }) {
  return (
    <section className="card" aria-label={label}>
      <h2>{label}</h2>
      <dl className="facts">
        {rows.map(([term, value]) => (
          <div key={term}>
            <dt>{term}</dt>
            <dd>{value === undefined || value === "" ? "—" : value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}

function StatusFacts({ trail, status }: { trail: Trail; status: GetTrailStatusCommandOutput }) {
  const errorBadge = (text: string | undefined) => (text ? <span className="badge error">{text}</span> : undefined);
  return (
    <Facts
      label="Delivery"
      rows={[
        ["Status", status.IsLogging ? "Logging" : "Not logging"],
        ["Logging started", <ZonedTime key="s" date={status.StartLoggingTime} />],
        ["Logging stopped", <ZonedTime key="t" date={status.StopLoggingTime} />],
        ["Last log file", <ZonedTime key="d" date={status.LatestDeliveryTime} />],
        ["Last delivery attempt", <ZonedTime key="a" date={dateOf(status.LatestDeliveryAttemptTime)} />],
        ["Last delivery error", errorBadge(status.LatestDeliveryError)],
        ["Last digest", <ZonedTime key="g" date={status.LatestDigestDeliveryTime} />],
        ["Next digest due", <ZonedTime key="n" date={nextDigestDue(trail, status)} />],
        ["Last digest error", errorBadge(status.LatestDigestDeliveryError)],
        ["Last notification", <ZonedTime key="o" date={status.LatestNotificationTime} />],
        ["Last notification error", errorBadge(status.LatestNotificationError)],
      ]}
    />
  );
}

function ConfigurationFacts({ trail, accountId }: { trail: Trail; accountId: string }) {
  const code = (text: string) => <code>{text}</code>;
  return (
    <Facts
      label="Configuration"
      rows={[
        ["ARN", code(trail.TrailARN ?? "")],
        ["Log files", code(filesLocation(trail, accountId, "CloudTrail"))],
        [
          "Digest files",
          trail.LogFileValidationEnabled
            ? code(filesLocation(trail, accountId, "CloudTrail-Digest"))
            : "Validation off",
        ],
        ["Home region", trail.HomeRegion],
        ["Multi-region", trail.IsMultiRegionTrail ? "Yes" : "No"],
        ["Organization trail", trail.IsOrganizationTrail ? "Yes" : "No"],
        ["Global service events", trail.IncludeGlobalServiceEvents ? "Included" : "Not included"],
        ["SNS topic", trail.SnsTopicARN],
        ["KMS key", trail.KmsKeyId],
      ]}
    />
  );
}

function Selectors({ details }: { details: TrailDetails }) {
  const { selectors, insights } = details;
  const shown = selectors.AdvancedEventSelectors ?? selectors.EventSelectors ?? [];
  return (
    <section className="card" aria-label="Selectors">
      <h2>{selectors.AdvancedEventSelectors ? "Advanced event selectors" : "Event selectors"}</h2>
      <pre className="json" aria-label="Selectors as JSON">
        {JSON.stringify(shown, null, 2)}
      </pre>
      <h2>Insights</h2>
      {insights === undefined || insights.length === 0 ? (
        <p className="muted">Not enabled.</p>
      ) : (
        <ul>
          {insights.map((selector) => (
            <li key={`${selector.InsightType}-${selector.EventCategories?.join(",")}`}>
              {selector.InsightType}
              {selector.EventCategories?.length ? ` (${selector.EventCategories.join(", ")} events)` : ""}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Tags({ tags }: { tags: Tag[] }) {
  return (
    <section className="card" aria-label="Tags">
      <h2>Tags</h2>
      {tags.length === 0 ? (
        <p className="muted">No tags.</p>
      ) : (
        <table className="data" aria-label="Trail tags">
          <thead>
            <tr>
              <th>Key</th>
              <th>Value</th>
            </tr>
          </thead>
          <tbody>
            {tags.map((tag) => (
              <tr key={tag.Key}>
                <th scope="row">{tag.Key}</th>
                <td>{tag.Value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** One trail: where its files are, how delivery goes, what it selects, its tags; linked from the list. */
export function TrailDetail({ name }: { name: string }) {
  const { client, session } = useSession();
  const [details, setDetails] = useState<TrailDetails | undefined>();
  const [error, setError] = useState<string | undefined>();

  const refresh = useCallback(async (): Promise<void> => {
    setError(undefined);
    try {
      setDetails(await loadDetails(client, name));
    } catch (problem) {
      setError(describeError(problem).message);
    }
  }, [client, name]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const activity = historyQueryString(
    {
      attribute: "ResourceName",
      value: details?.trail.Name ?? name,
      readOnly: "false",
      hideOwn: false,
      range: { mode: "90d", start: "", end: "" },
    },
    0,
  );
  return (
    <section aria-label={`Trail ${name}`}>
      <div className="toolbar">
        <a href="#/trails">← All trails</a>
        <h2 className="inline">{details?.trail.Name ?? name}</h2>
        <div className="buttons">
          <a className="button" href={`#/history?${activity}`}>
            Changes to this trail
          </a>
          <button type="button" onClick={() => void refresh()}>
            Refresh
          </button>
        </div>
      </div>
      {error && <ErrorBanner title="Trail" message={error} />}
      {details === undefined ? (
        !error && <Loading label="Loading trail…" />
      ) : (
        <div className="detail-grid">
          <StatusFacts trail={details.trail} status={details.status} />
          <ConfigurationFacts trail={details.trail} accountId={session.accountId} />
          <Selectors details={details} />
          <Tags tags={details.tags} />
        </div>
      )}
    </section>
  );
}
