import { useEffect, useRef, type RefObject } from "react";
import { basicSetup, EditorView } from "codemirror";
import { keymap } from "@codemirror/view";
import { EditorState } from "@codemirror/state";
import { sql, StandardSQL } from "@codemirror/lang-sql";

export interface SqlEditorProps {
  readonly value: string;
  readonly onChange: (value: string) => void;
  /** Ctrl/Cmd-Enter runs the query. */
  readonly onRun: () => void;
  /** Offered by autocompletion as table names: the event data store ids. */
  readonly tables: readonly string[];
  /** Filled with a handle for inserting text at the cursor (e.g. an event data store id). */
  readonly handle?: RefObject<SqlEditorHandle | null>;
}

export interface SqlEditorHandle {
  /** Replaces the selection with `text`, puts the cursor after it and focuses the editor. */
  insert(text: string): void;
}

const LAKE_COLUMNS = [
  "eventVersion",
  "eventSource",
  "eventName",
  "eventTime",
  "awsRegion",
  "sourceIPAddress",
  "userAgent",
  "errorCode",
  "errorMessage",
  "requestParameters",
  "responseElements",
  "userIdentity",
  "readOnly",
  "resources",
  "eventType",
  "eventCategory",
  "recipientAccountId",
  "eventID",
  "eventJson",
  "cairnIngestedBy",
];

/** CodeMirror 6 with SQL highlighting; the document is owned by the editor, mirrored out through onChange. */
export function SqlEditor({ value, onChange, onRun, tables, handle }: SqlEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | undefined>(undefined);
  const latest = useRef({ onChange, onRun });
  latest.current = { onChange, onRun };

  useEffect(() => {
    if (!host.current) return;
    const schema = Object.fromEntries(tables.map((table) => [table, LAKE_COLUMNS]));
    const created = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          keymap.of([
            {
              key: "Mod-Enter",
              run: () => {
                latest.current.onRun();
                return true;
              },
            },
          ]),
          basicSetup,
          // Long store ids and ARNs stay visible on narrow screens.
          EditorView.lineWrapping,
          sql({ dialect: StandardSQL, schema, upperCaseKeywords: true }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) latest.current.onChange(update.state.doc.toString());
          }),
          EditorView.contentAttributes.of({ "aria-label": "SQL query" }),
        ],
      }),
    });
    view.current = created;
    if (handle) {
      handle.current = {
        insert: (text) => {
          const { from, to } = created.state.selection.main;
          created.dispatch({ changes: { from, to, insert: text }, selection: { anchor: from + text.length } });
          created.focus();
        },
      };
    }
    return () => {
      created.destroy();
      view.current = undefined;
      if (handle) handle.current = null;
    };
    // The editor is made once per table list; `value` flows in through the effect below.
  }, [tables.join("\u0000")]);

  useEffect(() => {
    const current = view.current;
    if (current && current.state.doc.toString() !== value) {
      current.dispatch({ changes: { from: 0, to: current.state.doc.length, insert: value } });
    }
  }, [value]);

  return <div className="sql-editor" ref={host} />;
}
