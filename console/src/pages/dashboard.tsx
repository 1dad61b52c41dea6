export function DashboardPage() {
  return <p>Coming soon.</p>;
}
