/**
 * Partition pruning for Lake queries. Each store's Parquet files sit in `eventdate=YYYY-MM-DD`
 * directories (the UTC date of `eventTime`). When every place a statement reads a store from is
 * bounded by `eventTime` comparisons with literals in its WHERE clause, only the partitions in those
 * bounds need to be read. The bounds come from DuckDB's own parse tree (`json_serialize_sql`), so
 * strings, comments and nesting are handled by the real parser:
 * - a reference is bounded when the WHERE of the SELECT whose FROM holds it is an AND of terms, some of
 *   which compare that reference's `eventTime` with `>`, `>=`, `<`, `<=`, `=` or `BETWEEN` against a
 *   literal, `TIMESTAMP '…'`/`CAST('…' AS …)` or `from_iso8601_timestamp('…')`/`from_iso8601_date('…')`;
 * - a store's range is the hull of its references' ranges, and any unbounded reference (a second
 *   reference in a subquery or a UNION without the filter, an OR, a function of eventTime…) turns
 *   pruning off for that store.
 * Dates are widened by one day on each side, so a literal read in another time zone, or with an
 * offset, can never exclude a partition that holds a matching event: pruning only ever skips files
 * that cannot match, and results are the same with and without it.
 */

/** Inclusive `YYYY-MM-DD` bounds on the partitions to read; a missing side is open. */
export interface DateRange {
  readonly from?: string;
  readonly to?: string;
}

type Node = Record<string, unknown>;

const DAY_MS = 86_400_000;
const LITERAL_FUNCTIONS = new Set(["from_iso8601_timestamp", "from_iso8601_date"]);
const DATE_PREFIX = /^\s*(\d{4})-(\d{2})-(\d{2})(?![\d])/;

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The date of a literal bound, or undefined when the expression is not one we can read safely. */
function literalDate(expression: unknown): string | undefined {
  if (!isNode(expression)) return undefined;
  if (expression["class"] === "CONSTANT") {
    const value = expression["value"] as { is_null?: boolean; value?: unknown } | undefined;
    if (value?.is_null === true || typeof value?.value !== "string") return undefined;
    const match = DATE_PREFIX.exec(value.value);
    if (match === null) return undefined;
    const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
    return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().slice(0, 10);
  }
  if (expression["class"] === "CAST" && expression["try_cast"] !== true) {
    const type = (expression["cast_type"] as { id?: unknown } | undefined)?.id;
    if (typeof type === "string" && /^(TIMESTAMP|DATE)/.test(type)) return literalDate(expression["child"]);
    return undefined;
  }
  if (expression["class"] === "FUNCTION") {
    const name = String(expression["function_name"] ?? "").toLowerCase();
    const children = expression["children"] as unknown[] | undefined;
    if (LITERAL_FUNCTIONS.has(name) && children?.length === 1) return literalDate(children[0]);
  }
  return undefined;
}

function shiftDays(date: string, days: number): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);
}

interface TableRef {
  /** Lower-case names a column may be qualified with: the alias, else the table name. */
  readonly qualifiers: ReadonlySet<string>;
  readonly node: Node;
}

/** The base tables a FROM clause reads directly (through joins, not into subqueries). */
function directTables(from: unknown, out: TableRef[]): void {
  if (!isNode(from)) return;
  if (from["type"] === "BASE_TABLE") {
    const alias = String(from["alias"] ?? "").toLowerCase();
    const name = String(from["table_name"] ?? "").toLowerCase();
    out.push({ qualifiers: new Set([alias !== "" ? alias : name]), node: from });
  } else if (from["type"] === "JOIN") {
    directTables(from["left"], out);
    directTables(from["right"], out);
  }
}

/** Whether a column reference names `eventTime` of `table` (qualified, or unqualified when alone). */
function isEventTimeOf(expression: unknown, table: TableRef, alone: boolean): boolean {
  if (!isNode(expression) || expression["class"] !== "COLUMN_REF") return false;
  const names = (expression["column_names"] as unknown[] | undefined)?.map((n) => String(n).toLowerCase()) ?? [];
  if (names.length === 1) return alone && names[0] === "eventtime";
  return names.length === 2 && names[1] === "eventtime" && table.qualifiers.has(names[0]!);
}

const FLIPPED: Record<string, string> = {
  COMPARE_GREATERTHAN: "COMPARE_LESSTHAN",
  COMPARE_GREATERTHANOREQUALTO: "COMPARE_LESSTHANOREQUALTO",
  COMPARE_LESSTHAN: "COMPARE_GREATERTHAN",
  COMPARE_LESSTHANOREQUALTO: "COMPARE_GREATERTHANOREQUALTO",
  COMPARE_EQUAL: "COMPARE_EQUAL",
};

