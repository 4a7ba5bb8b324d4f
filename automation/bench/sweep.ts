// `dr bench --scales 1,20,80`: the whole benchmark once per scale, each in a lab of its own
// (built, measured, removed before the next), so that the sweep shows what grows with the
// database and what does not (run-table.ts prints it per step and per GB).
import type { Deps } from "../commands/deps";
import { runBench, type BenchOptions } from "./run";
import type { BenchSweep } from "./types";

export async function runSweep(deps: Deps, scales: readonly number[], opts: Omit<BenchOptions, "scale" | "scales"> = {}): Promise<BenchSweep> {
  const results = [];
  for (const [i, scale] of scales.entries()) {
    deps.out.info(`sweep ${i + 1}/${scales.length}: scale ${scale}`);
    results.push(await runBench(deps, { ...opts, scale }));
  }
  return { scales: results };
}
