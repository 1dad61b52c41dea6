import { createContext, useCallback, useContext, useState } from "react";

/** How the console shows and reads times: UTC (the default, as CloudTrail records them) or the browser's zone. */
export type ZoneMode = "utc" | "local";

const STORAGE_KEY = "cairn.timeZone";

export interface TimeZoneValue {
  readonly zone: ZoneMode;
  readonly setZone: (zone: ZoneMode) => void;
}

export const TimeZoneContext = createContext<TimeZoneValue>({ zone: "utc", setZone: () => undefined });

export function useTimeZone(): TimeZoneValue {
  return useContext(TimeZoneContext);
}

/** The switch's state, kept in localStorage so every tab and the next visit use the same zone. */
export function usePersistedZone(): TimeZoneValue {
  const [zone, setState] = useState<ZoneMode>(() => (readStored() === "local" ? "local" : "utc"));
  const setZone = useCallback((next: ZoneMode) => {
    setState(next);
    try {
      localStorage.setItem(STORAGE_KEY, next);
    } catch {
      // Storage can be disabled; the switch still works for this page.
    }
  }, []);
  return { zone, setZone };
}

function readStored(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

/** The browser's IANA zone name, for labels ("Local (Europe/Amsterdam)"). */
export function localZoneName(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "browser time";
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, "0");
}

interface Fields {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

function fieldsOf(date: Date, zone: ZoneMode): Fields {
  return zone === "utc"
    ? {
        year: date.getUTCFullYear(),
        month: date.getUTCMonth() + 1,
        day: date.getUTCDate(),
        hour: date.getUTCHours(),
        minute: date.getUTCMinutes(),
        second: date.getUTCSeconds(),
      }
    : {
        year: date.getFullYear(),
        month: date.getMonth() + 1,
        day: date.getDate(),
        hour: date.getHours(),
        minute: date.getMinutes(),
        second: date.getSeconds(),
      };
}

/** "UTC" or the local offset at that instant ("UTC−07:00"): the offset changes with daylight saving time. */
export function zoneLabel(date: Date, zone: ZoneMode): string {
  if (zone === "utc") return "UTC";
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? "−" : "+";
  const magnitude = Math.abs(offset);
  return `UTC${sign}${pad(Math.floor(magnitude / 60))}:${pad(magnitude % 60)}`;
}

/** "2026-12-07 12:27:05 UTC": sortable, one line, and never ambiguous about its zone. */
export function formatInstant(date: Date, zone: ZoneMode, withSeconds = true): string {
  if (Number.isNaN(date.getTime())) return "–";
  const f = fieldsOf(date, zone);
  const time = `${pad(f.hour)}:${pad(f.minute)}${withSeconds ? `:${pad(f.second)}` : ""}`;
  return `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)} ${time} ${zoneLabel(date, zone)}`;
}

/** A `datetime-local` input's text for an ISO instant, in the chosen zone. */
export function toInputValue(iso: string, zone: ZoneMode): string {
  const date = new Date(iso);
  if (iso === "" || Number.isNaN(date.getTime())) return "";
  const f = fieldsOf(date, zone);
  return `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)}T${pad(f.hour)}:${pad(f.minute)}`;
}

const INPUT_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/;

/** The ISO instant a `datetime-local` text means in the chosen zone, or "" when it is empty or malformed. */
export function fromInputValue(text: string, zone: ZoneMode): string {
  const match = INPUT_PATTERN.exec(text);
  if (!match) return "";
  const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part ?? 0)) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms =
    zone === "utc"
      ? Date.UTC(year, month - 1, day, hour, minute, second)
      : new Date(year, month - 1, day, hour, minute, second).getTime();
  return Number.isNaN(ms) ? "" : new Date(ms).toISOString();
}
