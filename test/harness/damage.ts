// Damage on purpose, for the tests that prove it is found: bytes inverted in a file, and a
// backup set tampered with in the offsite store.
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { listStoredObjects } from "../../automation/engines/local/object-store";
import type { Lab } from "../../automation/engines/local/lab";

/** Inverts `length` bytes of `file` at `offset` (inside a page: its checksum no longer matches). */
export function invertBytes(file: string, offset: number, length = 16): void {
  const fd = openSync(file, "r+");
  try {
    const b = Buffer.alloc(length);
    const n = readSync(fd, b, 0, length, offset);
    for (let i = 0; i < n; i++) b[i] ^= 0xff;
    writeSync(fd, b, 0, n, offset);
  } finally {
    closeSync(fd);
  }
}

/** Inverts 16 bytes in the middle of `block` (an 8 KiB page) of `file`: its checksum no longer matches. */
export function invertInPage(file: string, block: number): void {
  invertBytes(file, block * 8192 + 4000);
}

/**
 * Flips bytes in the largest stored file of a backup set in the lab's S3 store; returns its path.
 * Only files stored on their own (under pg_data/) are candidates, so the path names the file
 * pgBackRest's verify reports: with repoN-bundle=y, files over the 2 MiB bundle limit (and
 * backup_label) stay objects of their own, the small ones are inside bundle/ objects.
 */
export function tamperWithBackupSet(lab: Lab, label: string): string {
  const objects = listStoredObjects(lab.layout.objectStoreDir, lab.state.objectStore.bucket, `pgbackrest/backup/${lab.state.stanza}/${label}/pg_data/`);
  const victim = objects.filter((o) => o.size > 64).sort((x, y) => y.size - x.size)[0];
  if (!victim) throw new Error(`backup set ${label} has no files in the store`);
  invertBytes(victim.path, 16, Math.min(32, victim.size - 16));
  return victim.path;
}
