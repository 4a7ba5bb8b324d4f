// What an apply writes back, read again from the restored copy (it does not change; the journal
// holds no row contents): the missing rows of the table, the changed ones to revert (matched to
// production's hashes by key) and, when asked, the dependants' missing rows.
import type { BothSides } from "./both-sides";
import type { ApplyTable } from "./apply";
import { beginSnapshot, fetchRows } from "./diff";
import type { KeysFile } from "./keys-file";
import type { DeletionRequest } from "./request";

export async function writeBackPlan(sides: BothSides, req: DeletionRequest, keys: KeysFile): Promise<ApplyTable[]> {
  const { copy, prodTables, columnsOf } = sides;
  await beginSnapshot(copy);
  const out: ApplyTable[] = [];
  const table = await prodTables.info(req.table);
  const columns = await columnsOf(req.table);
  const step: ApplyTable = { table, columns, insert: (await fetchRows(copy, table, columns, keys.table.missing)).rows };
  if (req.revertChanged && keys.table.changed.length) {
    const changed = await fetchRows(copy, table, columns, keys.table.changed.map((x) => x.key));
    // fetchRows returns rows in no particular order: match hashes by key.
    const hashOf = new Map(keys.table.changed.map((x) => [x.key, x.productionHash]));
    step.revert = { rows: changed.rows, keys: changed.keys, hashes: changed.keys.map((k) => hashOf.get(k)!) };
  }
  out.push(step);
  if (req.includeDependents) {
    for (const [name, k] of Object.entries(keys.dependents)) {
      if (k.length === 0) continue;
      const t = await prodTables.info(name);
      const cols = await columnsOf(name);
      out.push({ table: t, columns: cols, insert: (await fetchRows(copy, t, cols, k)).rows });
    }
  }
  await copy.query("commit");
  return out;
}
