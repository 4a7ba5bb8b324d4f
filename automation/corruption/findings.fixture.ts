// Findings as the checks report them, for the tests of classification and of the plan's paths.
import type { CorruptionFinding } from "./report";

export function sampleFinding(kind: CorruptionFinding["kind"], relation: string, block = 1, by: CorruptionFinding["by"] = "pg_checksums"): CorruptionFinding {
  return {
    database: "fp",
    relation,
    kind,
    catalog: false,
    problem: kind === "index" ? "index-structure" : "page-checksum",
    blocks: [block],
    detail: "",
    severity: kind === "index" ? "high" : "critical",
    by,
  };
}
