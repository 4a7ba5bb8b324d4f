// The gate after rows were written back (runbook §6, "verify data integrity"): every row written
// back is in production exactly as in the copy, every row written since the deletion is still
// there, no foreign key has orphans, and no invariant that held before the apply is broken by it.
import type { ClientBase } from "pg";
import type { Invariant } from "../config/common";
import type { CheckResult } from "../verify/check-result";
import { foreignKeyOrphans, invariantChecks } from "../verify/checks";
import type { ApplyResult } from "./apply";
import type { BothSides } from "./both-sides";
import { beginSnapshot, presentKeys, rowHashes } from "./diff";
import type { KeysFile } from "./keys-file";
import type { DeletionRequest } from "./request";
import { showKey } from "./table";

/** What was written back, as the apply recorded it. */
export interface AppliedRecovery {
  request: DeletionRequest;
  keys: KeysFile;
  applied: ApplyResult;
  /** Rows production had when the diff was taken. */
  productionRowsAtDiff: number;
  /** Which invariants held just before the apply. */
  invariantsBefore?: Record<string, boolean>;
}

/** The invariants' results on a connection, and which held. */
export async function invariantState(c: ClientBase, invariants: Invariant[]): Promise<{ results: CheckResult[]; held: Record<string, boolean> }> {
  const results = await invariantChecks(c, invariants);
  return { results, held: Object.fromEntries(results.map((r) => [r.name, r.ok])) };
}

export async function checkApplied(sides: BothSides, rec: AppliedRecovery, invariants: Invariant[]): Promise<CheckResult[]> {
  const { request: req, keys } = rec;
  const checks: CheckResult[] = [];
  const timed = async (name: string, kind: CheckResult["kind"], fn: () => Promise<{ ok: boolean; detail: string }>) => {
    const t = Date.now();
    const r = await fn().catch((e: unknown) => ({ ok: false, detail: `check failed to run: ${(e as Error).message.split("\n")[0]}` }));
    checks.push({ name, kind, ...r, durationMs: Date.now() - t });
  };
  const { copy, production, copyTables, prodTables, columnsOf } = sides;
  await beginSnapshot(copy);
  await beginSnapshot(production);
  const written: [string, string[]][] = [[req.table, [...keys.table.missing, ...(req.revertChanged ? keys.table.changed.map((x) => x.key) : [])]]];
  if (req.includeDependents) written.push(...Object.entries(keys.dependents));
  for (const [name, k] of written) {
    if (k.length === 0) continue;
    const columns = await columnsOf(name);
    await timed(`the ${k.length} recovered rows of ${name} are in production as they were before the deletion`, "content", async () => {
      const [a, b] = [await rowHashes(copy, await copyTables.info(name), columns, k), await rowHashes(production, await prodTables.info(name), columns, k)];
      const absent = k.filter((x) => !b.has(x));
      const differ = k.filter((x) => b.has(x) && b.get(x) !== a.get(x));
      const outcome = rec.applied.tables.find((t) => t.table === name);
      const leftAlone = (outcome?.changedSince ?? 0) + (outcome?.alreadyBack ?? 0);
      const ok = absent.length === 0 && differ.length <= leftAlone;
      return { ok, detail: ok ? `${k.length - differ.length} identical${differ.length ? `, ${differ.length} changed by others since the diff (left alone)` : ""}` : `${absent.length} absent${absent.length ? ` (e.g. ${absent.slice(0, 5).map(showKey).join(", ")})` : ""}, ${differ.length} different` };
    });
  }
  const table = await prodTables.info(req.table);
  await timed(`the ${keys.table.added.length} rows of ${req.table} written since the deletion are kept`, "content", async () => {
    const present = await presentKeys(production, table, keys.table.added);
    const gone = keys.table.added.filter((k) => !present.has(k));
    const rows = Number((await production.query<{ n: string }>(`select count(*) as n from ${table.sql}`)).rows[0].n);
    const mine = rec.applied.tables[0];
    return {
      ok: gone.length === 0,
      detail: `${present.size} of ${keys.table.added.length} present${gone.length ? ` (gone: ${gone.slice(0, 5).map(showKey).join(", ")} — deleted by the application since?)` : ""}; ${req.table} has ${rows} rows (${rec.productionRowsAtDiff} at the diff + ${mine.inserted} written back)`,
    };
  });
  await production.query("commit");
  await copy.query("commit");
  const schemas = [...new Set(written.map(([t]) => t.split(".")[0]))];
  checks.push(await foreignKeyOrphans(production, schemas));
  const after = await invariantState(production, invariants);
  for (const r of after.results) {
    const before = rec.invariantsBefore?.[r.name];
    if (r.ok) checks.push({ ...r, detail: before === false ? `${r.detail}; did not hold before the apply: fixed by it` : r.detail });
    else if (before === false) checks.push({ ...r, ok: true, detail: `${r.detail}; did not hold before the apply either (not caused by it)` });
    else checks.push({ ...r, detail: `${r.detail}; held before the apply: broken by it` });
  }
  return checks;
}
