// Naming the files of a STOPPED data directory without starting it: pg_checksums reports
// files (base/16384/16391), people need relations (app.ledger_entries). The copy's own catalog
// says which is which, so it is read straight from its files: the relation mapper files
// (pg_filenode.map) give the file of pg_class and pg_database, and the heap pages of pg_class,
// pg_namespace, pg_index and pg_database give every relation's file, name, kind and owner.
// The copy's own catalog is exact for that copy, where a running sibling's may have diverged
// (a rewrite since the copies split gives a relation a new file).
//
// Best effort by design: tuple visibility cannot be decided without the commit log, so of
// several versions of a catalog row the one that looks live (xmax unset) wins; a damaged
// catalog page yields fewer names, never an exception. Only the fixed-width leading columns
// are read, whose offsets PostgreSQL 15's catalog headers fix (pg_class.h, pg_index.h …).
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { quoteIdent } from "../postgres/client";
import type { RelationFile } from "./messages";
import type { RelationKind } from "./report";

const PAGE = 8192;
const RELMAPPER_MAGIC = 0x592717;
const PG_CLASS = 1259;
const PG_NAMESPACE = 2615;
const PG_INDEX = 2610;
const PG_DATABASE = 1262;

// t_infomask bits (htup_details.h)
const XMIN_COMMITTED = 0x0100;
const XMIN_INVALID = 0x0200;
const XMAX_COMMITTED = 0x0400;
const XMAX_INVALID = 0x0800;
const XMAX_LOCK_ONLY = 0x0080;

export interface OfflineRelation {
  database?: string;
  /** schema.name, quoted where SQL would need it. */
  name: string;
  kind: RelationKind;
  catalog: boolean;
  /** The table an index or TOAST table belongs to. */
  table?: string;
}

interface Tuple {
  data: Buffer;
  xmin: number;
  /** 2 looks live (no deleter), 1 unknown, 0 looks dead. */
  liveness: number;
}

/** The `%I.%I` of format(): quoted only where needed. */
export function qualify(schema: string, name: string): string {
  const q = (s: string) => (/^[a-z_][a-z0-9_$]*$/.test(s) ? s : quoteIdent(s));
  return `${q(schema)}.${q(name)}`;
}

function cString(buf: Buffer, offset: number, length: number): string {
  const raw = buf.subarray(offset, offset + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end < 0 ? raw.length : end).toString("utf8");
}

/** Every normal tuple of a heap file (all segments), with a guess at whether it is live. */
function heapTuples(path: string): Tuple[] {
  const out: Tuple[] = [];
  for (let seg = 0; ; seg++) {
    const file = seg === 0 ? path : `${path}.${seg}`;
    if (!existsSync(file)) break;
    const buf = readFileSync(file);
    for (let p = 0; p + PAGE <= buf.length; p += PAGE) {
      const page = buf.subarray(p, p + PAGE);
      const lower = page.readUInt16LE(12);
      const upper = page.readUInt16LE(14);
      if (lower < 24 || lower > PAGE || upper > PAGE || lower > upper) continue;
      for (let i = 0; i < (lower - 24) / 4; i++) {
        const id = page.readUInt32LE(24 + 4 * i);
        const off = id & 0x7fff;
        const flags = (id >>> 15) & 3;
        const len = id >>> 17;
        if (flags !== 1 || len < 24 || off + len > PAGE) continue;
        const t = page.subarray(off, off + len);
        const xmax = t.readUInt32LE(4);
        const mask = t.readUInt16LE(20);
        const hoff = t[22];
        if (hoff < 23 || hoff >= len) continue;
        const xminDead = (mask & XMIN_INVALID) !== 0 && (mask & XMIN_COMMITTED) === 0;
        const deleted = xmax !== 0 && (mask & XMAX_INVALID) === 0 && (mask & XMAX_LOCK_ONLY) === 0;
        const liveness = xminDead || (deleted && (mask & XMAX_COMMITTED) !== 0) ? 0 : deleted ? 1 : 2;
        out.push({ data: t.subarray(hoff), xmin: t.readUInt32LE(0), liveness });
      }
    }
  }
  return out;
}

/** Of several versions of one row (keyed), the one that looks live, then the newest. */
function newestVersions<T>(tuples: Tuple[], minLength: number, key: (d: Buffer) => number, decode: (d: Buffer) => T): Map<number, T> {
  const best = new Map<number, { t: Tuple; v: T }>();
  for (const t of tuples) {
    if (t.data.length < minLength) continue;
    const k = key(t.data);
    const seen = best.get(k);
    if (!seen || t.liveness > seen.t.liveness || (t.liveness === seen.t.liveness && t.xmin > seen.t.xmin)) best.set(k, { t, v: decode(t.data) });
  }
  return new Map([...best].map(([k, { v }]) => [k, v]));
}

/** oid → file number of the mapped catalogs (pg_class, pg_database …) in one map file. */
export function readRelationMap(path: string): Map<number, number> {
  const map = new Map<number, number>();
  if (!existsSync(path)) return map;
  const buf = readFileSync(path);
  if (buf.length < 8 || buf.readInt32LE(0) !== RELMAPPER_MAGIC) return map;
  const n = Math.min(buf.readInt32LE(4), 64);
  for (let i = 0; i < n; i++) map.set(buf.readUInt32LE(8 + 8 * i), buf.readUInt32LE(12 + 8 * i));
  return map;
}

