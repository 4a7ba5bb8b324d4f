// A process that races for the run lock when its parent says so (lock.test.ts). Each round it
// waits for the same instant as its rival, tries to take the lock, reports whether it holds it,
// and holds it until told to let go: two holders at once would both report held.
import { acquireLock, type Acquired } from "./lock";

const [path, id] = process.argv.slice(2);
let held: Acquired | undefined;

process.on("message", (m: { round: number; at: number } | { release: true } | { exit: true }) => {
  if ("exit" in m) process.exit(0);
  if ("release" in m) {
    held?.release();
    held = undefined;
    process.send!({ released: true });
    return;
  }
  while (Date.now() < m.at) {
    // spin: both rivals start within the same millisecond
  }
  try {
    held = acquireLock(path, { runId: `${id}-${m.round}`, scenario: "drill" });
    process.send!({ round: m.round, id, held: true, tookOver: held.tookOverFrom?.runId });
  } catch (e) {
    process.send!({ round: m.round, id, held: false, code: (e as { code?: string }).code });
  }
});
process.send!({ ready: true });
