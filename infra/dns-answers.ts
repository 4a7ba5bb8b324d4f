// What the two failover records answer. "auto": each record its own site, and Route 53 picks
// by the primary's health. Forced ("primary" / "secondary"): both records name the chosen
// site, so the answer no longer depends on any health check — the automation's verified swap.
export type ActiveSite = "auto" | "primary" | "secondary";

export function failoverAnswers<T>(active: ActiveSite, primary: T, secondary: T): { primaryRecord: T; secondaryRecord: T } {
  return {
    primaryRecord: active === "secondary" ? secondary : primary,
    secondaryRecord: active === "primary" ? primary : secondary,
  };
}
