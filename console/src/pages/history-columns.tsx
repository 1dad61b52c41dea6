import { createContext, useContext, useState } from "react";
import { createColumnHelper, type VisibilityState } from "@tanstack/react-table";
import type { LookupAttributeKey } from "../../../src/consumers/event-history/event-history.js";
import type { HistoryRow } from "../api/history-rows.js";
import { ZonedTime } from "../components/zoned-time.js";

export const ATTRIBUTES: { key: LookupAttributeKey; label: string; placeholder: string }[] = [
  { key: "EventName", label: "Event name", placeholder: "ConsoleLogin" },
  { key: "EventSource", label: "Event source", placeholder: "s3.amazonaws.com" },
  { key: "Username", label: "User name", placeholder: "alice" },
  { key: "ResourceType", label: "Resource type", placeholder: "AWS::S3::Bucket" },
  { key: "ResourceName", label: "Resource name", placeholder: "arn:aws:s3:::my-bucket" },
  { key: "EventId", label: "Event ID", placeholder: "1b2c…" },
  { key: "AccessKeyId", label: "AWS access key", placeholder: "AKIA…" },
];

/** The URL of the current search narrowed to one attribute value (LookupEvents takes one attribute). */
export const PivotContext = createContext<(key: LookupAttributeKey, value: string) => string>(() => "#/history");

/** An ARN or path with line-break chances after each ':' and '/', so it wraps between its parts. */
function Breakable({ text }: { text: string }) {
  const parts = text.split(/(?<=[:/])/);
  return (
    <>
      {parts.map((part, index) => (
        <span key={index}>
          {part}
          {index < parts.length - 1 && <wbr />}
        </span>
      ))}
    </>
  );
}

/** A value an analyst can click to search by it, keeping the range and read-only choice. */
export function Pivot({ attribute, value }: { attribute: LookupAttributeKey; value: string }) {
  const href = useContext(PivotContext);
  if (value === "") return null;
  const label = ATTRIBUTES.find((candidate) => candidate.key === attribute)?.label ?? attribute;
  return (
    <a className="pivot" href={href(attribute, value)} title={`Search by ${label.toLowerCase()} ${value}`}>
      <Breakable text={value} />
    </a>
  );
}

function PivotList({ attribute, values }: { attribute: LookupAttributeKey; values: string[] }) {
  const unique = [...new Set(values.filter((value) => value !== ""))];
  return (
    <span className="wrap">
      {unique.map((value, index) => (
        <span key={value}>
          {index > 0 && ", "}
          <Pivot attribute={attribute} value={value} />
        </span>
      ))}
    </span>
  );
}

