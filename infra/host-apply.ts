// How a config change reaches a running host (no reboot, no new user data): the stack publishes
// the host spec in an SSM parameter, and an SSM association runs this document on the instance
// whenever the spec's version (its SHA-256) changes: fetch the spec, then `dr host apply`,
// which writes what differs, reloads PostgreSQL and daemon-reloads systemd. Pure: the
// HostConfig component declares it, the tests pin it.
import { createHash } from "node:crypto";
import { hostPaths, type HostSpec } from "./cloud-init/host-spec";
import { shellQuote } from "../automation/core/shell-words";

/** The spec as the parameter holds it (and `dr host apply --spec` reads it). */
export function hostSpecJson(spec: HostSpec): string {
  return JSON.stringify(spec);
}

/** The version the association carries: a new one makes SSM run the document again. */
export function hostConfigVersion(spec: HostSpec): string {
  return createHash("sha256").update(hostSpecJson(spec)).digest("hex");
}

/** Longest wait for the first boot's bootstrap (dr is installed by it). */
const bootstrapWaitSeconds = 1800;

/** The document's shell lines, run as root by the SSM agent (AWS-RunShellScript semantics). */
export function hostApplyCommands(region: string): string[] {
  const tmp = `${hostPaths.hostSpec}.new`;
  return [
    // Run by sh (dash on Debian): no bash-only options.
    "set -eu",
    'echo "fp-dr host config version {{ configVersion }}"',
    // A new instance: the bootstrap installs dr and writes the same files; wait for it to end.
    `timeout ${bootstrapWaitSeconds} cloud-init status --wait >/dev/null || { echo "cloud-init did not finish: see /var/log/fp-dr-bootstrap.log" >&2; exit 1; }`,
    "umask 077",
    `aws ssm get-parameter --region ${shellQuote(region)} --name '{{ specParameter }}' --query Parameter.Value --output text >${tmp}`,
    `mv -f ${tmp} ${hostPaths.hostSpec}`,
    `/usr/local/bin/dr --config ${hostPaths.drConfig} host apply --spec ${hostPaths.hostSpec} --json`,
  ];
}

/** The SSM Command document (schema 2.2); its parameters are checked by pattern before they reach the shell. */
export function hostApplyDocument(region: string): Record<string, unknown> {
  return {
    schemaVersion: "2.2",
    description: "fp-dr: apply the host configuration (dr host apply) after the stack's host spec changed",
    parameters: {
      specParameter: { type: "String", description: "SSM parameter holding the host spec", allowedPattern: "^/[a-z0-9-]+/[a-z0-9-]+/host-spec$" },
      configVersion: { type: "String", description: "SHA-256 of the host spec (a new one runs the document again)", allowedPattern: "^[0-9a-f]{64}$" },
    },
    mainSteps: [{ action: "aws:runShellScript", name: "hostApply", inputs: { timeoutSeconds: "3600", runCommand: hostApplyCommands(region) } }],
  };
}
