// Who ran a run, where and with what: the operator (user@host), this tool's version and git
// commit, and the PostgreSQL and pgBackRest binaries on the machine that ran it. A report read a
// year later must say which code and which tools produced it. Every probe is bounded and
// optional: a missing tool leaves its field out, it never stops a run.
import { spawnSync } from "node:child_process";
import { hostname, userInfo } from "node:os";
import type { Provenance } from "../core/run-record";
import { pgBin } from "./exec";
import { packageRoot, packageVersion } from "./package-root";

function firstLine(cmd: string, args: string[], cwd?: string): string | undefined {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout: 3000, stdio: ["ignore", "pipe", "ignore"] });
  return r.status === 0 ? r.stdout.trim().split("\n")[0] || undefined : undefined;
}

let cached: Provenance | undefined;

export function provenance(): Provenance {
  if (cached) return cached;
  const head = firstLine("git", ["rev-parse", "--short=12", "HEAD"], packageRoot);
  const dirty = head && firstLine("git", ["status", "--porcelain", "--untracked-files=no"], packageRoot);
  cached = {
    operator: `${userInfo().username}@${hostname()}`,
    toolVersion: packageVersion(),
    commit: head ? `${head}${dirty ? "-dirty" : ""}` : undefined,
    // "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)" → "15.14 (Debian 15.14-0+deb12u1)"
    postgres: firstLine(pgBin("postgres"), ["--version"])?.replace(/^postgres \(PostgreSQL\) /, ""),
    pgbackrest: firstLine("pgbackrest", ["version"])?.replace(/^pgBackRest /, ""),
  };
  return cached;
}
