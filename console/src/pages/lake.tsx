export function LakePage() {
  return <p>Coming soon.</p>;
}
