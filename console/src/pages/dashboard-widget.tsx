import type { ReactNode } from "react";
import { EmptyState, ErrorBanner, Loading } from "../components/status.js";

/** A widget's data as it loads: one query (or call) answers several widgets, each shows its part. */
export type Load<T> =
  | { readonly status: "loading" }
  | { readonly status: "ready"; readonly value: T }
  | { readonly status: "error"; readonly error: string; readonly denied: boolean };

/** AccessDenied (a policy refused the call) reads as "not allowed", not as a broken page. */
export function isDenied(code: string | undefined): boolean {
  return code !== undefined && /AccessDenied|Unauthorized|Forbidden/i.test(code);
}

export function mapLoad<T, U>(load: Load<T>, map: (value: T) => U): Load<U> {
  return load.status === "ready" ? { status: "ready", value: map(load.value) } : load;
}

/**
 * A dashboard card: its content when there is some, else a captioned placeholder saying why
 * (loading, nothing in the range, not allowed, failed); `data-state` says which, for tests and styles.
 */
export function Widget<T>({
  title,
  load,
  wide,
  empty,
  emptyText = "No events in this time range",
  deniedText,
  children,
}: {
  title: string;
  load: Load<T>;
  wide?: boolean;
  empty: (value: T) => boolean;
  emptyText?: string;
  /** What the caller lacks, said when the server refuses it (AccessDenied). */
  deniedText?: string;
  children: (value: T) => ReactNode;
}) {
  const className = wide ? "widget wide" : "widget";
  if (load.status === "ready" && !empty(load.value)) {
    return (
      <div className={className} data-state="ready">
        {children(load.value)}
      </div>
    );
  }
  const state = load.status === "ready" ? "empty" : load.status === "error" && load.denied ? "denied" : load.status;
  return (
    <div className={className} data-state={state}>
      <figure className="chart placeholder" aria-label={title} aria-busy={load.status === "loading"}>
        <figcaption>{title}</figcaption>
        {load.status === "loading" ? (
          <Loading label="Loading…" />
        ) : load.status === "error" ? (
          load.denied ? (
            <EmptyState title="Not allowed">
              {deniedText ?? "Your credentials are not allowed to read this."}{" "}
              <span className="muted">{load.error}</span>
            </EmptyState>
          ) : (
            <ErrorBanner title="Could not load" message={load.error} />
          )
        ) : (
          <EmptyState title={emptyText} />
        )}
      </figure>
    </div>
  );
}
