import { Fragment, useState, type ReactNode } from "react";
import {
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  useReactTable,
  type ColumnDef,
  type SortingState,
  type VisibilityState,
} from "@tanstack/react-table";

export interface DataTableProps<Row> {
  readonly label: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- TanStack's column type is variant in its value type.
  readonly columns: ColumnDef<Row, any>[];
  readonly data: Row[];
  readonly rowId: (row: Row, index: number) => string;
  /** When given, each row gets a disclosure button that shows this below it. */
  readonly renderExpanded?: (row: Row) => ReactNode;
  /** Columns by id to hide (false) or show; all are shown when absent. */
  readonly columnVisibility?: VisibilityState;
}

/** A sortable table; expandable rows are toggled by a real button so the keyboard reaches them. */
export function DataTable<Row>({ label, columns, data, rowId, renderExpanded, columnVisibility }: DataTableProps<Row>) {
  const [sorting, setSorting] = useState<SortingState>([]);
  const [expanded, setExpanded] = useState<Record<string, boolean>>({});
  const table = useReactTable({
    data,
    columns,
    state: { sorting, columnVisibility: columnVisibility ?? {} },
    onSortingChange: setSorting,
    getRowId: rowId,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
  });
  const span = table.getVisibleLeafColumns().length + (renderExpanded ? 1 : 0);
  return (
    <div className="table-scroll">
      <table className="data" aria-label={label}>
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {renderExpanded && (
                <th className="expander">
                  <span className="visually-hidden">Details</span>
                </th>
              )}
              {group.headers.map((header) => {
                const sorted = header.column.getIsSorted();
                return (
                  <th
                    key={header.id}
                    aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : "none"}
                  >
                    {header.isPlaceholder ? null : header.column.getCanSort() ? (
                      <button type="button" className="sort" onClick={header.column.getToggleSortingHandler()}>
                        {flexRender(header.column.columnDef.header, header.getContext())}
                        <span aria-hidden="true">{sorted === "asc" ? " ▲" : sorted === "desc" ? " ▼" : ""}</span>
                      </button>
                    ) : (
                      flexRender(header.column.columnDef.header, header.getContext())
                    )}
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.map((row) => {
            const open = expanded[row.id] === true;
            return (
              <Fragment key={row.id}>
                <tr className={open ? "open" : undefined}>
                  {renderExpanded && (
                    <td className="expander">
                      <button
                        type="button"
                        className="disclosure"
                        aria-expanded={open}
                        aria-label={open ? "Hide details" : "Show details"}
                        onClick={() => setExpanded((current) => ({ ...current, [row.id]: !open }))}
                      >
                        {open ? "▾" : "▸"}
                      </button>
                    </td>
                  )}
                  {row.getVisibleCells().map((cell) => (
                    <td key={cell.id}>{flexRender(cell.column.columnDef.cell, cell.getContext())}</td>
                  ))}
                </tr>
                {open && renderExpanded && (
                  <tr className="details">
                    <td colSpan={span}>{renderExpanded(row.original)}</td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
