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

/**
 * One word in single quotes, always: the form the scripts Pulumi runs on the hosts were deployed
 * with (infra/host-commands.ts). Their bytes are the Command resources' inputs, so a change of
 * quoting alone would re-run them on the next `pulumi up`: restore the warm standby again, or run
 * a promotion's command again. They keep this form byte for byte; the round-trip test covers it.
 */
export function shellQuoteDeployed(word: string): string {
  return `'${word.replace(/'/g, `'"'"'`)}'`;
}
