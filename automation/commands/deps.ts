// What every command receives: the validated configuration and the output channel. Commands
// never read process.argv or call process.exit; the entry point does.
import { loadConfig } from "../core/load-config";
import type { DrConfig } from "../config/schema";
import { Output } from "../core/output";

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  /** false with --no-color */
  color?: boolean;
}

export interface Deps {
  config: DrConfig;
  configSource?: string;
  out: Output;
}

export function makeOutput(g: GlobalOptions): Output {
  return new Output({ json: g.json === true, verbose: g.verbose === true, quiet: g.quiet === true, color: g.color !== false });
}

export function makeDeps(g: GlobalOptions, out = makeOutput(g)): Deps {
  const { config, source } = loadConfig({ path: g.config });
  return { config, configSource: source, out };
}
