// The plans end to end on the benchmark lab, under the lab's write load, as the runs measure
// them, with every step kept (the lab and its journals are removed afterwards):
//   the secondary built as a warm standby from the offsite repository; the monthly drill;
//   the standby's replay lag; a switchover to the standby and back (write downtime, commits
//   lost); a datacenter failover by promotion (the primary killed); then, the secondary now
//   primary, a second datacenter failover by restore (it killed, `--from-backup`) onto the old
//   primary's site: promotion and restore side by side on the same database.
import { rmSync } from "node:fs";
import type { Deps } from "../commands/deps";
import { backup } from "../commands/backup";
import { drill, failover } from "../commands/recover";
import { switchover } from "../commands/switchover";
import { verifySite } from "../commands/verify";
import { DrError } from "../core/errors";
import { formatMs } from "../core/output";
import type { RunRecord } from "../core/run-record";
import { Lab } from "../engines/local/lab";
import { missingAcks, readAcks, startLoad, stopLoad, type Ack } from "../engines/local/load";
import { applyChurn } from "../engines/local/sample-data";
import { ensureStandby } from "../engines/local/standby";
import { benchRun } from "./runs";
import { measure } from "./sampler";
import { sampleReplayLag, writeDowntimeMs } from "./standby-figures";
import type { BenchMeasurement, BenchRun, ReplayLag } from "./types";

