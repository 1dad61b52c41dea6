/**
 * Every typed place of the Lake's schema (each column, and each struct member and list item at any
 * depth), read from the DuckDB types the writers are given (LAKE_COLUMNS), and records that put a
 * value of another JSON type in each of them. Struct members are written lower-case, as the Lake
 * names them: the ingest rules check only the camelCase fields they know, so these reach the Lake.
 */
import { randomUUID } from "node:crypto";
import { LAKE_COLUMNS } from "../../src/lake/engine/lake-schema.js";
import type { RawRecord } from "./sample-records.js";

export interface LakePlace {
  /** Record path: the column name, then lower-case struct members, `0` for a list item. */
  readonly path: readonly string[];
  /** The DuckDB type at that place. */
  readonly type: string;
}

/** Splits `a T, b STRUCT(x U, y V)` at its top-level commas. */
function topLevelParts(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")") depth--;
    else if (text[i] === "," && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts;
}

function placesOf(path: readonly string[], type: string): LakePlace[] {
  const places: LakePlace[] = [{ path, type }];
  if (type.endsWith("[]")) return places.concat(placesOf([...path, "0"], type.slice(0, -2)));
  if (!type.startsWith("STRUCT(")) return places;
  for (const member of topLevelParts(type.slice("STRUCT(".length, -1))) {
    const space = member.indexOf(" ");
    places.push(...placesOf([...path, member.slice(0, space)], member.slice(space + 1)));
  }
  return places;
}

/** Every typed place of the schema, columns first in table order, each followed by its members. */
export function lakePlaces(): LakePlace[] {
  return LAKE_COLUMNS.flatMap(([name, type]) => placesOf([name], type));
}

/** One value of every JSON type, and strings no TIMESTAMP or BOOLEAN reads. */
const WRONG_TYPED_VALUES: readonly unknown[] = [
  0,
  -1.5,
  true,
  "",
  "not-a-date",
  "2023-02-30T00:00:00Z",
  [],
  [1, "x"],
  [{ a: 1 }],
  {},
  { a: { b: [1] } },
];

/** Sets `path` in `record`, replacing whatever is on the way by an object (an array before `0`). */
function setPath(record: RawRecord, path: readonly string[], value: unknown): void {
  let node: Record<string, unknown> = record;
  for (let i = 0; i < path.length - 1; i++) {
    const next = node[path[i]!];
    if (typeof next !== "object" || next === null) node[path[i]!] = path[i + 1] === "0" ? [] : {};
    node = node[path[i]!] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

export interface WrongTypedRecord {
  readonly record: RawRecord;
  readonly place: LakePlace;
  readonly value: unknown;
}

/** For each typed place and each wrong-typed value, a base record (new eventID) holding it there. */
export function wrongTypedRecords(bases: readonly RawRecord[]): WrongTypedRecord[] {
  const out: WrongTypedRecord[] = [];
  // Records are told apart by eventID; a wrong-typed one is refused by the ingest rules anyway.
  for (const place of lakePlaces().filter((candidate) => candidate.path[0] !== "eventID"))
    for (const value of WRONG_TYPED_VALUES) {
      const record = { ...structuredClone(bases[out.length % bases.length]!), eventID: randomUUID() };
      setPath(record, place.path, structuredClone(value));
      out.push({ record, place, value });
    }
  return out;
}
