// lab.json: what `dr lab up` chose (port, addresses, daemons' endpoints) so that every later
// command finds the same lab. It holds no secrets; those are in secrets.json.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { DrError } from "../../core/errors";

export const labStateSchema = z.object({
  version: z.literal(1),
  createdAt: z.string(),
  stanza: z.string(),
  database: z.string(),
  serviceName: z.string(),
  port: z.number().int(),
  scale: z.number(),
  archiveTimeoutSeconds: z.number(),
  sites: z.record(
    z.string(),
    z.object({
      role: z.enum(["primary", "secondary", "drill", "scratch"]),
      address: z.string(),
      port: z.number().int().optional(),
    }),
  ),
  dns: z.object({ port: z.number().int() }),
  objectStore: z.object({
    endpoint: z.string(),
    host: z.string(),
    port: z.number().int(),
    bucket: z.string(),
    region: z.string(),
    caFile: z.string(),
    uriStyle: z.enum(["host", "path"]),
  }),
});
export type LabState = z.infer<typeof labStateSchema>;

export function readLabState(path: string): LabState | undefined {
  if (!existsSync(path)) return undefined;
  const parsed = labStateSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
  if (!parsed.success) {
    throw new DrError("CONFIG_INVALID", `${path} is damaged: ${parsed.error.issues[0]?.message}`, {
      hint: "run `dr lab down --purge` and `dr lab up` to rebuild the lab",
    });
  }
  return parsed.data;
}

/** Atomic write: a reader never sees half a file, even if we are killed mid-write. */
export function writeLabState(path: string, state: LabState): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n");
  renameSync(tmp, path);
}
