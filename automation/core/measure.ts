// RTO and RPO of a run, from what its steps recorded:
//   RTO achieved = first successful write through the service name − outage (--outage-at;
//                  the declaration when not given): the business was down from the outage
//   RPO achieved = outage time − newest committed transaction present after the restore
// (a drill measures against its restore point instead of an outage). Both are compared with
// the scenario's objectives (config; the runbook's table by default).
import { isPreview, type RunRecord } from "./run-record";

export function measure(record: RunRecord): void {
  // A preview recovered nothing: its times are in the steps, but there is no RTO/RPO to judge.
  if (isPreview(record)) return;
  const f = record.facts as { firstWriteAt?: string; restoredLastCommitAt?: string; rpoReferenceAt?: string };
  const { rto, rpo } = record.measurements;
  if (f.firstWriteAt) {
    rto.achieved = (Date.parse(f.firstWriteAt) - Date.parse(record.outageAt ?? record.declaredAt)) / 1000;
    rto.pass = rto.achieved <= rto.objective;
  }
  if (f.restoredLastCommitAt) {
    const reference = f.rpoReferenceAt ?? record.outageAt;
    rpo.achieved = Math.max(0, (Date.parse(reference) - Date.parse(f.restoredLastCommitAt)) / 1000);
    rpo.pass = rpo.achieved <= rpo.objective;
  }
}
