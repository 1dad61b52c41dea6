import { formatInstant, useTimeZone } from "../time-zone.js";

/** An instant in the zone the user picked, labelled with that zone; the machine-readable value stays UTC. */
export function ZonedTime({ date, seconds = true }: { date: Date | undefined; seconds?: boolean }) {
  const { zone } = useTimeZone();
  if (!date || Number.isNaN(date.getTime())) return <>–</>;
  return <time dateTime={date.toISOString()}>{formatInstant(date, zone, seconds)}</time>;
}