const kinds: Record<string, RelationKind | undefined> = { r: "table", t: "toast", m: "matview", i: "index", S: "sequence" };

interface ClassRow {
  oid: number;
  name: string;
  namespace: number;
  filenode: number;
  toast: number;
  relkind: string;
}

export class OfflineCatalog {
  constructor(private readonly byFile: Map<string, OfflineRelation>) {}

  /** The relation a data file belongs to, when the copy's catalog names it. */
  lookup(file: RelationFile): OfflineRelation | undefined {
    return this.byFile.get(`${file.database}:${file.filenode}`);
  }

  /** Relations with storage the catalog names, by what they hold. */
  counts(): { tables: number; indexes: number; sequences: number } {
    const all = [...this.byFile.values()];
    return { tables: all.filter((r) => r.kind === "table" || r.kind === "toast" || r.kind === "matview").length, indexes: all.filter((r) => r.kind === "index").length, sequences: all.filter((r) => r.kind === "sequence").length };
  }

  /** Databases whose catalog could be read. */
  databases(): string[] {
    return [...new Set([...this.byFile.values()].map((r) => r.database).filter((d): d is string => d !== undefined))].sort();
  }
}

/** Reads the stopped copy's catalog; databases or catalogs it cannot read are left out. */
export function readOfflineCatalog(dataDir: string): OfflineCatalog {
  const byFile = new Map<string, OfflineRelation>();
  const sharedMap = readRelationMap(join(dataDir, "global", "pg_filenode.map"));
  const dbNames = new Map<number, string>();
  const pgDatabase = sharedMap.get(PG_DATABASE);
  if (pgDatabase) {
    const rows = newestVersions(heapTuples(join(dataDir, "global", String(pgDatabase))), 68, (d) => d.readUInt32LE(0), (d) => cString(d, 4, 64));
    for (const [oid, name] of rows) dbNames.set(oid, name);
  }
  const baseDir = join(dataDir, "base");
  for (const entry of existsSync(baseDir) ? readdirSync(baseDir) : []) {
    if (!/^\d+$/.test(entry)) continue;
    const dbOid = Number(entry);
    const dir = join(baseDir, entry);
    const localMap = readRelationMap(join(dir, "pg_filenode.map"));
    const classFile = localMap.get(PG_CLASS);
    if (!classFile) continue;
    const classes = newestVersions(
      heapTuples(join(dir, String(classFile))),
      116,
      (d) => d.readUInt32LE(0),
      (d): ClassRow => ({ oid: d.readUInt32LE(0), name: cString(d, 4, 64), namespace: d.readUInt32LE(68), filenode: d.readUInt32LE(88), toast: d.readUInt32LE(108), relkind: String.fromCharCode(d[115]) }),
    );
    const fileOf = (oid: number) => classes.get(oid)?.filenode || localMap.get(oid);
    const nsFile = fileOf(PG_NAMESPACE);
    const namespaces = nsFile ? newestVersions(heapTuples(join(dir, String(nsFile))), 68, (d) => d.readUInt32LE(0), (d) => cString(d, 4, 64)) : new Map<number, string>();
    const idxFile = fileOf(PG_INDEX);
    const indexOwner = idxFile ? newestVersions(heapTuples(join(dir, String(idxFile))), 8, (d) => d.readUInt32LE(0), (d) => d.readUInt32LE(4)) : new Map<number, number>();
    const toastOwner = new Map<number, number>();
    for (const c of classes.values()) if (c.toast) toastOwner.set(c.toast, c.oid);
    const nameOf = (oid: number) => {
      const c = classes.get(oid);
      return c ? qualify(namespaces.get(c.namespace) ?? `namespace ${c.namespace}`, c.name) : undefined;
    };
    const isCatalog = (oid: number | undefined) => oid !== undefined && namespaces.get(classes.get(oid)?.namespace ?? -1) === "pg_catalog";
    for (const c of classes.values()) {
      const kind = kinds[c.relkind];
      if (!kind) continue;
      const owner = kind === "index" ? indexOwner.get(c.oid) : kind === "toast" ? toastOwner.get(c.oid) : undefined;
      const rel: OfflineRelation = {
        database: dbNames.get(dbOid),
        name: nameOf(c.oid)!,
        kind,
        catalog: isCatalog(c.oid) || isCatalog(owner),
        table: owner ? nameOf(owner) : undefined,
      };
      // Mapped catalogs have file number 0 in pg_class: the map files know theirs.
      if (c.filenode) byFile.set(`${dbOid}:${c.filenode}`, rel);
      else if (localMap.has(c.oid)) byFile.set(`${dbOid}:${localMap.get(c.oid)}`, rel);
      else if (sharedMap.has(c.oid)) byFile.set(`0:${sharedMap.get(c.oid)}`, { ...rel, database: undefined });
    }
  }
  return new OfflineCatalog(byFile);
}
