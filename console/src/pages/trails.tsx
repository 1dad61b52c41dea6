import { useCallback, useEffect, useState } from "react";
import {
  DeleteTrailCommand,
  DescribeTrailsCommand,
  GetEventSelectorsCommand,
  GetTrailStatusCommand,
  StartLoggingCommand,
  StopLoggingCommand,
  type GetTrailStatusCommandOutput,
  type Trail,
} from "@aws-sdk/client-cloudtrail";
import { useSession } from "../session-context.js";
import { describeError } from "../api/cloudtrail.js";
import { trailFormFrom, type TrailFormValue } from "../api/trail-form.js";
import { EmptyState, ErrorBanner, Loading } from "../components/status.js";
import { ConfirmDialog } from "../components/confirm-dialog.js";
import { TrailForm } from "./trail-form.js";
import { ZonedTime } from "../components/zoned-time.js";
import { useHashQuery } from "../hash-query.js";
import { TrailDetail } from "./trail-detail.js";

interface TrailRow {
  readonly trail: Trail;
  readonly status: GetTrailStatusCommandOutput | undefined;
  readonly statusError: string | undefined;
}

interface TrailRowViewProps {
  readonly row: TrailRow;
  readonly busy: boolean;
  readonly onStart: () => void;
  readonly onStop: () => void;
  readonly onEdit: () => void;
  readonly onDelete: () => void;
}

function TrailRowView({
  row: { trail, status, statusError },
  busy,
  onStart,
  onStop,
  onEdit,
  onDelete,
}: TrailRowViewProps) {
  const name = trail.Name ?? "";
  const logging = status?.IsLogging === true;
  const lastError = status?.LatestDeliveryError || status?.LatestDigestDeliveryError || statusError || "";
  return (
    <tr data-trail={name}>
      <th scope="row">
        <a href={`#/trails?${new URLSearchParams({ trail: trail.TrailARN ?? name }).toString()}`}>{name}</a>
      </th>
      <td>
        <span className={`badge ${logging ? "ok" : ""}`}>{logging ? "Logging" : "Not logging"}</span>
      </td>
      <td>
        <span className="wrap">
          {trail.S3BucketName}
          {trail.S3KeyPrefix ? `/${trail.S3KeyPrefix}` : ""}
        </span>
      </td>
      <td>{trail.HomeRegion}</td>
      <td>{trail.IsMultiRegionTrail ? "Yes" : "No"}</td>
      <td>{trail.LogFileValidationEnabled ? "Enabled" : "Disabled"}</td>
      <td>
        <ZonedTime date={status?.LatestDeliveryTime} />
      </td>
      <td>
        <ZonedTime date={status?.LatestDigestDeliveryTime} />
      </td>
      <td>{lastError ? <span className="badge error">{lastError}</span> : "—"}</td>
      <td>
        <div className="buttons">
          {logging ? (
            <button type="button" disabled={busy} aria-label={`Stop logging ${name}`} onClick={onStop}>
              Stop logging
            </button>
          ) : (
            <button type="button" disabled={busy} aria-label={`Start logging ${name}`} onClick={onStart}>
              Start logging
            </button>
          )}
          <button type="button" aria-label={`Edit ${name}`} onClick={onEdit}>
            Edit
          </button>
          <button type="button" className="danger" aria-label={`Delete ${name}`} onClick={onDelete}>
            Delete
          </button>
        </div>
      </td>
    </tr>
  );
}

interface TrailsTableProps {
  readonly rows: TrailRow[];
  readonly busy: boolean;
  readonly onStart: (trail: Trail) => void;
  readonly onStop: (trail: Trail) => void;
  readonly onEdit: (trail: Trail) => void;
  readonly onDelete: (trail: Trail) => void;
}