/** Narrows `range` by one AND term of a WHERE clause, for one table of its FROM. */
function narrow(range: { from?: string; to?: string }, term: Node, table: TableRef, alone: boolean): void {
  const raise = (date: string | undefined): void => {
    if (date !== undefined && (range.from === undefined || date > range.from)) range.from = date;
  };
  const lower = (date: string | undefined): void => {
    if (date !== undefined && (range.to === undefined || date < range.to)) range.to = date;
  };
  if (term["class"] === "BETWEEN" && isEventTimeOf(term["input"], table, alone)) {
    raise(literalDate(term["lower"]));
    lower(literalDate(term["upper"]));
    return;
  }
  if (term["class"] !== "COMPARISON") return;
  let type = String(term["type"]);
  let other: unknown;
  if (isEventTimeOf(term["left"], table, alone)) other = term["right"];
  else if (isEventTimeOf(term["right"], table, alone)) {
    other = term["left"];
    type = FLIPPED[type] ?? "";
  } else return;
  const date = literalDate(other);
  if (type === "COMPARE_GREATERTHAN" || type === "COMPARE_GREATERTHANOREQUALTO") raise(date);
  else if (type === "COMPARE_LESSTHAN" || type === "COMPARE_LESSTHANOREQUALTO") lower(date);
  else if (type === "COMPARE_EQUAL") {
    raise(date);
    lower(date);
  }
}

function conjuncts(where: unknown): Node[] {
  if (!isNode(where)) return [];
  if (where["class"] === "CONJUNCTION" && where["type"] === "CONJUNCTION_AND")
    return ((where["children"] as unknown[]) ?? []).flatMap(conjuncts);
  return [where];
}

/**
 * The partitions each store must read, from a `json_serialize_sql` statement list: a range for a
 * store every reference of which is bounded, `undefined` for a store read in full.
 *
 * @example partitionRanges(tree, ["eds_…"]) // Map { "eds_…" => { from: "2024-01-04", to: "2024-01-11" } }
 */
export function partitionRanges(statements: unknown, viewNames: readonly string[]): Map<string, DateRange | undefined> {
  const wanted = new Set(viewNames.map((v) => v.toLowerCase()));
  /** Range found for each BASE_TABLE node of a store (bounded references only). */
  const bounded = new Map<Node, DateRange>();
  const references: Array<{ view: string; node: Node }> = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (!isNode(node)) return;
    if (node["type"] === "BASE_TABLE") {
      const view = String(node["table_name"] ?? "").toLowerCase();
      if (wanted.has(view) && String(node["schema_name"] ?? "") === "") references.push({ view, node });
    }
    if (node["type"] === "SELECT_NODE") {
      const tables: TableRef[] = [];
      directTables(node["from_table"], tables);
      const terms = conjuncts(node["where_clause"]);
      // Unqualified `eventTime` is the table's only when the FROM is that table alone (no join, no UNNEST).
      const alone = isNode(node["from_table"]) && node["from_table"]["type"] === "BASE_TABLE";
      for (const table of tables) {
        const range: { from?: string; to?: string } = {};
        for (const term of terms) narrow(range, term, table, alone);
        if (range.from !== undefined || range.to !== undefined) bounded.set(table.node, range);
      }
    }
    Object.values(node).forEach(visit);
  };
  visit(statements);
  const result = new Map<string, DateRange | undefined>();
  for (const view of wanted) {
    const mine = references.filter((r) => r.view === view);
    const ranges = mine.map((r) => bounded.get(r.node));
    if (mine.length === 0 || ranges.some((r) => r === undefined)) {
      result.set(view, undefined);
      continue;
    }
    const froms = ranges.map((r) => r!.from);
    const tos = ranges.map((r) => r!.to);
    const from = froms.some((d) => d === undefined) ? undefined : froms.sort()[0];
    const to = tos.some((d) => d === undefined) ? undefined : tos.sort().at(-1);
    result.set(view, {
      ...(from !== undefined ? { from: shiftDays(from, -1) } : {}),
      ...(to !== undefined ? { to: shiftDays(to, 1) } : {}),
    });
  }
  return result;
}

/** Whether the `eventdate=YYYY-MM-DD` partition lies in the range. */
export function partitionInRange(date: string, range: DateRange | undefined): boolean {
  if (range === undefined) return true;
  return (range.from === undefined || date >= range.from) && (range.to === undefined || date <= range.to);
}
