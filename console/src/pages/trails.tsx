export function TrailsPage() {
  return <p>Coming soon.</p>;
}
