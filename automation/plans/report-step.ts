// The last step of every plan: measure RTO/RPO against the objectives and write the report
// (JSON, Markdown, self-contained HTML). It runs after a failure too: a failed run is the one
// whose report matters most.
import type { Step } from "./plan";
import { measure } from "../core/measure";
import { writeReports } from "../report/store";
import { reportsDir } from "../core/state-dirs";
import { facts } from "./facts";
import { formatMs } from "../core/output";

export const reportStep: Step = {
  id: "report",
  name: "measure RTO/RPO and write the report",
  always: true,
  estimateSeconds: 1,
  async run(ctx) {
    measure(ctx.record);
    const paths = writeReports(ctx.record, reportsDir(ctx.config));
    facts(ctx).reports = paths;
    const { rto, rpo } = ctx.record.measurements;
    const fmt = (m: typeof rto) => (m.achieved === undefined ? "not measured" : `${formatMs(m.achieved * 1000)} (${m.pass ? "within" : "OUTSIDE"} ${formatMs(m.objective * 1000)})`);
    return { detail: `RTO ${fmt(rto)}, RPO ${fmt(rpo)}; ${paths.html}` };
  },
};
