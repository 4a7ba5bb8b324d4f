// The local ends of the SSM port forwards through which Pulumi's remote commands, the
// postgresql provider and the automation reach a site's host (access.ssh.localPort and
// access.postgres.localPort). The standing sites use 2222 and 15432. A drill stack is made
// from the secondary's config, and `dr drill` runs beside the standing sites' forwards, so a
// drill gets its own pair, derived from its id: the same id always gives the same ports (a
// resumed drill reopens the same forwards), different ids almost never collide, and every
// derived port is below Linux's ephemeral range (32768+), away from outgoing connections.
// Pure, shared with the pulumi engine (automation/engines/pulumi/stack-config.ts).

export interface LocalPorts {
  /** Local end of the forward to the host's port 22. */
  ssh: number;
  /** Local end of the forward to the host's port 5432. */
  postgres: number;
}

/** The standing sites' (primary, secondary) forwards. */
export const defaultLocalPorts: LocalPorts = { ssh: 2222, postgres: 15432 };

/** Derived drill ports: ssh in 22000–22999, postgres in 25000–25999, same offset. */
const drillPortBase: LocalPorts = { ssh: 22000, postgres: 25000 };
const drillPortSpan = 1000;

/** FNV-1a (32 bit) of the id: stable across processes and versions. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The port forwards of drill <id> (the id of drill-<id>, fp-dr:drill.id). */
export function drillLocalPorts(drillId: string): LocalPorts {
  const offset = fnv1a(drillId) % drillPortSpan;
  return { ssh: drillPortBase.ssh + offset, postgres: drillPortBase.postgres + offset };
}

/**
 * A site's forwards: the configured ones, else the role's default (a drill's derived from its
 * id, every other role's the standing ports).
 */
export function localPortsFor(site: { role: string; drillId?: string }, configured: { ssh?: number; postgres?: number } = {}): LocalPorts {
  const defaults = site.role === "drill" && site.drillId ? drillLocalPorts(site.drillId) : defaultLocalPorts;
  return { ssh: configured.ssh ?? defaults.ssh, postgres: configured.postgres ?? defaults.postgres };
}
