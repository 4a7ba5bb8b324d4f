// The engine's decisions go to the control document first (infra/config/control-state.ts), then
// to the stack config of the automation's own workspace: whatever `pulumi up` runs next, the
// automation's or an operator's from their checkout, the program lays the document over the
// stack's declaration and declares the same fence, DNS answer and requests.
// Each change is a conditional replace on the version read (a lost race is read again and
// applied again, bounded), records the run and its lease epoch, and carries decision keys only:
// everything else (a rotated password included) is passed through to the stack config alone.
import { storedForm } from "../../../infra/config/requests";
import { readControlVersion } from "../../../infra/config/control-read";
import { changedDocument, controlKey, decisionKeys, withSwitchover, type ControlDocument, type DecisionKey, type SwitchoverRecord } from "../../../infra/config/control-state";
import { DrError } from "../../core/errors";
import type { SharedStore } from "../../core/shared-store";
import type { ConfigEntries, StackOps, StoredConfig } from "./stack-ops";
import { configValue } from "./stack-config";

const PREFIX = "fp-dr:";

/** The decisions in a set of config entries (paths into fp-dr:restore and the like), as stored values. */
export function decisionsIn(entries: ConfigEntries, path: boolean): Partial<Record<DecisionKey, unknown>> {
  const out: Partial<Record<DecisionKey, unknown>> = {};
  const structured = path ? storedForm(Object.fromEntries(Object.entries(entries).filter(([k]) => k.startsWith(PREFIX)).map(([k, v]) => [k, { value: v.value }]))) : undefined;
  for (const key of Object.keys(entries)) {
    if (!key.startsWith(PREFIX)) continue;
    const name = key.slice(PREFIX.length);
    const head = name.split(".")[0];
    if ((decisionKeys as readonly string[]).includes(name)) {
      out[name as DecisionKey] = structured ? pick(structured, name) : entries[key].value;
    } else if ((decisionKeys as readonly string[]).includes(head)) {
      out[head as DecisionKey] = structured ? structured[head] : JSON.parse(entries[key].value);
    }
  }
  return out;
}

function pick(obj: Record<string, unknown>, dotted: string): unknown {
  return dotted.split(".").reduce<unknown>((at, p) => (at as Record<string, unknown> | undefined)?.[p], obj);
}

export class ControlState {
  constructor(
    private readonly store: SharedStore,
    private readonly environment: string,
  ) {}

  async read(): Promise<{ doc?: ControlDocument; etag?: string }> {
    return (await readControlVersion(this.store, this.environment)) ?? {};
  }

  /** Records `changes` for `stack`; re-read and re-applied when another writer got there first. */
  async record(stack: string, changes: Partial<Record<DecisionKey, unknown>>): Promise<ControlDocument> {
    return this.change((doc, by) => changedDocument(doc, this.environment, stack, changes, by), "the decision");
  }

  /** Records the switchover in flight (null: it ended), by the same conditional write. */
  async recordSwitchover(switchover: SwitchoverRecord | null): Promise<ControlDocument> {
    return this.change((doc, by) => withSwitchover(doc, this.environment, switchover, by), "the switchover");
  }

  /** The switchover in flight, if the document holds one. */
  async switchover(): Promise<SwitchoverRecord | undefined> {
    return (await this.read()).doc?.switchover ?? undefined;
  }

  private async change(next: (doc: ControlDocument | undefined, by: ControlDocument["updatedBy"]) => ControlDocument, what: string): Promise<ControlDocument> {
    const runId = process.env.FP_DR_RUN_ID;
    const epoch = process.env.FP_DR_EPOCH ? Number(process.env.FP_DR_EPOCH) : undefined;
    for (let attempt = 0; attempt < 5; attempt++) {
      const { doc, etag } = await this.read();
      const changed = next(doc, { by: runId ? `run ${runId}` : "dr", runId, epoch });
      const body = JSON.stringify(changed, null, 2);
      const w = etag ? await this.store.replace(controlKey(this.environment), body, etag) : await this.store.create(controlKey(this.environment), body);
      if (w) return changed;
      // Another writer got there first: read again after a short, jittered pause.
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 80));
    }
    throw new DrError("STORE_UNREACHABLE", `could not record ${what} in ${controlKey(this.environment)}: it kept changing under other writers`, {
      hint: "`dr lease show`: another run may be acting on this environment; nothing was changed on the stacks",
    });
  }
}

/** A stack's stored config with decisions laid over it, as the program's overlay does. */
export function overlayStored(config: StoredConfig, decisions: Partial<Record<DecisionKey, unknown>>): StoredConfig {
  const out: StoredConfig = { ...config };
  for (const [name, value] of Object.entries(decisions)) {
    const [head, leaf] = name.split(".");
    const key = `${PREFIX}${head}`;
    if (leaf === undefined) {
      if (value === null) delete out[key];
      else out[key] = { value: JSON.stringify(value), secret: false };
      continue;
    }
    const parent = { ...((configValue(config, key) as Record<string, unknown> | undefined) ?? {}) };
    if (value === null) delete parent[leaf];
    else parent[leaf] = value;
    out[key] = { value: JSON.stringify(parent), secret: false };
  }
  return out;
}

/** StackOps whose decision writes go to the control document first. */
export function withControlState(ops: StackOps, control: ControlState): StackOps {
  return {
    select: (s) => ops.select(s),
    selectOrCreate: (s) => ops.selectOrCreate(s),
    // What the stack will be declared with: its config with the recorded decisions laid over it.
    async getAllConfig(stack) {
      const config = await ops.getAllConfig(stack);
      const { doc } = await control.read();
      return overlayStored(config, doc?.stacks[stack] ?? {});
    },
    async setConfig(stack, entries, opts) {
      const changes = decisionsIn(entries, opts.path);
      if (Object.keys(changes).length) await control.record(stack, changes);
      await ops.setConfig(stack, entries, opts);
    },
    async removeConfig(stack, keys) {
      const changes = Object.fromEntries(keys.filter((k) => (decisionKeys as readonly string[]).includes(k.slice(PREFIX.length))).map((k) => [k.slice(PREFIX.length), null]));
      if (Object.keys(changes).length) await control.record(stack, changes);
      await ops.removeConfig(stack, keys);
    },
    up: (s, r) => ops.up(s, r),
    outputs: (s) => ops.outputs(s),
    destroy: (s, o) => ops.destroy(s, o),
    removeStack: (s) => ops.removeStack(s),
    listStacks: () => ops.listStacks(),
  };
}