function TrailsTable({ rows, busy, onStart, onStop, onEdit, onDelete }: TrailsTableProps) {
  return (
    <div className="table-scroll">
      <table className="data" aria-label="Trails list">
        <thead>
          <tr>
            <th>Name</th>
            <th>Status</th>
            <th>Bucket / prefix</th>
            <th>Home region</th>
            <th>Multi-region</th>
            <th>Log file validation</th>
            <th>Last delivery</th>
            <th>Last digest</th>
            <th>Last error</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <TrailRowView
              key={row.trail.TrailARN ?? row.trail.Name}
              row={row}
              busy={busy}
              onStart={() => onStart(row.trail)}
              onStop={() => onStop(row.trail)}
              onEdit={() => onEdit(row.trail)}
              onDelete={() => onDelete(row.trail)}
            />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DeleteTrailDialog(props: { trail: Trail; busy: boolean; onCancel: () => void; onConfirm: () => void }) {
  return (
    <ConfirmDialog
      title={`Delete trail ${props.trail.Name ?? ""}?`}
      confirmLabel="Delete trail"
      busy={props.busy}
      onCancel={props.onCancel}
      onConfirm={props.onConfirm}
    >
      <p>
        The trail stops delivering. Log files and digests already in <strong>{props.trail.S3BucketName}</strong> are not
        deleted.
      </p>
    </ConfirmDialog>
  );
}

type Editing = { mode: "create" } | { mode: "edit"; trail: Trail; initial: TrailFormValue };

/** Every trail with its status; a trail whose status cannot be read still shows, with the reason. */
async function describeTrails(client: ReturnType<typeof useSession>["client"]): Promise<TrailRow[]> {
  const described = await client.send(new DescribeTrailsCommand({ includeShadowTrails: false }));
  return Promise.all(
    (described.trailList ?? []).map(async (trail): Promise<TrailRow> => {
      try {
        const status = await client.send(new GetTrailStatusCommand({ Name: trail.TrailARN ?? trail.Name }));
        return { trail, status, statusError: undefined };
      } catch (problem) {
        return { trail, status: undefined, statusError: describeError(problem).message };
      }
    }),
  );
}

/** The list, or one trail's page when the URL names it (`#/trails?trail=<ARN>`). */
export function TrailsPage() {
  const shown = new URLSearchParams(useHashQuery()).get("trail");
  return shown ? <TrailDetail key={shown} name={shown} /> : <TrailList />;
}

function TrailList() {
  const { client } = useSession();
  const [rows, setRows] = useState<TrailRow[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [notice, setNotice] = useState<string | undefined>();
  const [editing, setEditing] = useState<Editing | undefined>();
  const [deleting, setDeleting] = useState<Trail | undefined>();
  const [busy, setBusy] = useState<string | undefined>();

  const refresh = useCallback(async (): Promise<void> => {
    setError(undefined);
    try {
      setRows(await describeTrails(client));
    } catch (problem) {
      setError(describeError(problem).message);
      setRows((current) => current ?? []);
    }
  }, [client]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const act = async (label: string, action: () => Promise<unknown>, done: string): Promise<void> => {
    setBusy(label);
    setError(undefined);
    setNotice(undefined);
    try {
      await action();
      setNotice(done);
      await refresh();
    } catch (problem) {
      setError(describeError(problem).message);
    } finally {
      setBusy(undefined);
    }
  };

  const logging = (trail: Trail, start: boolean): void => {
    const Name = trail.TrailARN ?? trail.Name;
    void act(
      start ? "start" : "stop",
      () => client.send(start ? new StartLoggingCommand({ Name }) : new StopLoggingCommand({ Name })),
      `Trail ${trail.Name ?? ""} ${start ? "is logging" : "stopped logging"}.`,
    );
  };

  const startEdit = async (trail: Trail): Promise<void> => {
    setError(undefined);
    try {
      const selectors = await client.send(new GetEventSelectorsCommand({ TrailName: trail.TrailARN ?? trail.Name }));
      setEditing({ mode: "edit", trail, initial: trailFormFrom(trail, selectors) });
    } catch (problem) {
      setError(describeError(problem).message);
    }
  };

  if (editing) {
    return (
      <TrailForm
        mode={editing.mode}
        {...(editing.mode === "edit" ? { initial: editing.initial, trailArn: editing.trail.TrailARN ?? "" } : {})}
        onDone={(message) => {
          setEditing(undefined);
          setNotice(message);
          void refresh();
        }}
        onCancel={() => setEditing(undefined)}
      />
    );
  }

  return (
    <section aria-label="Trails">
      <div className="toolbar">
        <span className="muted">Trails deliver log files and signed digests to a bucket, like CloudTrail.</span>
        <div className="buttons">
          <button type="button" onClick={() => void refresh()}>
            Refresh
          </button>
          <button type="button" className="primary" onClick={() => setEditing({ mode: "create" })}>
            Create trail
          </button>
        </div>
      </div>
      {notice && (
        <div className="banner ok" role="status">
          {notice}
        </div>
      )}
      {error && <ErrorBanner title="Trails" message={error} />}
      {rows === undefined ? (
        <Loading label="Loading trails…" />
      ) : rows.length === 0 ? (
        <EmptyState title="No trails yet">
          Event history keeps 90 days of management events. Create a trail to keep every event as log files in a bucket.
        </EmptyState>
      ) : (
        <TrailsTable
          rows={rows}
          busy={busy !== undefined}
          onStart={(trail) => logging(trail, true)}
          onStop={(trail) => logging(trail, false)}
          onEdit={(trail) => void startEdit(trail)}
          onDelete={setDeleting}
        />
      )}
      {deleting && (
        <DeleteTrailDialog
          trail={deleting}
          busy={busy !== undefined}
          onCancel={() => setDeleting(undefined)}
          onConfirm={() => {
            const trail = deleting;
            setDeleting(undefined);
            void act(
              "delete",
              () => client.send(new DeleteTrailCommand({ Name: trail.TrailARN ?? trail.Name })),
              `Trail ${trail.Name ?? ""} deleted. Log files already delivered stay in the bucket.`,
            );
          }}
        />
      )}
    </section>
  );
}
