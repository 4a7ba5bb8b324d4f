// Realistic run records for the report tests and for previewing the renderings: a drill that
// passed, a datacenter failover forced past a failed gate that then failed, and a hardware
// failover still running (the journal of a killed run).
import type { RunRecord, StepRecord } from "../core/run-record";

const T0 = Date.parse("2025-03-14T03:12:00.000Z");
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

/** A finished step `from` → `to` seconds after T0. */
function step(id: string, name: string, from: number, to: number, detail: string, extra: Partial<StepRecord> = {}): StepRecord {
  return { id, name, status: "done", startedAt: at(from), finishedAt: at(to), durationMs: Math.round((to - from) * 1000), attempts: 1, detail, ...extra };
}

export function passedDrill(): RunRecord {
  return {
    runId: "drill-20250314t031200z-7a3f",
    scenario: "drill",
    objectiveScenario: "datacenter",
    environment: "lab",
    engine: "local",
    declaredAt: at(0),
    outageAt: at(0),
    finishedAt: at(71.4),
    status: "succeeded",
    dryRun: false,
    forced: false,
    options: { yes: true, repo: 2 },
    steps: [
      step("assess", "assess", 0, 2.1, "newest offsite backup 20250314-030000F, WAL archived to 000000010000000000000042"),
      step("lock", "take the run lock", 2.1, 2.15, "lock held by pid 4242"),
      step("site", "create the throwaway site", 2.15, 8.4, "drill site on 127.0.0.1:55433"),
      step("restore-point", "restore point on the primary", 8.4, 9.6, "restore point drill-7a3f at 0/4200A0B8"),
      step("restore", "restore the latest offsite backup", 9.6, 48.0, "set 20250314-030000F from repo2 to restore point drill-7a3f, delta off"),
      step("verify", "verify (the gate)", 48.0, 60.7, "7 checks passed"),
      step("open", "open for writes", 60.7, 62.5, "promoted; first write at +62.5s"),
      step("measure", "measure", 62.5, 62.9, "RTO 62.5s, RPO 1.4s"),
      step("destroy", "destroy the throwaway site", 62.9, 71.4, "cluster stopped and removed"),
    ],
    facts: { chosenSet: "20250314-030000F", restoredSite: "drill-7a3f", port: 55433 },
    measurements: {
      rto: { achieved: 62.5, objective: 8 * 3600, pass: true, basis: "declaration → first successful write on the restored site" },
      rpo: { achieved: 1.4, objective: 3600, pass: true, basis: "restore point − last heartbeat present after restore" },
    },
    verification: {
      ok: true,
      checks: [
        { name: "row counts (14 tables)", ok: true, detail: "all equal to the source at the restore point", durationMs: 830 },
        { name: "content checksums", ok: true, detail: "14/14 tables match", durationMs: 6120 },
        { name: "schema equality", ok: true, detail: "identical", durationMs: 240 },
        { name: "amcheck (31 btree indexes)", ok: true, detail: "no corruption", durationMs: 4310 },
        { name: "foreign key orphans", ok: true, detail: "0 orphans in 11 foreign keys", durationMs: 990 },
        { name: "invariant: ledger sums equal balances", ok: true, detail: "holds for 5,000 accounts", durationMs: 410 },
        { name: "write/read round trip", ok: true, detail: "wrote and read back 1 row", durationMs: 35 },
      ],
    },
    notes: [],
  };
}

