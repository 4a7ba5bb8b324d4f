// IPv4 CIDR arithmetic for the network plan: validating what config lists as allowed
// sources, and carving a site's VPC into subnets. Pure, so the plan is tested without Pulumi.

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

/** Parses "10.20.0.0/16"; undefined for anything else (including host bits set). */
export function parseCidr(text: string): Cidr | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const base = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((base & ~mask) >>> 0 !== 0) return undefined;
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  const b = c.base;
  return `${b >>> 24}.${(b >>> 16) & 255}.${(b >>> 8) & 255}.${b & 255}/${c.prefix}`;
}

/**
 * True for ranges that amount to "anyone": 0.0.0.0/0 and anything wider than a /8. The
 * runbook's database must never be reachable from the world, whatever a stack file says.
 */
export function isWorldOpen(text: string): boolean {
  if (text.trim() === "::/0") return true;
  const c = parseCidr(text);
  return c !== undefined && c.prefix < 8;
}

/** True when `inner` lies entirely within `outer`. */
export function contains(outer: string, inner: string): boolean {
  const o = parseCidr(outer);
  const i = parseCidr(inner);
  if (!o || !i || i.prefix < o.prefix) return false;
  const mask = o.prefix === 0 ? 0 : (0xffffffff << (32 - o.prefix)) >>> 0;
  return ((i.base & mask) >>> 0) === o.base;
}

/** True when the two ranges share any address. */
export function overlaps(a: string, b: string): boolean {
  return contains(a, b) || contains(b, a);
}

/**
 * Splits `vpc` into `count` equal subnets of `newBits` more prefix bits, in order: subnet i
 * of a /16 with newBits 4 is the i-th /20. Throws when they do not fit.
 */
export function subnetCidrs(vpc: string, count: number, newBits: number): string[] {
  const c = parseCidr(vpc);
  if (!c) throw new Error(`not a CIDR: ${vpc}`);
  const prefix = c.prefix + newBits;
  if (prefix > 28) throw new Error(`${vpc} is too small for ${count} subnets of /${prefix} (AWS allows /28 at most)`);
  if (count > 2 ** newBits) throw new Error(`${vpc} holds only ${2 ** newBits} subnets of /${prefix}`);
  const size = 2 ** (32 - prefix);
  return Array.from({ length: count }, (_, i) => formatCidr({ base: c.base + i * size, prefix }));
}
