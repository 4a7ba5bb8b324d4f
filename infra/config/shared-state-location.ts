// Where a stack finds the environment's shared store (fp-dr:sharedState): the secondary stack's
// shared-state bucket, or a directory. Its own file: the stack schema and the control-state
// reader both need it, and neither may import the other.
import { z } from "zod";

/** Where the program finds the shared store (fp-dr:sharedState); absent, it reads no control state. */
export const sharedStateLocation = z
  .object({
    /** The shared-state bucket (declared by the secondary stack, in the secondary region). */
    bucket: z.string().min(3).optional(),
    /** Its region. Required with bucket. */
    region: z.string().optional(),
    /** Key prefix. Default "fp-dr/". */
    prefix: z.string().regex(/^([a-z0-9][a-z0-9._-]*\/)*$/).default("fp-dr/"),
    /** A directory instead of a bucket (tests, and the lab). */
    dir: z.string().optional(),
  })
  .strict()
  .refine((s) => Boolean(s.bucket) !== Boolean(s.dir), "either bucket (with region) or dir")
  .refine((s) => !s.bucket || Boolean(s.region), { message: "region is required with bucket", path: ["region"] });
export type SharedStateLocation = z.infer<typeof sharedStateLocation>;
