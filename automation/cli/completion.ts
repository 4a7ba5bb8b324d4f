// `dr completion bash|zsh`: a completion script generated from the parser itself, so it never
// lists a command or option the parser does not have.
import type { Command } from "commander";

/** Each command path ("", "lab", "lab up", ...) with the words that may follow it. */
function words(cmd: Command, path: string[] = [], acc = new Map<string, string[]>()): Map<string, string[]> {
  const subs = cmd.commands.map((c) => c.name());
  const opts = cmd.options.map((o) => o.long).filter((l): l is string => Boolean(l));
  acc.set(path.join(" "), [...subs, ...opts, "--help"]);
  for (const c of cmd.commands) words(c, [...path, c.name()], acc);
  return acc;
}

export function completionScript(program: Command, shell: "bash" | "zsh"): string {
  const cases = [...words(program)]
    .map(([path, w]) => `    "${path}") words="${w.join(" ")}" ;;`)
    .join("\n");
  const fn = `_dr_complete() {
  local cur path="" w
  cur="\${COMP_WORDS[COMP_CWORD]}"
  for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$w" in -*) ;; *) path="\${path:+$path }$w" ;; esac
  done
  local words=""
  case "$path" in
${cases}
  esac
  COMPREPLY=( $(compgen -W "$words" -- "$cur") )
}
complete -F _dr_complete dr`;
  // zsh runs the bash function through its bashcompinit layer
  return shell === "zsh" ? `autoload -U +X bashcompinit && bashcompinit\n${fn}\n` : `${fn}\n`;
}
