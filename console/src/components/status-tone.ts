/** The badge class of a store or query status: green when done, red when it failed. */
export function statusTone(status: string | undefined): string {
  if (status === "FINISHED" || status === "ENABLED") return "badge ok";
  if (status === "FAILED" || status === "TIMED_OUT" || status === "PENDING_DELETION") return "badge error";
  return "badge";
}
