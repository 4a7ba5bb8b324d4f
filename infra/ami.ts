// Which image the PostgreSQL host boots: the official Debian 12 image (PostgreSQL 15 and
// pgBackRest 2.45 come from its archive, as on the lab) of the instance type's architecture.

/** Debian's AWS account: the official Debian images. */
export const debianAmiOwner = "136693071363";

/** Name pattern of Debian 12 (bookworm) images. */
export const debianAmiNamePattern = "debian-12-*";

/** arm64 for Graviton instance families (m7g, r6gd, t4g …), x86_64 otherwise. */
export function amiArchitecture(instanceType: string): "arm64" | "x86_64" {
  const family = instanceType.split(".")[0];
  return /^[a-z]+\d+[a-z]*g[a-z]*$/.test(family) ? "arm64" : "x86_64";
}