export function forcedFailedFailover(): RunRecord {
  return {
    runId: "datacenter-20250315t021500z-c41d",
    scenario: "datacenter",
    objectiveScenario: "datacenter",
    environment: "lab",
    engine: "local",
    declaredAt: at(86_400),
    outageAt: at(86_400 - 95),
    finishedAt: at(86_400 + 402),
    status: "failed",
    dryRun: false,
    forced: true,
    options: { scenario: "datacenter", force: true, yes: true },
    steps: [
      step("assess", "assess", 86_400, 86_403.2, "primary unreachable; newest offsite backup 20250315-020000F; RPO implied ≤ 6s"),
      step("lock", "take the run lock", 86_403.2, 86_403.3, "lock held by pid 5120"),
      step("fence", "fence the old primary", 86_403.3, 86_418, "primary unreachable: not fenced; recorded"),
      step("bring-up", "bring up the secondary site", 86_418, 86_431, "secondary cluster ready on 127.0.0.1:55432"),
      step("restore", "restore the latest offsite backup", 86_431, 86_562, "set 20250315-020000F from repo2 to the end of archived WAL", { attempts: 2 }),
      step("verify", "verify (the gate)", 86_562, 86_601, "FORCED past a failed gate: verification failed: foreign key orphans: 3 rows in transactions without account", { forced: true }),
      step("open", "open for writes", 86_601, 86_604, "promoted to timeline 2"),
      step("dns", "swap DNS", 86_604, 86_741, "db.lab.internal answers 127.0.0.3"),
      step("post-checks", "post-checks", 86_741, 86_802, "archiving on the new timeline failed: archive-push timed out", { status: "failed" }),
      { id: "report", name: "report", status: "pending", attempts: 0 },
    ],
    facts: { chosenSet: "20250315-020000F", newTimeline: 2 },
    measurements: {
      rto: { achieved: 341, objective: 300, pass: false, basis: "declaration → first successful write through the service name" },
      rpo: { achieved: 4.2, objective: 60, pass: true, basis: "outage time − last committed heartbeat present after restore" },
    },
    verification: {
      ok: false,
      checks: [
        { name: "manifest row counts", ok: true, detail: "14/14 tables match the last backup's manifest", durationMs: 900 },
        { name: "amcheck (31 btree indexes)", ok: true, detail: "no corruption", durationMs: 4200 },
        { name: "foreign key orphans", ok: false, detail: "transactions.account_id: 3 orphan rows", durationMs: 1100 },
      ],
    },
    notes: ["the old primary could not be reached and was not fenced: make sure it stays down", '--force: continued although "verify (the gate)" failed: verification failed: foreign key orphans: 3 rows in transactions without account'],
    error: {
      code: "ARCHIVE_FAILED",
      message: "while running post-checks: archive-push of 000000020000000000000043 timed out after 60s",
      hint: "check that repo2 (the offsite store) is reachable from the new primary, then `dr resume datacenter-20250315t021500z-c41d`",
    },
  };
}

export function runningHardware(): RunRecord {
  return {
    runId: "hardware-20250316t101000z-09be",
    scenario: "hardware",
    objectiveScenario: "hardware",
    environment: "lab",
    engine: "local",
    declaredAt: at(2 * 86_400),
    outageAt: at(2 * 86_400),
    status: "running",
    dryRun: false,
    forced: false,
    options: {},
    steps: [
      step("assess", "assess", 2 * 86_400, 2 * 86_400 + 2.5, "repo1 reachable; restoring from the site's own repository"),
      step("lock", "take the run lock", 2 * 86_400 + 2.5, 2 * 86_400 + 2.6, "lock held by pid 777"),
      step("fence", "fence the old primary", 2 * 86_400 + 2.6, 2 * 86_400 + 9, "stopped and marked read-only"),
      { id: "replace", name: "replace the host", status: "running", startedAt: at(2 * 86_400 + 9), attempts: 1 },
      { id: "restore", name: "restore from repo1", status: "pending", attempts: 0 },
      { id: "verify", name: "verify (the gate)", status: "pending", attempts: 0 },
      { id: "dns", name: "swap DNS", status: "pending", attempts: 0 },
    ],
    facts: {},
    measurements: {
      rto: { objective: 7200, basis: "declaration → first successful write through the service name" },
      rpo: { objective: 1800, basis: "outage time − last committed heartbeat present after restore" },
    },
    notes: [],
  };
}
