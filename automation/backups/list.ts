// `dr backup list`: every set in every repository, the restorable window per repository,
// whether the newest archived WAL is within the RPO objective, and retention compliance.
import type { DrConfig } from "../config/schema";
import { formatDuration, scenarioNames } from "../config/common";
import { DrError } from "../core/errors";
import type { Pgbackrest } from "../pgbackrest/client";
import type { BackupSet } from "../pgbackrest/info";
import { readCatalog, walGapsFor, type RepoCatalog } from "./catalog";

export interface RepoListing {
  repo: 1 | 2;
  name: "site" | "offsite";
  reachable: boolean;
  error?: { code: string; message: string };
  sets: (BackupSet & { walComplete: boolean })[];
  window?: { oldest: string; newest: string };
  wal: { min?: string; max?: string; segments: number; newestAt?: string; ageSeconds?: number };
  rpo: { objectiveSeconds: number; scenario: string; ageSeconds?: number; ok: boolean };
  retention: {
    fullKept: number;
    fullRetention: number;
    newestFullAgeSeconds?: number;
    fullAgeLimitSeconds: number;
    compliant: boolean;
    problems: string[];
  };
}

export interface BackupListing {
  checkedAt: string;
  repos: RepoListing[];
}

/** The strictest RPO of all scenarios: archived WAL older than this breaks some objective. */
export function strictestRpo(config: DrConfig): { scenario: string; seconds: number } {
  return scenarioNames
    .map((n) => ({ scenario: n, seconds: config.objectives[n].rpo }))
    .reduce((a, b) => (b.seconds < a.seconds ? b : a));
}

export async function listBackups(
  pgb: Pgbackrest,
  config: DrConfig,
  opts: { repos?: (1 | 2)[]; now?: Date; /** Fails fast when a repository's store is down. */ probe?: (repo: 1 | 2) => Promise<void> } = {},
): Promise<BackupListing> {
  const now = opts.now ?? new Date();
  const repos: RepoListing[] = [];
  for (const repo of opts.repos ?? [1, 2]) {
    try {
      await opts.probe?.(repo);
      repos.push(describe(await readCatalog(pgb, repo), config, now));
    } catch (e) {
      const err = e instanceof DrError ? e : undefined;
      repos.push(unreachable(repo, config, { code: err?.code ?? "INTERNAL", message: (e as Error).message }));
    }
  }
  return { checkedAt: now.toISOString(), repos };
}

function describe(cat: RepoCatalog, config: DrConfig, now: Date): RepoListing {
  const retentionCfg = cat.repo === 1 ? config.repositories.local.retention : config.repositories.offsite.retention;
  const rpo = strictestRpo(config);
  const ageSeconds = cat.newestWalAt ? Math.max(0, (now.getTime() - cat.newestWalAt.getTime()) / 1000) : undefined;
  const fulls = cat.sets.filter((s) => s.type === "full" && !s.error);
  const newestFull = fulls[fulls.length - 1];
  const newestFullAgeSeconds = newestFull ? (now.getTime() - newestFull.stoppedAt.getTime()) / 1000 : undefined;
  const problems: string[] = [];
  if (fulls.length === 0) problems.push("no full backup");
  if (fulls.length > retentionCfg.full + 1) problems.push(`${fulls.length} full backups kept, retention is ${retentionCfg.full} (expire is not running)`);
  if (newestFullAgeSeconds !== undefined && newestFullAgeSeconds > config.alerts.fullBackupAge) {
    problems.push(`newest full backup is ${formatDuration(newestFullAgeSeconds)} old (limit ${formatDuration(config.alerts.fullBackupAge)})`);
  }
  const oldest = cat.sets[0];
  if (oldest && (now.getTime() - oldest.stoppedAt.getTime()) / 86400_000 > retentionCfg.days + 1) {
    problems.push(`oldest backup is older than the ${retentionCfg.days}-day retention`);
  }
  const sets = cat.sets.map((s) => ({ ...s, walComplete: walGapsFor(cat, s).length === 0 }));
  if (sets.some((s) => !s.walComplete)) problems.push("WAL gaps: some sets cannot reach the end of the archive");
  return {
    repo: cat.repo,
    name: cat.repo === 1 ? "site" : "offsite",
    reachable: true,
    sets,
    window: cat.window ? { oldest: cat.window.oldest.toISOString(), newest: cat.window.newest.toISOString() } : undefined,
    wal: { min: cat.walMin, max: cat.walMax, segments: cat.segments.length, newestAt: cat.newestWalAt?.toISOString(), ageSeconds },
    rpo: { objectiveSeconds: rpo.seconds, scenario: rpo.scenario, ageSeconds, ok: ageSeconds !== undefined && ageSeconds <= rpo.seconds },
    retention: {
      fullKept: fulls.length,
      fullRetention: retentionCfg.full,
      newestFullAgeSeconds,
      fullAgeLimitSeconds: config.alerts.fullBackupAge,
      compliant: problems.length === 0,
      problems,
    },
  };
}

function unreachable(repo: 1 | 2, config: DrConfig, error: { code: string; message: string }): RepoListing {
  const rpo = strictestRpo(config);
  const retentionCfg = repo === 1 ? config.repositories.local.retention : config.repositories.offsite.retention;
  return {
    repo,
    name: repo === 1 ? "site" : "offsite",
    reachable: false,
    error,
    sets: [],
    wal: { segments: 0 },
    rpo: { objectiveSeconds: rpo.seconds, scenario: rpo.scenario, ok: false },
    retention: { fullKept: 0, fullRetention: retentionCfg.full, fullAgeLimitSeconds: config.alerts.fullBackupAge, compliant: false, problems: ["repository unreachable"] },
  };
}
