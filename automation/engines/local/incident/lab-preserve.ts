// PRESERVE on the lab (runbook §5 step 2, "create forensic snapshot"): a copy of the compromised
// site's data directory and logs in the incident directory, with the SHA-256 of every file.
//
// Taken ONLINE, not after a stop: the isolated server keeps running, so its memory and live
// state stay for whoever examines the host next (a stop would end every process an attacker
// left in it). The copy is made between pg_backup_start and pg_backup_stop (non-exclusive, fast
// checkpoint) over the host's console, then pg_wal is copied after the stop:
//   - each file is the bytes read at one moment while the server may have been writing it, so
//     the files on their own are not a consistent database (pages may be torn);
//   - with the backup_label from pg_backup_stop (written into the copy, as pg_basebackup does)
//     and the WAL from the start to the stop LSN (checked to be in the copy), PostgreSQL started
//     on a working copy of it replays to the stop LSN and is consistent there;
//   - files an attacker dropped into the data directory are copied as found (nothing is
//     excluded, unlike pg_basebackup: postmaster.pid, temp files and unlogged tables included);
//     symbolic links are kept as links and listed, except the two PostgreSQL itself follows:
//     pg_wal (initdb -X) and the tablespaces in pg_tblspc, whose content is copied too.
// A site that is not running is copied cold (consistent if it was shut down cleanly; otherwise
// a start replays its WAL, as after a crash). The sums are re-read from disk before returning.
import { existsSync, lstatSync, readdirSync, readlinkSync, renameSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { lsnSegment, segmentName, WAL_SEGMENT_BYTES } from "../../../backups/archive";
import { DrError } from "../../../core/errors";
import type { IncidentContext, PreservationResult } from "../../../incident/types";
import type { Lab } from "../lab";
import { SiteConsole } from "../../../incident/console";
import { checkSums, copyTree, writeEvidence, writeManifests, type CopiedFile, type EvidenceLink, type TreeCopy } from "../../../incident/evidence";

export async function preserveLabSite(lab: Lab, siteName: string, incident: IncidentContext): Promise<PreservationResult> {
  const site = lab.site(siteName);
  const dataDir = lab.layout.dataDir(siteName);
  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    throw new DrError("SITE_UNREACHABLE", `no cluster at ${dataDir} to preserve`, { hint: "preserve what is left of the host by other means and record it (--manual-evidence)" });
  }
  const rel = `evidence/${siteName}`;
  const root = join(incident.dir, rel);
  // An earlier attempt that did not finish is kept aside (it is evidence of the attempt too).
  const aside: string[] = [];
  if (existsSync(root)) {
    const moved = `${root}.incomplete-${Date.now()}`;
    renameSync(root, moved);
    aside.push(moved);
  }
  const startedAt = new Date().toISOString();
  const running = site.cluster.state() === "running";
  const files: CopiedFile[] = [];
  const links: EvidenceLink[] = [];
  const vanished: string[] = [];
  const take = (copy: TreeCopy) => {
    files.push(...copy.files);
    links.push(...copy.links);
    vanished.push(...copy.vanished);
  };
  // The data directory, then the tablespaces its pg_tblspc links point to (they live outside it).
  const copyData = async () => {
    const data = await copyTree(dataDir, join(root, "data"), { base: root, skip: (p) => p === "pg_wal" });
    take(data);
    for (const link of data.links.filter((l) => /^data\/pg_tblspc\/\d+$/.test(l.path))) {
      link.contentAt = `tablespaces/${basename(link.path)}`;
      take(await copyTree(resolve(dataDir, "pg_tblspc", link.target), join(root, link.contentAt), { base: root }));
    }
  };
  // pg_wal, following it if initdb -X made it a link (its content is what a start needs).
  const copyWal = async () => {
    const walDir = join(dataDir, "pg_wal");
    if (lstatSync(walDir).isSymbolicLink()) links.push({ path: "data/pg_wal", target: readlinkSync(walDir), contentAt: "data/pg_wal" });
    take(await copyTree(walDir, join(root, "data", "pg_wal"), { base: root }));
  };
  let backup: PreservationResult["backup"];

  if (running) {
    const c = SiteConsole.open(site.cluster);
    try {
      const start = (await c.query(`select pg_backup_start('fp-dr incident ${incident.id}', true)::text`)).trim();
      const timeline = Number(await c.query("select timeline_id from pg_control_checkpoint()"));
      await copyData();
      const stop = await c.json<{ lsn: string; labelfile: string; spcmapfile: string }>("select row_to_json(s) from (select lsn::text, labelfile, spcmapfile from pg_backup_stop(false)) s");
      // The backup label tells a start on the copy where to begin replaying (added by fp-dr).
      const label = writeEvidence(root, "data/backup_label", stop.labelfile);
      files.push({ ...label, mtime: new Date().toISOString(), mode: "400" });
      if (stop.spcmapfile) {
        const map = writeEvidence(root, "data/tablespace_map", stop.spcmapfile);
        files.push({ ...map, mtime: new Date().toISOString(), mode: "400" });
      }
      await copyWal();
      backup = { startLsn: start, stopLsn: stop.lsn, timeline };
      checkWalRange(join(root, "data", "pg_wal"), backup);
    } finally {
      await c.close();
    }
  } else {
    await copyData();
    await copyWal();
  }

  // Logs: the server's own (connections are logged) and pgBackRest's.
  for (const [from, to] of [
    [lab.layout.runDir(siteName), "logs/server"],
    [join(lab.layout.pgbackrestDir, "log"), "logs/pgbackrest"],
  ] as const) {
    if (!existsSync(from)) continue;
    take(await copyTree(from, join(root, to), { base: root, skip: (p) => p.startsWith(".s.PGSQL") }));
  }

  const finishedAt = new Date().toISOString();
  const method = running
    ? "online copy of the data directory between pg_backup_start and pg_backup_stop (non-exclusive, fast checkpoint) over the host's console, pg_wal copied after the stop; server logs and pgBackRest logs; the server kept running"
    : "cold copy of the data directory of a stopped cluster; server logs and pgBackRest logs";
  const copied = backup
    ? `the files were read while the server ran, so they alone are not consistent; with the backup_label written into the copy and the WAL from ${backup.startLsn} to ${backup.stopLsn} (timeline ${backup.timeline}) included, PostgreSQL 15 started on a working copy (remove postmaster.pid first) replays to ${backup.stopLsn} and is consistent there; the SHA-256 sums are of the bytes as copied`
    : "a stopped cluster: consistent if it was shut down cleanly, otherwise a start on a working copy replays its WAL as after a crash; the SHA-256 sums are of the bytes as copied";
  // The copied links still point at the live tablespaces: a working copy must be repointed first.
  const tablespaces = links.filter((l) => l.contentAt?.startsWith("tablespaces/"));
  const consistency = tablespaces.length
    ? `${copied}; tablespaces ${tablespaces.map((l) => l.path.split("/").pop()).join(", ")} are copied under tablespaces/ while the links in pg_tblspc (and tablespace_map) still name their original places: repoint them to the working copy's tablespaces before starting it`
    : copied;
  const manifests = writeManifests(root, files, links, { site: siteName, incident: incident.id, source: dataDir, startedAt, finishedAt, method, consistency, backup, vanished, setAside: aside });
  // Proof that what is on disk is what was hashed.
  const check = await checkSums(root);
  if (!check.ok) {
    throw new DrError("INTERNAL", `the evidence copy does not match its own sums (${check.mismatched.length} mismatched, ${check.missing.length} missing)`, { hint: `inspect ${root}; the disk under the incident directory may be failing` });
  }
  return {
    site: siteName,
    location: root,
    method,
    consistency,
    startedAt,
    finishedAt,
    files: files.length,
    bytes: files.reduce((n, f) => n + f.bytes, 0),
    manifests: [manifests.sums, manifests.manifest].map((m) => ({ ...m, path: `${rel}/${m.path}` })),
    vanished,
    backup,
  };
}

/** The copy must hold every WAL segment from the backup's start to its stop, or it is not restorable. */
function checkWalRange(walDir: string, backup: NonNullable<PreservationResult["backup"]>): void {
  const present = new Set(readdirSync(walDir));
  const first = lsnSegment(backup.startLsn);
  const [hi, lo] = backup.stopLsn.split("/").map((x) => parseInt(x, 16));
  // A stop exactly on a segment boundary ends in the previous segment.
  const last = lsnSegment(backup.stopLsn) - (lo % WAL_SEGMENT_BYTES === 0 && (hi > 0 || lo > 0) ? 1 : 0);
  const missing: string[] = [];
  for (let n = first; n <= last; n++) {
    const name = segmentName(backup.timeline, n);
    if (!present.has(name)) missing.push(name);
  }
  if (missing.length) {
    throw new DrError("INTERNAL", `the evidence copy lacks WAL ${missing.join(", ")} needed to make it consistent`, { hint: "the server recycled it during the copy; run preserve again (raise wal_keep_size on the site if it repeats)" });
  }
}
