// The role a lab site plays now, from what happened to it rather than from lab.json, which
// records what each site was built as ("primary", "secondary" are also the sites' names): after a
// failover or an incident restore the site the service name answers with is the primary, an
// isolated site is isolated and a fenced one fenced, whatever they were built as.
export interface SiteEvidence {
  /** The role lab.json records (what the site was built as). */
  built: string;
  /** pg_hba.conf holds fp-dr's isolation header (security incident). */
  isolated: boolean;
  /** The fence marker is in the data directory (lost the primary role in a failover). */
  fenced: boolean;
  /** The service name answers with this site's address. */
  serves: boolean;
  state: string;
  inRecovery?: boolean;
  /** Some site serves (the service name answers at all). */
  anotherServes: boolean;
}

export function currentRole(e: SiteEvidence): string {
  if (e.isolated) return "isolated";
  if (e.fenced) return "fenced";
  if (e.serves && e.state === "running" && e.inRecovery === false) return "primary";
  // Built as the primary, but the service name has moved on: it is not the primary any more.
  if (e.built === "primary" && e.anotherServes) return e.inRecovery ? "standby" : "former primary";
  if (e.built === "secondary" && e.state === "running" && e.inRecovery === false && !e.serves && e.anotherServes) return "promoted, not serving";
  return e.built;
}
