// The exit-status table as the README prints it and as `dr --help` prints it, both from the one
// source (exit-status.ts, the catalogue's classes), so neither can drift from what `dr` does.
import { errorCatalogue, type ErrorCode } from "./errors";
import { exitTableRows, type ExitClassName } from "./exit-status";

function codesOf(name: ExitClassName): string[] {
  return (Object.keys(errorCatalogue) as ErrorCode[]).filter((code) => errorCatalogue[code].class === name);
}

/** The Markdown table in README.md (between its exit-status markers). */
export function exitStatusMarkdown(): string {
  const rows = exitTableRows(codesOf).map((r) => `| ${r.exit} | ${r.name} | ${r.meaning} | ${r.codes.map((c) => `\`${c}\``).join(", ") || "(a verdict, no error)"} |`);
  return ["| exit | class | meaning | error codes |", "|---|---|---|---|", ...rows].join("\n");
}

/** Words joined by spaces into lines of at most `width` characters. */
function wrapWords(words: string[], width: number): string[] {
  const lines: string[] = [];
  for (const w of words) {
    if (lines.length && lines[lines.length - 1].length + 1 + w.length <= width) lines[lines.length - 1] += ` ${w}`;
    else lines.push(w);
  }
  return lines;
}

/** The epilog of `dr --help`: status, class and meaning, the class's error codes below it. */
export function exitStatusHelp(): string {
  const rows = exitTableRows(codesOf);
  const width = Math.max(...rows.map((r) => r.name.length));
  const indent = " ".repeat(width + 9);
  return [
    "Exit status (one per class; the error's code is on stderr, or error.code with --json):",
    ...rows.flatMap((r) => [`  ${String(r.exit).padStart(3)}  ${r.name.padEnd(width)}  ${r.meaning}`, ...wrapWords(r.codes, 100 - indent.length).map((l) => indent + l)]),
  ].join("\n");
}
