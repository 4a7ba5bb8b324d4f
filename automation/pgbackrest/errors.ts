// pgBackRest's own error codes (src/build/error/error.yaml; the process exits with the code)
// mapped to ours, with a hint an operator can act on at 3 a.m.
import type { ErrorCode } from "../core/errors";

interface Mapping {
  code: ErrorCode;
  hint: string;
}

const byPgbackrestCode: Record<number, Mapping> = {
  31: { code: "CONFIG_INVALID", hint: "an option in pgbackrest.conf is not valid; `dr config show` prints what fp-dr wrote" },
  32: { code: "CONFIG_INVALID", hint: "an option in pgbackrest.conf has an invalid value" },
  37: { code: "CONFIG_INVALID", hint: "a required pgBackRest option is missing" },
  38: { code: "CLUSTER_RUNNING", hint: "stop the cluster (or fence the site) before restoring into it" },
  40: { code: "CLUSTER_NOT_EMPTY", hint: "restore into an empty directory, or pass --force to restore with --delta over it" },
  44: { code: "ARCHIVE_FAILED", hint: "the archive belongs to another cluster (system id mismatch); check the stanza and repositories" },
  45: { code: "ARCHIVE_FAILED", hint: "a WAL segment was already archived with different content; investigate before continuing" },
  49: { code: "STORE_UNREACHABLE", hint: "the repository host could not be reached; check the network and the object store" },
  50: { code: "PGBACKREST_LOCKED", hint: "another pgBackRest command holds the lock; wait for it to finish" },
  55: { code: "BACKUP_UNKNOWN", hint: "a file the command needs is missing from the repository; run `dr backup verify`" },
  56: { code: "SITE_UNREACHABLE", hint: "pgBackRest could not connect to PostgreSQL; check that the cluster is running" },
  73: { code: "REPO_UNKNOWN", hint: "the repository path does not exist; was `dr lab up` (stanza-create) run?" },
  75: { code: "BACKUP_UNKNOWN", hint: "the backup set does not exist or cannot reach the target; `dr backup list` shows the sets" },
  82: { code: "ARCHIVE_FAILED", hint: "WAL did not reach the archive in time; check archive_command and the repositories (`dr health`)" },
  87: { code: "ARCHIVE_FAILED", hint: "archiving is disabled (archive_mode) on this cluster" },
  95: { code: "BACKUP_INVALID", hint: "the repository cannot be decrypted: wrong cipher passphrase or tampered files" },
  101: { code: "STORE_UNREACHABLE", hint: "the object store answered with a server error; it may be down or overloaded" },
  103: { code: "STORE_UNREACHABLE", hint: "no repository could be read; check that the object store is up (`dr lab status`)" },
  104: { code: "BACKUP_INVALID", hint: "the command found errors; see the lines above" },
  105: { code: "STORE_UNREACHABLE", hint: "the object store refused the credentials" },
};

/**
 * A crypto error (95) while writing to a repository is the encryption of what was being
 * written, not a repository that cannot be decrypted: a backup that hit one was told "wrong
 * cipher passphrase or tampered files" (seen once, "unable to flush", on a first full backup).
 */
const writing = new Set(["backup", "archive-push", "stanza-create", "stanza-upgrade"]);
const encryptionFailed: Mapping = { code: "BACKUP_FAILED", hint: "pgBackRest's encryption of what it was writing failed; run it again, and if it repeats read the pgBackRest log (the repository itself is not in question)" };

export function mapPgbackrestError(exitCode: number, command: string): Mapping {
  if (exitCode === 95 && writing.has(command)) return encryptionFailed;
  return (
    byPgbackrestCode[exitCode] ?? {
      code: command === "backup" ? "BACKUP_FAILED" : command === "restore" ? "RESTORE_FAILED" : "PGBACKREST_FAILED",
      hint: "see the pgBackRest log in the lab's pgbackrest/log directory",
    }
  );
}

/** The `ERROR: [055]: …` lines pgBackRest prints, without the prefix. */
export function pgbackrestErrorLines(stderr: string): string[] {
  return stderr
    .split("\n")
    .map((l) => /ERROR: \[(\d+)\]: (.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `[${m[1]}] ${m[2]}`);
}
