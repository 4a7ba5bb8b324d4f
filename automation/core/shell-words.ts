// Words for a shell command line (bash -c, cloud-init scripts, SSM's AWS-RunShellScript),
// quoted by the shell-quote library rather than by hand: one quoting rule for the lab, the
// benchmark and the AWS hosts. shell-quote leaves safe words bare (paths, ON_ERROR_STOP=1 with
// the `=` escaped) and quotes the rest; shell-words.test.ts round-trips hostile words through
// real bash and sh to prove nothing is mangled.
import { quote } from "shell-quote";

/** One word, quoted for a POSIX shell (bash or sh): the shell reads back exactly `word`. */
export function shellQuote(word: string): string {
  return quote([word]);
}

/** An argv as one shell command line: each word quoted, joined by spaces. */
export function shellLine(argv: readonly string[]): string {
  return quote([...argv]);
}
