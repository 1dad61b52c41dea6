import { useState } from "react";

/** Pretty-printed JSON with a copy button (the clipboard needs a secure origin; selection works everywhere). */
export function JsonView({ json, label }: { json: string; label: string }) {
  const [copied, setCopied] = useState<"idle" | "copied" | "failed">("idle");
  let pretty = json;
  try {
    pretty = JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    // Show what was stored, even when it is not JSON.
  }
  const copy = async (): Promise<void> => {
    try {
      await navigator.clipboard.writeText(pretty);
      setCopied("copied");
    } catch {
      setCopied("failed");
    }
    setTimeout(() => setCopied("idle"), 2000);
  };
  return (
    <div className="json-view">
      <div className="json-toolbar">
        <span>{label}</span>
        <button type="button" onClick={() => void copy()}>
          {copied === "copied" ? "Copied" : copied === "failed" ? "Copy failed: select the text" : "Copy JSON"}
        </button>
      </div>
      <pre tabIndex={0} aria-label={label}>
        {pretty}
      </pre>
    </div>
  );
}
