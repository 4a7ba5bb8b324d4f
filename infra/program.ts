// The fp-dr Pulumi program: one program, three stack roles (primary, secondary, drill) chosen
// by config. Validate the config (nothing is declared if it is wrong), resolve what the role
// implies, declare the site with an explicit provider in its region, export SiteOutputs.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { Site } from "./components/site";
import { resolveSite } from "./config/resolve";
import { loadStackConfig } from "./config/stack";
import { siteOutputKeys, type SiteOutputs } from "./outputs";

/** Stack outputs: one per SiteOutputs key. */
export type StackOutputs = { [K in keyof SiteOutputs]: pulumi.Output<SiteOutputs[K]> };

export async function program(): Promise<StackOutputs> {
  const plan = resolveSite(await loadStackConfig());
  // Explicit, so that nothing can land in another region through a default provider; its
  // default tags mark every resource with the site (and a drill's id and expiry).
  const provider = new aws.Provider(`${plan.site}-aws`, { region: plan.region, defaultTags: { tags: plan.tags } });
  const site = new Site(plan.site, { plan, provider });
  return Object.fromEntries(siteOutputKeys.map((k) => [k, site.outputs.apply((o) => o[k])])) as StackOutputs;
}
