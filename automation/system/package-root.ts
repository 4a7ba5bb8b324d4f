// The toolkit's own directory, the one holding its package.json: two levels above this file in
// the sources (automation/system), three in the compiled copy (dist/automation/system).
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const up = resolve(__dirname, "..", "..");
export const packageRoot: string = existsSync(join(up, "package.json")) ? up : dirname(up);

/** The toolkit's version (package.json). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8")) as { version: string }).version;
}
