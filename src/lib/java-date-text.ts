/**
 * The date text CloudTrail writes for timestamps inside requestParameters / responseElements of the
 * query and json services (IAM's `createDate`, STS's `expiration`): Java's default medium date-time
 * text in English and UTC, `Jul 10, 2023 11:55:10 AM`.
 */
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * Java's default medium date-time text in English and UTC, built by hand: `Intl` with `en-US`
 * writes `Jul 10, 2023, 11:55:10 AM` (comma after the year) and, with current ICU, a narrow no-break
 * space before `AM`, neither of which CloudTrail's legacy records have.
 */
export function javaDefaultDateText(epochMs: number, afterYear: ", " | " " = " "): string {
  const date = new Date(epochMs);
  const hour24 = date.getUTCHours();
  const hour12 = hour24 % 12 === 0 ? 12 : hour24 % 12;
  const year = String(date.getUTCFullYear()).padStart(4, "0");
  const time = `${hour12}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())} ${hour24 < 12 ? "AM" : "PM"}`;
  return `${MONTHS[date.getUTCMonth()]} ${date.getUTCDate()}, ${year}${afterYear}${time}`;
}

function two(value: number): string {
  return String(value).padStart(2, "0");
}