export interface EndToEnd {
  rows: BenchMeasurement[];
  runs: BenchRun[];
  replayLag?: ReplayLag;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function succeeded(what: string, r: RunRecord): RunRecord {
  if (r.status !== "succeeded") throw new DrError("INTERNAL", `the benchmark's ${what} failed: ${r.error?.message}`, { hint: `see its report (run ${r.runId}; --keep keeps the lab)` });
  return r;
}

/** Acknowledged before `at` and missing on `site`. */
async function lostOn(lab: Lab, site: string, acks: Ack[], at: string): Promise<{ acknowledged: number; lost: Ack[] }> {
  const before = acks.filter((a) => a.at.getTime() <= Date.parse(at));
  return { acknowledged: before.length, lost: await missingAcks(lab, site, before) };
}

export async function endToEnd(bench: Deps, lab: Lab): Promise<EndToEnd> {
  const out = bench.out;
  const rows: BenchMeasurement[] = [];
  const runs: BenchRun[] = [];

  // 1. The restores above left the secondary restored (in recovery): emptied, then built as a
  //    warm standby from the offsite repository, until it streams.
  await lab.site("secondary").cluster.stop("immediate");
  rmSync(lab.layout.dataDir("secondary"), { recursive: true, force: true });
  const built = await out.timed("warm standby: pgbackrest restore --type=standby ← repo2, until it streams", () => measure(() => ensureStandby(lab, (l) => out.step(`  ${l}`))), (m) => formatMs(m.wallMs));
  if (built.value.outcome !== "built") throw new DrError("INTERNAL", `the benchmark's standby was not built: ${built.value.detail}`, { hint: "run with --keep and read `dr status`" });
  rows.push({ id: "standby-build", label: "standby bootstrap: restore --type=standby ← repo2, until streaming", kind: "restore", method: "pgbackrest", wallMs: built.wallMs, peakRssBytes: built.peakRssBytes, detail: built.value.detail });

  await out.timed("start the write load through the service name", () => startLoad(lab, { fresh: true }));
  try {
    // 2. The monthly drill: restore point → throwaway site → verified, writable copy. First the
    //    backup the schedule would have taken (its proofs on the streaming standby): the drill's
    //    gate shows them as a failover by restore would, and its audit runs them on the copy.
    await scheduledBackup(bench, rows, "backup-proofs-drill", "before the drill");
    const d = succeeded("drill", await out.timed("end to end: dr drill", () => drill(bench, {})));
    runs.push(benchRun(d, { id: "drill", label: "dr drill: restore point → verified, writable copy" }));

    // 3. How far the standby trails the primary under the load.
    const replayLag = await out.timed("standby replay lag under the write load (5 s of samples)", () => sampleReplayLag(lab, "secondary", "primary"), (l) => `replay_lag median ${formatMs(l.medianReplayMs)}, max ${formatMs(l.maxReplayMs)}; ${l.maxBytes} bytes behind at most`);

    // 4. The O(size) checks, ahead of time on the standby (amcheck runs on a hot standby): the
    //    promotion's gate shows their age instead of repeating them on the critical path.
    const v = await measure(() => verifySite(bench, { site: "secondary", noSource: true }));
    rows.push({ id: "standby-verify", label: "dr verify of the standby, ahead of time (off the RTO)", kind: "restore", method: "pgbackrest", wallMs: v.wallMs, detail: v.value.ok ? "passed" : "FAILED" });

    // 5. Switchover to the standby and back: commits lost and write downtime, from what the load
    //    saw acknowledged.
    for (const [i, [from, to]] of [["primary", "secondary"], ["secondary", "primary"]].entries()) {
      await sleep(1500);
      const s = succeeded(`switchover to ${to}`, await out.timed(`end to end: dr switchover --to ${to} (under load)`, () => switchover(bench, { to, yes: true })));
      await sleep(1500);
      const acks = readAcks(lab);
      const c = await lostOn(lab, to, acks, new Date().toISOString());
      const downtime = writeDowntimeMs(acks, (s.facts as { shutdownAt: string }).shutdownAt);
      runs.push(benchRun(s, { id: `switchover-${i + 1}`, label: `dr switchover ${from} → ${to}`, commits: { acknowledged: c.acknowledged, lost: c.lost.length }, writeDowntimeMs: downtime }));
    }

    // 6. Datacenter failover by promotion: the primary's postmaster killed under the load.
    //    Long enough first for the load's WAL to have been archived at least once.
    await sleep((lab.state.archiveTimeoutSeconds + 3) * 1000);
    let outageAt = kill(lab, "primary");
    const p = succeeded("failover by promotion", await out.timed("end to end: dr failover --scenario datacenter (primary killed; promotion)", () => failover(bench, { scenario: "datacenter", yes: true, outageAt })));
    await sleep(1500);
    const lostP = await lostOn(lab, "secondary", readAcks(lab), outageAt);
    runs.push(benchRun(p, { id: "failover-promote", label: "dr failover datacenter by promotion", commits: { acknowledged: lostP.acknowledged, lost: lostP.lost.length } }));

    // 7. The same failover by restore, on the same database: the secondary (now primary) killed,
    //    the old primary's fenced site restored from the offsite repository. First the backup the
    //    schedule would have taken by then (the failover's own first backup on the new timeline
    //    carries no proofs): its proofs (amcheck, orphans, invariants) are what the restore-path
    //    gate then shows instead of repeating them on the copy.
    await scheduledBackup(bench, rows, "backup-proofs", "before the failover by restore");
    // The business goes on after that backup: 1 % of the rows change (entries posted with their
    // balances, holdings revalued, a few households removed). The restore replays it, and the
    // gate's incremental invariants read what it wrote; with the heartbeat alone they read nothing.
    await out.timed(
      "the business writes on after that backup: 1 % of the rows change",
      async () => {
        const c = await lab.connect("secondary");
        try {
          return await applyChurn(c, 0.01, { actor: "fp-dr bench" });
        } finally {
          await c.end();
        }
      },
      (s) => `${s.ledgerInserted} ledger entries posted, ${s.updated.accounts} accounts updated, ${s.householdsDeleted} households removed`,
    );
    await sleep((lab.state.archiveTimeoutSeconds + 3) * 1000);
    outageAt = kill(lab, "secondary");
    const r = succeeded("failover by restore", await out.timed("end to end: dr failover --scenario datacenter --from-backup (secondary killed; restore)", () => failover(bench, { scenario: "datacenter", yes: true, outageAt, fromBackup: true })));
    await sleep(1500);
    const known = new Set(lostP.lost.map((a) => a.id));
    const lostR = await lostOn(lab, "primary", readAcks(lab), outageAt);
    runs.push(benchRun(r, { id: "failover-restore", label: "dr failover datacenter by restore (--from-backup)", commits: { acknowledged: lostR.acknowledged, lost: lostR.lost.filter((a) => !known.has(a.id)).length } }));
    return { rows, runs, replayLag };
  } finally {
    await stopLoad(Lab.open(bench.config)).catch(() => undefined);
  }
}

/** The incremental backup the schedule takes, with its proofs (off every RTO), as a row of the result. */
async function scheduledBackup(bench: Deps, rows: BenchMeasurement[], id: string, when: string): Promise<void> {
  const m = await measure(() => bench.out.timed(`scheduled backup with its proofs: dr backup incr --repo 2 (${when}, off the RTO)`, () => backup(bench, { type: "incr", repo: 2 })));
  const p = m.value.proofs;
  rows.push({ id, label: `scheduled incremental backup with its proofs (${when}, off the RTO)`, kind: "backup", method: "pgbackrest", wallMs: m.wallMs, peakRssBytes: m.peakRssBytes, detail: p.ok ? `proofs passed on ${p.site} (${p.role}) in ${formatMs(p.durationMs)}` : "proofs FAILED" });
}

/** SIGKILL to a site's postmaster; the outage's time. */
function kill(lab: Lab, site: string): string {
  const pid = Lab.open(lab.config).site(site).cluster.postmasterPid();
  const at = new Date().toISOString();
  if (pid) process.kill(pid, "SIGKILL");
  return at;
}
