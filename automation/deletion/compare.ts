// The diff of a table recovery: the restored copy against production by primary key, in one
// snapshot on each side (key buckets first, rows only where they differ), the dependants
// missing through foreign keys, and what an apply would find blocked by missing parents.
import { DrError } from "../core/errors";
import type { BothSides } from "./both-sides";
import { beginSnapshot, blockedRows, diffByKey, fetchRows, missingDependents, type BlockedRows, type DependentRows, type KeyDiff } from "./diff";
import type { DeletionDiff, DeletionRequest } from "./request";
import { commonColumns, dependentTables, foreignKeys, showKey, type ForeignKey } from "./table";

const SAMPLE = 10;

export async function compareWithProduction(sides: BothSides, req: DeletionRequest) {
  const { copy, production, copyTables, prodTables, columnsOf } = sides;
  const inCopy = await copyTables.info(req.table);
  const common = commonColumns(inCopy, await prodTables.info(req.table));
  const pkMissing = inCopy.pk.filter((k) => !common.columns.includes(k));
  if (pkMissing.length) throw new DrError("USAGE", `the primary key of ${req.table} differs between the copy and production (${pkMissing.join(", ")})`, { hint: "the table was migrated since the deletion: recover it by hand from a `dr restore --scratch` copy" });
  await beginSnapshot(copy);
  await beginSnapshot(production);
  const diff: KeyDiff = await diffByKey(copy, production, inCopy, common.columns);
  const fks: ForeignKey[] = await foreignKeys(production);
  const order = dependentTables(fks, inCopy.display);
  const missingRows = (await fetchRows(copy, inCopy, common.columns, diff.missing)).rows;
  const dependents = await missingDependents(copy, production, fks, order, copyTables.info, columnsOf, { table: inCopy.display, rows: missingRows });
  // What an apply would write, checked now for parents that would be missing.
  const writing = new Map<string, string[]>([[inCopy.display, req.revertChanged ? [...missingRows, ...(await fetchRows(copy, inCopy, common.columns, diff.changed.map((x) => x.key))).rows] : missingRows]]);
  if (req.includeDependents) for (const d of dependents) writing.set(d.table, d.rows);
  const blocked = await blockedRows(production, fks, writing, prodTables.info);
  await copy.query("commit");
  await production.query("commit");
  return { diff, dependents, blocked, common };
}

/** The diff as it is journaled and reported: counts and a sample of keys, never row contents. */
export function reportedDiff(diff: KeyDiff, columns: string[], notCompared: string[], dependents: DependentRows[], blocked: BlockedRows[]): DeletionDiff {
  return {
    table: diff.table,
    columns,
    columnsNotCompared: notCompared,
    copyRows: diff.copyRows,
    productionRows: diff.productionRows,
    missing: diff.missing.length,
    changed: diff.changed.length,
    added: diff.added.length,
    sample: { missing: diff.missing.slice(0, SAMPLE).map(showKey), changed: diff.changed.slice(0, SAMPLE).map((x) => showKey(x.key)), added: diff.added.slice(0, SAMPLE).map(showKey) },
    buckets: diff.buckets,
    dependents: dependents.map((d) => ({ table: d.table, via: d.via, missing: d.keys.length, sample: d.keys.slice(0, SAMPLE).map(showKey) })),
    blocked,
    readyAt: new Date().toISOString(),
  };
}
