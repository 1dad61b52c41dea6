/**
 * A Lake result value, as a link to Event history when it names an event or something Event history
 * searches by: a real anchor, so it is reached with Tab and opens in a new tab like any link.
 */
export function LakeCell({ value, href }: { value: string; href: string | undefined }) {
  if (href === undefined) return <>{value}</>;
  return (
    <a className="pivot" href={href} title={`Open in Event history: ${value}`}>
      {value}
    </a>
  );
}
