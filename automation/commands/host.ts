// `dr host apply`: a site's host brought to its configuration without a reboot
// (host-config/apply.ts). On a site's own AWS host (config `host:`; run by SSM when the stack's
// host spec changes) the files are rendered from the host spec the stack publishes
// (`--spec FILE`); on the lab, from the dr config for `--site` (default primary).
import { readFileSync } from "node:fs";
import type { Deps } from "./deps";
import type { HostSpec } from "../../infra/cloud-init/host-spec";
import { DrError } from "../core/errors";
import { registerSecret } from "../core/redact";
import { table } from "../core/output";
import { awsHostTarget } from "../engines/host/host-files";
import { labHostTarget } from "../engines/local/host-files";
import { Lab } from "../engines/local/lab";
import { applyHostConfig, type HostApplyResult, type HostTarget } from "../host-config/apply";
import { serviceUser } from "../system/service-user";

export interface HostApplyOptions {
  site?: string;
  /** The host spec JSON (AWS hosts). */
  spec?: string;
  dryRun?: boolean;
  /** false: leave a pending restart for later (reported). */
  restart?: boolean;
}

/** The host spec the stack published (infra/components/host-config.ts), checked against this host. */
function readSpec(deps: Deps, file: string, site?: string): HostSpec {
  let spec: HostSpec;
  try {
    spec = JSON.parse(readFileSync(file, "utf8")) as HostSpec;
  } catch (e) {
    throw new DrError("CONFIG_INVALID", `cannot read the host spec ${file}: ${(e as Error).message.split("\n")[0]}`, { hint: "it is the stack's host spec parameter as the host-apply document fetched it" });
  }
  if (typeof spec?.site !== "string" || typeof spec.stanza !== "string" || !spec.repo1) {
    throw new DrError("CONFIG_INVALID", `${file} is not a host spec (site, stanza and repo1 are missing)`, { hint: "it is the stack's host spec parameter as the host-apply document fetched it" });
  }
  const self = deps.config.host?.site ?? site;
  if (self !== undefined && spec.site !== self) {
    throw new DrError("SITE_UNKNOWN", `the host spec is for site ${spec.site}, this host serves ${self}`, { hint: "fetch the spec parameter of this host's own stack" });
  }
  return spec;
}

async function awsTarget(deps: Deps, opts: HostApplyOptions): Promise<HostTarget> {
  const spec = readSpec(deps, opts.spec!, opts.site);
  const h = deps.config.host;
  // The AWS SDK is loaded only here, when a host reads its escrowed passphrase: every other `dr` start skips it.
  const escrow = () => (require("../engines/pulumi/passphrase-escrow") as typeof import("../engines/pulumi/passphrase-escrow")).readEscrowedPassphrase;
  const passphrase = spec.cipherPassSecret ? process.env.FP_DR_REPO_CIPHER_PASS || (await escrow()({ secretName: spec.cipherPassSecret.name, regions: [spec.cipherPassSecret.region] })) : undefined;
  if (passphrase) registerSecret(passphrase);
  return awsHostTarget(spec, { passphrase, user: serviceUser(h?.user ?? "postgres"), socketDir: h?.socketDir ?? "/var/run/postgresql", port: h?.port ?? 5432 });
}

export async function hostApply(deps: Deps, opts: HostApplyOptions = {}): Promise<HostApplyResult> {
  if (!opts.spec && deps.config.host) {
    throw new DrError("USAGE", "on a site's host dr host apply renders from the stack's host spec", { hint: "pass --spec FILE (the host-apply SSM document fetches it from the stack's parameter)" });
  }
  const target = opts.spec ? await awsTarget(deps, opts) : labHostTarget(Lab.open(deps.config), opts.site ?? "primary");
  return deps.out.timed(`${opts.dryRun ? "compare" : "apply"} the host configuration of ${target.site}`, () => applyHostConfig(target, { dryRun: opts.dryRun, restart: opts.restart }));
}

export function renderHostApply(r: HostApplyResult): string {
  const changed = r.files.filter((f) => f.status !== "unchanged");
  const rows = r.files.map((f) => [
    f.path,
    r.dryRun && f.status !== "unchanged" ? `would be ${f.status}` : f.status,
    f.status === "unchanged" ? "" : `+${f.added} -${f.removed} lines`,
    [f.settings?.length ? `settings: ${f.settings.join(", ")}` : "", f.mode ? `mode ${f.mode.from} → ${f.mode.to}` : "", f.owner ? `owner ${f.owner.from} → ${f.owner.to}` : ""].filter(Boolean).join("; "),
  ]);
  const pg = r.postgres;
  const server =
    pg.action === "none"
      ? "postgresql: no file of the server changed"
      : pg.action === "not-running"
        ? "postgresql: not running; the new files apply at its next start"
        : r.dryRun
          ? "postgresql: would be reloaded"
          : `postgresql: reloaded${pg.pendingRestart.length ? `; ${pg.restarted ? "restarted for" : "RESTART PENDING for"} ${pg.pendingRestart.join(", ")}` : ""}`;
  const units = r.systemd.daemonReload
    ? `systemd: ${r.dryRun ? "would daemon-reload" : "daemon-reload"}${r.systemd.started.length ? `; start ${r.systemd.started.join(", ")}` : ""}${r.systemd.restarted.length ? `; restart ${r.systemd.restarted.join(", ")}` : ""}`
    : undefined;
  return [
    table(["file", "status", "diff", "what"], rows),
    server,
    ...(units ? [units] : []),
    `${r.site}: ${changed.length} of ${r.files.length} files ${r.dryRun ? "would change (dry run: nothing changed)" : changed.length ? "changed" : "unchanged: nothing to do"}`,
  ].join("\n");
}
