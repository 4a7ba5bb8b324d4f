// Both sides of a table recovery, open together: the restored copy and production, each with
// its table info read once per table, and the columns both have with the same type (the ones
// compared and written).
import type { ClientBase, ClientConfig } from "pg";
import { withClient } from "../postgres/client";
import { commonColumns, describeTable, type TableInfo } from "./table";

/** Table info and writable columns per table, for both sides, read once. */
export class Tables {
  private readonly cache = new Map<string, Promise<TableInfo>>();
  constructor(
    private readonly c: ClientBase,
    private readonly where: string,
  ) {}
  info = (t: string): Promise<TableInfo> => {
    if (!this.cache.has(t)) this.cache.set(t, describeTable(this.c, t, this.where));
    return this.cache.get(t)!;
  };
}

/** Both sides of the comparison, connected, with their table info read once per table. */
export interface BothSides {
  copy: ClientBase;
  production: ClientBase;
  copyTables: Tables;
  prodTables: Tables;
  /** Columns both sides have with the same type: the ones compared and written. */
  columnsOf: (table: string) => Promise<string[]>;
  /** Where the two sides were reached. */
  ep: { production: ClientConfig; copy: ClientConfig };
}

/** Runs `fn` with a client on the restored copy and one on production (both closed afterwards). */
export async function openBothSides<T>(ep: { production: ClientConfig; copy: ClientConfig }, productionSite: string, fn: (sides: BothSides) => Promise<T>): Promise<T> {
  return withClient(ep.copy, (copy) =>
    withClient(ep.production, (production) => {
      const copyTables = new Tables(copy, "the restored copy");
      const prodTables = new Tables(production, `production (${productionSite})`);
      const columnsOf = async (t: string) => commonColumns(await copyTables.info(t), await prodTables.info(t)).columns;
      return fn({ copy, production, copyTables, prodTables, columnsOf, ep });
    }),
  );
}
