// `pgbackrest info --output=json`, parsed and checked with zod so that a format change in a
// future pgBackRest is a clear error, not a silent misreading of which backups exist.
import { z } from "zod";

const lsnRange = z.object({ start: z.string(), stop: z.string() }).partial().nullable().optional();

export const backupSetSchema = z
  .object({
    label: z.string(),
    type: z.enum(["full", "diff", "incr"]),
    prior: z.string().nullable().optional(),
    reference: z.array(z.string()).nullable().optional(),
    error: z.boolean().optional(),
    annotation: z.record(z.string(), z.string()).optional(),
    archive: z.object({ start: z.string().nullable().optional(), stop: z.string().nullable().optional() }).nullable().optional(),
    database: z.object({ id: z.number(), "repo-key": z.number() }),
    info: z.object({
      size: z.number(),
      delta: z.number(),
      repository: z.object({ size: z.number().optional(), delta: z.number().optional() }),
    }),
    lsn: lsnRange,
    timestamp: z.object({ start: z.number(), stop: z.number() }),
  })
  .loose();
export type RawBackupSet = z.infer<typeof backupSetSchema>;

export const stanzaInfoSchema = z
  .object({
    name: z.string(),
    cipher: z.string().optional(),
    status: z
      .object({
        code: z.number(),
        message: z.string(),
        lock: z
          .object({
            backup: z.object({ held: z.boolean(), size: z.number().optional(), "size-cplt": z.number().optional() }).loose().optional(),
          })
          .loose()
          .optional(),
      })
      .loose(),
    db: z.array(z.object({ id: z.number(), "repo-key": z.number(), "system-id": z.number(), version: z.string() }).loose()).default([]),
    archive: z
      .array(
        z
          .object({
            database: z.object({ id: z.number(), "repo-key": z.number() }),
            id: z.string(),
            min: z.string().nullable(),
            max: z.string().nullable(),
          })
          .loose(),
      )
      .default([]),
    backup: z.array(backupSetSchema).default([]),
    repo: z
      .array(
        z
          .object({
            key: z.number(),
            cipher: z.string().optional(),
            status: z.object({ code: z.number(), message: z.string() }).loose(),
          })
          .loose(),
      )
      .default([]),
  })
  .loose();
export type StanzaInfo = z.infer<typeof stanzaInfoSchema>;

export const infoSchema = z.array(stanzaInfoSchema);

/** A backup set as the toolkit reports it. */
export interface BackupSet {
  label: string;
  type: "full" | "diff" | "incr";
  repo: number;
  prior?: string;
  startedAt: Date;
  stoppedAt: Date;
  /** Size of the database at backup time (bytes). */
  size: number;
  /** Bytes this set added to the repository (compressed, deduplicated). */
  repoSize?: number;
  walStart?: string;
  walStop?: string;
  lsnStart?: string;
  lsnStop?: string;
  annotations: Record<string, string>;
  error: boolean;
}

export function toBackupSet(raw: RawBackupSet): BackupSet {
  return {
    label: raw.label,
    type: raw.type,
    repo: raw.database["repo-key"],
    prior: raw.prior ?? undefined,
    startedAt: new Date(raw.timestamp.start * 1000),
    stoppedAt: new Date(raw.timestamp.stop * 1000),
    size: raw.info.size,
    repoSize: raw.info.repository.delta,
    walStart: raw.archive?.start ?? undefined,
    walStop: raw.archive?.stop ?? undefined,
    lsnStart: raw.lsn?.start ?? undefined,
    lsnStop: raw.lsn?.stop ?? undefined,
    annotations: raw.annotation ?? {},
    error: raw.error === true,
  };
}

/** Parses the JSON text pgBackRest printed; throws a zod error naming the bad field. */
export function parseInfo(json: string): StanzaInfo[] {
  return infoSchema.parse(JSON.parse(json));
}

/** pgBackRest's repository status "other": its storage could not be read (a dead or hung store, refused credentials). */
const STATUS_UNREADABLE = 99;

/**
 * The repositories pgBackRest could not read at all, with its message (which names the store).
 * Where no probe runs first (a site's own host), this is how health names a store that is down.
 */
export function unreadableRepos(info: StanzaInfo): { repo: 1 | 2; message: string }[] {
  return info.repo.filter((r) => r.status.code === STATUS_UNREADABLE && (r.key === 1 || r.key === 2)).map((r) => ({ repo: r.key as 1 | 2, message: r.status.message }));
}
