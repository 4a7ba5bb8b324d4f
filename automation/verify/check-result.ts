// One verification check as data: what it proves, whether it passed, what it found and how long it
// took. Its own file because both the live checks and the manifest comparison produce it.
export interface CheckResult {
  name: string;
  kind: "content" | "schema" | "amcheck" | "orphans" | "invariant" | "roundtrip" | "proof" | "restore";
  ok: boolean;
  detail: string;
  durationMs: number;
  /** Passed, but worth a look: an invariant the source had already broken. */
  warning?: boolean;
  /** Mismatches, corrupt indexes, orphan counts … for --json and reports. */
  findings?: unknown[];
}
