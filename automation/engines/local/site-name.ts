// What a lab site may be called. A site name becomes a directory under <lab>/sites, a key of
// lab.json and part of pgBackRest's spool path, and it arrives from the command line (--to,
// --site, remove-site): it must be a plain lowercase name, and never one that a JavaScript
// object already answers to (`constructor`, `__proto__`), which would read as an existing site.
import { z } from "zod";
import { DrError } from "../../core/errors";

export const siteNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, "lowercase letters, digits and dashes, starting with a letter, at most 63 characters")
  .refine((n) => !(n in Object.prototype), "a reserved name");

/** The name, or SITE_UNKNOWN saying what a site name must look like. */
export function checkSiteName(name: string): string {
  const r = siteNameSchema.safeParse(name);
  if (!r.success) {
    throw new DrError("SITE_UNKNOWN", `not a valid site name: ${JSON.stringify(name)} (${r.error.issues[0]?.message})`, {
      hint: "site names are lowercase letters, digits and dashes; `dr lab status` lists the sites",
    });
  }
  return name;
}

/** The lab.json entry of a site, only when it is really there (own property, valid name). */
export function siteEntry<T>(sites: Record<string, T>, name: string): T | undefined {
  return siteNameSchema.safeParse(name).success && Object.hasOwn(sites, name) ? sites[name] : undefined;
}
