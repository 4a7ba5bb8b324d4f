// `dr host apply`: a site's host brought to the configuration it is rendered from, without a
// reboot. Recipe:
//   1. render every managed file and compare it with the disk (a dry run stops here);
//   2. write only the files that differ (atomically, owner and mode first);
//   3. systemd units changed: daemon-reload; a new timer enabled and started, a changed one restarted;
//   4. a PostgreSQL file changed and the server runs: reload, and wait until the server has
//      read its files again (pg_conf_load_time moves, bounded); a file it rejects
//      (pg_file_settings, pg_hba_file_rules) is put back as it was and reloaded again;
//   5. ask the server which settings wait for a restart (pg_settings.pending_restart): restart
//      then, unless told not to, and report them either way.
import { rmSync } from "node:fs";
import { DrError } from "../core/errors";
import { inspectFile, snapshotFile, writeFileAtomic, type FileChange, type ManagedFile } from "./managed-file";
import { pollUntil } from "../core/poll";

/** The site's PostgreSQL server, as the host apply needs it. */
export interface HostServer {
  /** Whether it runs: a stopped server reads its files at its next start, so it is not reloaded. */
  running(): boolean;
  /** One SQL statement over the local socket as the cluster's owner; psql's unaligned output. */
  query(sql: string): Promise<string>;
  restart(): Promise<void>;
}

/** Where the files go and what acts on them. */
export interface HostTarget {
  site: string;
  /** Every file fp-dr manages on this host, rendered from the configuration. */
  files(): Promise<ManagedFile[]>;
  server: HostServer;
  /** systemctl (the AWS hosts); undefined where no unit is managed (the lab). */
  systemctl?: (args: string[]) => Promise<void>;
}

export interface HostApplyOptions {
  dryRun?: boolean;
  /** Restart when a changed setting needs it. Default true. */
  restart?: boolean;
  /** Longest wait for the server to read its files after a reload. Default 10 s. */
  reloadTimeoutMs?: number;
}

export interface HostApplyResult {
  site: string;
  dryRun: boolean;
  files: FileChange[];
  postgres: {
    /** reload: files changed and the server runs; not-running: they apply at its next start. */
    action: "none" | "reload" | "not-running";
    reloaded: boolean;
    /** Settings that take effect only after a restart (pg_settings.pending_restart). */
    pendingRestart: string[];
    restarted: boolean;
  };
  systemd: { daemonReload: boolean; started: string[]; restarted: string[] };
}

/** Timers to start (new) and to restart (changed) once systemd has read the units again. */
function timerActions(changes: FileChange[]): { started: string[]; restarted: string[] } {
  const timers = changes.filter((c) => c.effect === "systemd" && c.path.endsWith(".timer"));
  const name = (c: FileChange) => c.path.split("/").pop()!;
  return { started: timers.filter((c) => c.status === "created").map(name), restarted: timers.filter((c) => c.status === "changed").map(name) };
}

export async function applyHostConfig(target: HostTarget, opts: HostApplyOptions = {}): Promise<HostApplyResult> {
  // 1. Render and compare.
  const files = await target.files();
  const changes = files.map(inspectFile);
  const differs = (c: FileChange) => c.status !== "unchanged";
  const pgChanged = changes.some((c) => differs(c) && c.effect === "postgres");
  const unitsChanged = changes.some((c) => differs(c) && c.effect === "systemd");
  const running = target.server.running();
  const result: HostApplyResult = {
    site: target.site,
    dryRun: opts.dryRun === true,
    files: changes,
    postgres: { action: !pgChanged ? "none" : running ? "reload" : "not-running", reloaded: false, pendingRestart: [], restarted: false },
    systemd: { daemonReload: unitsChanged, ...timerActions(unitsChanged ? changes : []) },
  };
  if (unitsChanged && !target.systemctl) {
    throw new DrError("DEPENDENCY_MISSING", `systemd units of ${target.site} changed and no systemctl is available to load them`, { hint: "run dr host apply on the site's host" });
  }
  if (opts.dryRun) return result;

  // 2. Only what differs is written; the files as they were are kept to put back.
  const before = new Map<string, ManagedFile | undefined>();
  for (const [i, f] of files.entries()) {
    if (!differs(changes[i])) continue;
    before.set(f.path, snapshotFile(f));
    writeFileAtomic(f);
  }

  // 3. systemd reads its units again; new timers start, changed ones take their new schedule.
  if (unitsChanged && target.systemctl) {
    await target.systemctl(["daemon-reload"]);
    if (result.systemd.started.length) await target.systemctl(["enable", "--now", ...result.systemd.started]);
    if (result.systemd.restarted.length) await target.systemctl(["restart", ...result.systemd.restarted]);
  }

  // 4. Reload, and wait until the server has read its files (not just been signalled).
  if (result.postgres.action === "reload") {
    await reloadAndWait(target.server, opts.reloadTimeoutMs ?? 10_000);
    const rejected = await rejectedLines(target.server);
    if (rejected.length) {
      for (const f of files) {
        if (!before.has(f.path) || f.effect !== "postgres") continue;
        const old = before.get(f.path);
        if (old) writeFileAtomic(old);
        else rmSync(f.path, { force: true });
      }
      await reloadAndWait(target.server, opts.reloadTimeoutMs ?? 10_000);
      throw new DrError("HOST_CONFIG_REJECTED", `the server of ${target.site} rejected its new configuration (${rejected.slice(0, 3).join("; ")}); the previous files are back in place and reloaded`, {
        hint: "fix the setting in the configuration (serverSettings) and run dr host apply again",
      });
    }
    result.postgres.reloaded = true;
  }

  // 5. Settings that wait for a restart.
  if (running) {
    result.postgres.pendingRestart = lines(await target.server.query("select name from pg_settings where pending_restart order by name"));
    if (result.postgres.pendingRestart.length && opts.restart !== false) {
      await target.server.restart();
      result.postgres.restarted = true;
    }
  }
  return result;
}

const lines = (out: string) => out.split("\n").map((l) => l.trim()).filter((l) => l !== "");

/** pg_reload_conf(), then poll pg_conf_load_time() (each in a new session) until it moves. */
async function reloadAndWait(server: HostServer, timeoutMs: number): Promise<void> {
  const loaded = "select pg_conf_load_time()";
  const before = (await server.query(loaded)).trim();
  await server.query("select pg_reload_conf()");
  await pollUntil(async () => (await server.query(loaded)).trim() !== before || undefined, {
    what: "the server to read its configuration files",
    timeoutMs,
    intervalMs: (n) => Math.min(20 * 2 ** n, 500),
    onTimeout: () => new DrError("TIMEOUT", `the server did not read its configuration files within ${Math.round(timeoutMs / 1000)} s of a reload`, { hint: "read the server log; the files are written, a restart applies them" }),
  });
}

/** Lines of the server's configuration files it could not apply ("file:line: error"). */
async function rejectedLines(server: HostServer): Promise<string[]> {
  // A value the server refuses and one that needs a restart both read "setting could not be
  // applied" there; only the second is pending in pg_settings.
  const settings = await server.query(
    "select coalesce(f.sourcefile, '?') || ':' || coalesce(f.sourceline::text, '?') || ': ' || f.name || ': ' || f.error from pg_file_settings f left join pg_settings s on s.name = f.name where f.error is not null and not coalesce(s.pending_restart, false)",
  );
  const hba = await server.query("select 'pg_hba.conf:' || line_number || ': ' || error from pg_hba_file_rules where error is not null");
  return [...lines(settings), ...lines(hba)];
}
