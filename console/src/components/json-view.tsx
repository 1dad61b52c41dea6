import { Fragment, useState, type ReactNode } from "react";
import { pathOf, type JsonPath } from "./json-path.js";

type Copied = { readonly kind: "idle" } | { readonly kind: "copied" | "failed"; readonly what: string };

interface TreeContext {
  readonly collapsed: ReadonlySet<string>;
  readonly toggle: (path: string) => void;
  readonly copyPath: (path: string) => void;
}

function pad(depth: number): string {
  return "  ".repeat(depth);
}

function Scalar({ value }: { value: unknown }) {
  const kind = value === null ? "null" : typeof value;
  return <span className={`json-${kind}`}>{JSON.stringify(value)}</span>;
}

/**
 * One object or array. Fully expanded, the text is JSON.stringify(value, null, 2) (toggles draw
 * their arrow with CSS and hold no text), so selecting or reading the whole record still gives JSON.
 */
function Branch({
  value,
  path,
  depth,
  context,
}: {
  value: object;
  path: JsonPath;
  depth: number;
  context: TreeContext;
}) {
  const isArray = Array.isArray(value);
  const entries: [string | number, unknown][] = isArray
    ? (value as unknown[]).map((item, index) => [index, item])
    : Object.entries(value);
  const [open, close] = isArray ? ["[", "]"] : ["{", "}"];
  if (entries.length === 0) return <span>{`${open}${close}`}</span>;
  const key = pathOf(path);
  const expanded = !context.collapsed.has(key);
  const name = key === "" ? "record" : key;
  return (
    <>
      <button
        type="button"
        className={key === "" ? "json-toggle json-root" : "json-toggle"}
        aria-expanded={expanded}
        aria-label={`${expanded ? "Collapse" : "Expand"} ${name}`}
        onClick={() => context.toggle(key)}
      />
      {open}
      {expanded ? (
        <>
          {entries.map(([entryKey, entryValue], index) => (
            <Fragment key={entryKey}>
              {`\n${pad(depth + 1)}`}
              {typeof entryKey === "string" && (
                <>
                  <button
                    type="button"
                    className="json-key"
                    title={`Copy path ${pathOf([...path, entryKey])}`}
                    aria-label={`Copy path ${pathOf([...path, entryKey])}`}
                    onClick={() => context.copyPath(pathOf([...path, entryKey]))}
                  >
                    {JSON.stringify(entryKey)}
                  </button>
                  {": "}
                </>
              )}
              <Value value={entryValue} path={[...path, entryKey]} depth={depth + 1} context={context} />
              {index < entries.length - 1 ? "," : ""}
            </Fragment>
          ))}
          {`\n${pad(depth)}${close}`}
        </>
      ) : (
        <span className="json-summary">{`…${close} ${entries.length} ${isArray ? "item" : "key"}${entries.length === 1 ? "" : "s"}`}</span>
      )}
    </>
  );
}

function Value({
  value,
  path,
  depth,
  context,
}: {
  value: unknown;
  path: JsonPath;
  depth: number;
  context: TreeContext;
}): ReactNode {
  if (typeof value === "object" && value !== null)
    return <Branch value={value} path={path} depth={depth} context={context} />;
  return <Scalar value={value} />;
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A record as a collapsible, highlighted JSON tree: a key copies its path (`userIdentity.arn`,
 * `resources[0].ARN`), for a Lake query or an event rule. The clipboard needs a secure origin;
 * where it fails, the path is shown to select instead.
 */
export function JsonView({ json, label }: { json: string; label: string }) {
  const [copied, setCopied] = useState<Copied>({ kind: "idle" });
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  let parsed: { ok: true; value: unknown } | { ok: false } = { ok: false };
  try {
    parsed = { ok: true, value: JSON.parse(json) };
  } catch {
    // Show what was stored, even when it is not JSON.
  }
  const report = (what: string, ok: boolean): void => {
    setCopied({ kind: ok ? "copied" : "failed", what });
  };
  const context: TreeContext = {
    collapsed,
    toggle: (path) =>
      setCollapsed((current) => {
        const next = new Set(current);
        if (!next.delete(path)) next.add(path);
        return next;
      }),
    copyPath: (path) => void copyText(path).then((ok) => report(path, ok)),
  };
  const pretty = parsed.ok ? JSON.stringify(parsed.value, null, 2) : json;
  return (
    <div className="json-view">
      <div className="json-toolbar">
        <span>{label}</span>
        <span className="muted" role="status">
          {copied.kind === "copied"
            ? `Copied ${copied.what}`
            : copied.kind === "failed"
              ? `Copy failed: select it (${copied.what})`
              : "Click a key to copy its path"}
        </span>
        <button type="button" onClick={() => void copyText(pretty).then((ok) => report("the JSON", ok))}>
          Copy JSON
        </button>
      </div>
      <pre tabIndex={0} aria-label={label}>
        {parsed.ok ? <Value value={parsed.value} path={[]} depth={0} context={context} /> : json}
      </pre>
    </div>
  );
}