const column = createColumnHelper<HistoryRow>();
const ALL_COLUMNS = [
  column.accessor((row) => row.time.getTime(), {
    id: "time",
    header: "Event time",
    cell: (info) => <ZonedTime date={info.row.original.time} />,
  }),
  column.accessor("eventName", {
    header: "Event name",
    cell: (info) => <Pivot attribute="EventName" value={info.getValue()} />,
  }),
  column.accessor("username", {
    header: "User name",
    cell: (info) => <Pivot attribute="Username" value={info.getValue()} />,
  }),
  column.accessor("eventSource", {
    header: "Event source",
    cell: (info) => <Pivot attribute="EventSource" value={info.getValue()} />,
  }),
  column.accessor((row) => row.resources.map((resource) => resource.type).join(", "), {
    id: "resourceType",
    header: "Resource type",
    cell: (info) => (
      <PivotList attribute="ResourceType" values={info.row.original.resources.map((resource) => resource.type)} />
    ),
  }),
  column.accessor((row) => row.resources.map((resource) => resource.name).join(", "), {
    id: "resourceName",
    header: "Resource name",
    cell: (info) => (
      <PivotList attribute="ResourceName" values={info.row.original.resources.map((resource) => resource.name)} />
    ),
  }),
  column.accessor("errorCode", {
    header: "Error code",
    cell: (info) => (info.getValue() ? <span className="badge error">{info.getValue()}</span> : null),
  }),
  column.accessor("readOnly", { id: "readOnly", header: "Read-only" }),
  column.accessor((row) => text(row.record["awsRegion"]), {
    id: "region",
    header: "Region",
    cell: (info) => <span className="nowrap">{info.getValue()}</span>,
  }),
  column.accessor((row) => text(row.record["sourceIPAddress"]), {
    id: "sourceIp",
    header: "Source IP address",
    cell: (info) => <Breakable text={info.getValue()} />,
  }),
  column.accessor("accessKeyId", {
    id: "accessKey",
    header: "AWS access key",
    cell: (info) => <Pivot attribute="AccessKeyId" value={info.getValue()} />,
  }),
  column.accessor((row) => text(row.record["userAgent"]), {
    id: "userAgent",
    header: "User agent",
    cell: (info) => <span className="long-text">{info.getValue()}</span>,
  }),
  column.accessor("eventId", {
    id: "eventId",
    header: "Event ID",
    cell: (info) => <Pivot attribute="EventId" value={info.getValue()} />,
  }),
  column.accessor((row) => text(row.record["requestID"]), { id: "requestId", header: "Request ID" }),
  column.accessor((row) => text(row.record["errorMessage"]), {
    id: "errorMessage",
    header: "Error message",
    cell: (info) => <span className="long-text">{info.getValue()}</span>,
  }),
];

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** The columns as the table shows them by default (Event time is always shown). */
const DEFAULT_SHOWN = ["eventName", "username", "eventSource", "resourceType", "resourceName", "errorCode"];
const OPTIONAL = ALL_COLUMNS.filter((candidate) => candidate.id !== "time").map((candidate) => ({
  id: candidate.id!,
  label: String(candidate.header),
}));
const STORAGE_KEY = "cairn.historyColumns";

export const HISTORY_COLUMNS = ALL_COLUMNS;

function storedColumns(): string[] {
  try {
    const value: unknown = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? "null");
    if (!Array.isArray(value)) return DEFAULT_SHOWN;
    return value.filter((id): id is string => OPTIONAL.some((candidate) => candidate.id === id));
  } catch {
    return DEFAULT_SHOWN;
  }
}

/** Which optional columns are shown: the analyst's choice, kept in localStorage for every tab and visit. */
export function useColumnChoice() {
  const [shown, setShown] = useState<string[]>(storedColumns);
  const choose = (next: string[]): void => {
    setShown(next);
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(next));
    } catch {
      // Private windows may refuse storage: the choice still holds for this page.
    }
  };
  const visibility: VisibilityState = Object.fromEntries(
    OPTIONAL.map((candidate) => [candidate.id, shown.includes(candidate.id)]),
  );
  return { shown, choose, visibility };
}

export function ColumnChooser({ shown, choose }: { shown: string[]; choose: (next: string[]) => void }) {
  const [open, setOpen] = useState(false);
  const toggle = (id: string, on: boolean): void =>
    choose(
      OPTIONAL.map((candidate) => candidate.id).filter((candidate) =>
        candidate === id ? on : shown.includes(candidate),
      ),
    );
  return (
    <details className="column-chooser" onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary>Columns</summary>
      {/* Rendered only while open: its checkboxes' names would otherwise shadow the form's labels. */}
      {open && (
        <fieldset>
          <legend>Columns shown (Event time always)</legend>
          {OPTIONAL.map((candidate) => (
            <label key={candidate.id} className="inline">
              <input
                type="checkbox"
                aria-label={`${candidate.label} column`}
                checked={shown.includes(candidate.id)}
                onChange={(event) => toggle(candidate.id, event.target.checked)}
              />
              {candidate.label}
            </label>
          ))}
          <button type="button" onClick={() => choose(DEFAULT_SHOWN)}>
            Default columns
          </button>
        </fieldset>
      )}
    </details>
  );
}
