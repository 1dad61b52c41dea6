import type { ReactNode } from "react";

export function ErrorBanner({ title, message, action }: { title: string; message: string; action?: ReactNode }) {
  return (
    <div className="banner error" role="alert">
      <strong>{title}</strong>
      <span>{message}</span>
      {action}
    </div>
  );
}

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" /> {label}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty" role="status">
      <strong>{title}</strong>
      {children && <div>{children}</div>}
    </div>
  );
}
