// Progress of a restore while pgBackRest copies files. At log level detail it prints one line per
// restored file with the file's size and the share of the whole restore done so far, e.g.
//   P01 DETAIL: restore file /…/base/16386/1255 (784KB, 2.36%) checksum 23e2…
// (a delta restore says "… - exists and matches backup (784KB, 2.36%)"). We add the sizes up and
// show bytes copied: a bar on a terminal, a line every tenth otherwise (logs, CI).
import { formatBytes, type Output } from "../core/output";

const FILE_LINE = /restore file .*\((\d+(?:\.\d+)?)(B|KB|MB|GB|TB), (\d+(?:\.\d+)?)%\)/;
const UNIT: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 };

/** A restored file's size (bytes, as pgBackRest rounds it) and the percentage done after it. */
export function parseRestoredFile(line: string): { bytes: number; percent: number } | undefined {
  const m = FILE_LINE.exec(line);
  if (!m) return undefined;
  return { bytes: Math.round(Number(m[1]) * UNIT[m[2]]), percent: Number(m[3]) };
}

export class RestoreProgress {
  files = 0;
  bytes = 0;
  percent = 0;
  private shownTenth = 0;

  constructor(
    private readonly out: Output,
    /** The set's size, for the bar (pgBackRest's own percentage decides the lines). */
    private readonly totalBytes: number,
  ) {}

  /** Feed one line of pgBackRest's output. */
  line(text: string): void {
    const f = parseRestoredFile(text);
    if (!f) return;
    this.files++;
    this.bytes += f.bytes;
    this.percent = f.percent;
    this.out.progress(Math.min(this.bytes, this.totalBytes), this.totalBytes, "bytes copied");
    const tenth = Math.floor(f.percent / 10);
    if (tenth > this.shownTenth && tenth < 10) {
      this.shownTenth = tenth;
      this.out.info(`  ${this.summary()}`);
    }
  }

  summary(): string {
    return `${formatBytes(this.bytes)} copied in ${this.files} files (${this.percent.toFixed(0)}%)`;
  }
}
