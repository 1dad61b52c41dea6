/**
 * Lake SQL → DuckDB SQL. Lake's dialect is Trino's; DuckDB reads most of it as is. What differs is
 * handled here by text rewriting outside string literals, quoted identifiers and comments:
 * - `FROM <eds id | eds ARN>` → the store's view name (`"eds_<id>"`), which the engine defines;
 *   so does a store's name right after FROM or JOIN (a Cairn extension: Lake takes only the id);
 * - Trino functions whose DuckDB namesake behaves differently are renamed to Cairn macros
 *   (query-macros.ts); Trino functions DuckDB lacks are provided as macros under their own name.
 */

const UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";
const STORE_REFERENCE = new RegExp(
  `(?:arn:aws:cloudtrail:[a-z0-9-]+:\\d{12}:eventdatastore/)?(${UUID})(?![\\w-])`,
  "g",
);
const STORE_IDENTIFIER = new RegExp(`^(?:arn:aws:cloudtrail:[a-z0-9-]+:\\d{12}:eventdatastore/)?(${UUID})$`);

/** Trino functions whose DuckDB namesake takes other arguments or returns another type. */
const RENAMED_FUNCTIONS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\belement_at\s*\(/gi, "cairn_element_at("],
  [/\bdate_add\s*\(/gi, "cairn_date_add("],
  [/\bcontains\s*\(/gi, "cairn_contains("],
  [/\bjson_array_contains\s*\(/gi, "cairn_json_array_contains("],
  [/\bsplit\s*\(/gi, "cairn_split("],
];

interface Segment {
  readonly kind: "code" | "string" | "identifier" | "comment";
  readonly text: string;
}

/** Splits SQL text into code, 'strings', "identifiers" and comments (SQL-style doubled quotes). */
function segmentsOf(sql: string): Segment[] {
  const segments: Segment[] = [];
  let code = "";
  let i = 0;
  const flush = (): void => {
    if (code !== "") segments.push({ kind: "code", text: code });
    code = "";
  };
  while (i < sql.length) {
    const char = sql[i]!;
    const next = sql[i + 1];
    let end: number;
    let kind: Segment["kind"];
    if (char === "'" || char === '"') {
      end = i + 1;
      for (;;) {
        const close = sql.indexOf(char, end);
        if (close === -1) {
          end = sql.length;
          break;
        }
        if (sql[close + 1] === char) end = close + 2;
        else {
          end = close + 1;
          break;
        }
      }
      kind = char === "'" ? "string" : "identifier";
    } else if (char === "-" && next === "-") {
      const newline = sql.indexOf("\n", i);
      end = newline === -1 ? sql.length : newline;
      kind = "comment";
    } else if (char === "/" && next === "*") {
      const close = sql.indexOf("*/", i + 2);
      end = close === -1 ? sql.length : close + 2;
      kind = "comment";
    } else {
      code += char;
      i++;
      continue;
    }
    flush();
    segments.push({ kind, text: sql.slice(i, end) });
    i = end;
  }
  flush();
  return segments;
}

export function viewNameOf(edsId: string): string {
  return `eds_${edsId.toLowerCase().replaceAll("-", "_")}`;
}

export interface RewrittenQuery {
  readonly sql: string;
  /** Store ids named in the statement, lower-case, in order of first mention. */
  readonly storeIds: string[];
  /** Per view name, the text the statement named the store with: error messages show that instead. */
  readonly labels: ReadonlyMap<string, string>;
  /** The first keyword, upper-case (SELECT, WITH, DELETE…), for a clear refusal of non-queries. */
  readonly firstKeyword: string;
  /** Whether a table after FROM or JOIN was looked up by name: only then do the caller's names matter. */
  readonly looksUpNames: boolean;
}

/** A store's name where a table goes: right after FROM or JOIN (names hold letters, digits, '.', '_', '-'). */
const NAMED_TABLE = /(\b(?:FROM|JOIN)\s+)([A-Za-z0-9._-]+)(?![\w.-])/gi;
const ENDS_WITH_TABLE_KEYWORD = /\b(?:FROM|JOIN)\s*$/i;

/**
 * Rewrites a Lake statement for DuckDB. Store ids are collected, not checked: the caller resolves
 * them in the caller's account and refuses unknown ones. `storeNames` (name → id, the caller's
 * stores) lets a statement name a store by its name after FROM or JOIN, bare or "quoted"; an id
 * or ARN always wins over a name that looks like one.
 *
 * @example rewriteLakeSql("SELECT count(*) FROM 0f1e…") // { sql: 'SELECT count(*) FROM "eds_0f1e…"', storeIds: ["0f1e…"] }
 */
export function rewriteLakeSql(sql: string, storeNames: ReadonlyMap<string, string> = new Map()): RewrittenQuery {
  const storeIds: string[] = [];
  const labels = new Map<string, string>();
  const note = (id: string, label: string): string => {
    const lower = id.toLowerCase();
    if (!storeIds.includes(lower)) storeIds.push(lower);
    const view = viewNameOf(lower);
    if (!labels.has(view)) labels.set(view, label);
    return `"${view}"`;
  };
  let looksUpNames = false;
  const idOfName = (name: string): string | undefined => {
    looksUpNames = true;
    return storeNames.get(name);
  };
  let firstKeyword = "";
  let previousCode = "";
  const out = segmentsOf(sql).map((segment) => {
    if (segment.kind === "identifier") {
      const inner = segment.text.slice(1, -1);
      const match = STORE_IDENTIFIER.exec(inner);
      if (match) return note(match[1]!, inner);
      if (!ENDS_WITH_TABLE_KEYWORD.test(previousCode)) return segment.text;
      const named = idOfName(inner);
      return named === undefined ? segment.text : note(named, inner);
    }
    if (segment.kind !== "code") return segment.text;
    if (firstKeyword === "") firstKeyword = /[A-Za-z]+|\(/.exec(segment.text)?.[0]?.toUpperCase() ?? "";
    let text = segment.text.replace(STORE_REFERENCE, (all: string, id: string) => note(id, all));
    text = text.replace(NAMED_TABLE, (all: string, keyword: string, name: string) => {
      const id = idOfName(name);
      return id === undefined ? all : `${keyword}${note(id, name)}`;
    });
    for (const [pattern, replacement] of RENAMED_FUNCTIONS) text = text.replace(pattern, replacement);
    previousCode = text;
    return text;
  });
  return { sql: out.join(""), storeIds, labels, firstKeyword, looksUpNames };
}

/**
 * An engine error message as the caller may see it: the views and macros the rewrite introduced are
 * named as the statement named them, suggestions of internal tables are dropped, and so is DuckDB's
 * excerpt of the rewritten statement (its caret points into text the caller never wrote).
 */
export function publicErrorMessage(message: string, labels: ReadonlyMap<string, string>): string {
  let text = message.replace(/\n*LINE \d+:[\s\S]*$/, "");
  text = text.replace(/"?\b(eds_[0-9a-f]{8}(?:_[0-9a-f]{4}){3}_[0-9a-f]{12})\b"?/gi, (all: string, view: string) => {
    const label = labels.get(view.toLowerCase()) ?? view.slice(4).replaceAll("_", "-");
    return all.startsWith('"') ? `"${label}"` : label;
  });
  // DuckDB quotes the view's quoted identifier once more (`near ""eds_…""`).
  text = text.replace(/""([^"\n]+)""/g, '"$1"');
  text = text.replace(/\bcairn_(element_at|date_add|contains|json_array_contains|split)\b/g, "$1");
  text = text.replace(/\n?Did you mean "(?:cairn_|eds_|pg_|duckdb_|sqlite_|information_schema)[^"]*"\?/g, "");
  return text.trimEnd();
}

/** Table functions a Lake query may use; every other one (read_csv, read_parquet, glob…) reads files. */
export const ALLOWED_TABLE_FUNCTIONS: ReadonlySet<string> = new Set([
  "unnest",
  "range",
  "generate_series",
  "json_each",
  "json_tree",
]);

/** Names of the table functions in a DuckDB `json_serialize_sql` tree. */
export function tableFunctionsOf(tree: unknown): string[] {
  const names: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(visit);
    else if (typeof node === "object" && node !== null) {
      const record = node as Record<string, unknown>;
      if (record["type"] === "TABLE_FUNCTION") {
        const fn = record["function"] as { function_name?: unknown } | undefined;
        names.push(typeof fn?.function_name === "string" ? fn.function_name : "?");
      }
      Object.values(record).forEach(visit);
    }
  };
  visit(tree);
  return names;
}
