// Reports beside the journal in the shared store (`runs/<environment>/<run-id>/report.*`), so
// that a run finished on one operator's machine is listed and shown on another's. They are
// still written locally first; the shared copy is best effort (a store that does not answer is
// said, never fatal: the run is over by then).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { sharedRunKey } from "../core/journal";
import type { SharedStore } from "../core/shared-store";
import type { ReportPaths } from "./store";

const FILES = ["report.json", "report.md", "report.html"] as const;

export async function shareReports(store: SharedStore, environment: string, runId: string, paths: ReportPaths): Promise<void> {
  for (const path of [paths.json, paths.markdown, paths.html]) {
    await store.put(sharedRunKey(environment, runId, basename(path)), readFileSync(path, "utf8"));
  }
}

/** Copies into `dir` the reports of runs that only the shared store has (other machines' runs). */
export async function pullSharedReports(store: SharedStore, environment: string, dir: string): Promise<string[]> {
  const pulled: string[] = [];
  const keys = await store.list(`runs/${environment}/`);
  for (const key of keys.filter((k) => k.endsWith("/report.json"))) {
    const runId = basename(dirname(key));
    if (existsSync(join(dir, runId, "report.json"))) continue;
    mkdirSync(join(dir, runId), { recursive: true });
    for (const f of FILES) {
      const doc = await store.get(sharedRunKey(environment, runId, f));
      if (doc) writeFileSync(join(dir, runId, f), doc.body);
    }
    pulled.push(runId);
  }
  return pulled;
}
