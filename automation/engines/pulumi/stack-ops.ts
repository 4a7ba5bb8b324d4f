// What the pulumi engine needs from Pulumi, and nothing more: select or create a stack, read
// and write its config, `up` (optionally targeted), read outputs, destroy, remove. One adapter
// implements it on the Automation API's LocalWorkspace (./local-workspace.ts); the contract
// test pins the exact CLI invocations that adapter makes.
//
// There is deliberately no refresh anywhere in this interface: a refresh reads every resource
// from its cloud, and during a datacenter failover one of the clouds is the failed region.

/** A config value as Pulumi stores it: a string, marked secret or not. */
export interface ConfigEntry {
  value: string;
  secret?: boolean;
}

/** Config keys (namespaced, e.g. "fp-dr:restore.requestId" with path: true) → values. */
export type ConfigEntries = Record<string, ConfigEntry>;

/** One key of `pulumi config --json --show-secrets`: structured values carry objectValue. */
export interface StoredConfigValue {
  value?: string;
  objectValue?: unknown;
  secret?: boolean;
}

/** A stack's whole config as the CLI reports it. */
export type StoredConfig = Record<string, StoredConfigValue>;

/** Stack outputs as the Automation API returns them. */
export type RawOutputs = Record<string, { value: unknown; secret: boolean }>;

export interface UpRequest {
  /**
   * Resource URNs to update; every other resource keeps its state untouched (`--target`).
   * Default: the whole stack.
   */
  targets?: string[];
  /** Never refresh: the type only admits false, so a caller cannot ask for one by mistake. */
  refresh?: false;
  /** Recorded in the stack's history. */
  message?: string;
  /** Streams the CLI's output (progress for the operator). */
  onOutput?: (text: string) => void;
}

export interface UpOutcome {
  /** The stack's outputs after the update (for a targeted update: untargeted ones may be stale). */
  outputs: RawOutputs;
}

export interface StackOps {
  /** Selects an existing stack; STACK_NOT_FOUND if there is none. */
  select(stack: string): Promise<void>;
  /** Selects the stack, creating it (with the configured secrets provider) if it does not exist. */
  selectOrCreate(stack: string): Promise<"selected" | "created">;
  /** The stack's config with secrets decrypted (`pulumi config --show-secrets --json`). */
  getAllConfig(stack: string): Promise<StoredConfig>;
  /**
   * Sets several values in one CLI call. With path: true, keys are paths into structured values
   * ("fp-dr:restore.repo"); Pulumi then stores "true"/"false" as booleans and integers as numbers.
   */
  setConfig(stack: string, entries: ConfigEntries, opts: { path: boolean }): Promise<void>;
  /** Removes whole keys (missing keys are not an error). */
  removeConfig(stack: string, keys: string[]): Promise<void>;
  /** `pulumi up --yes --skip-preview` without refresh, optionally limited to `targets`. */
  up(stack: string, req?: UpRequest): Promise<UpOutcome>;
  /** The stack's last outputs (read from the backend: no cloud is contacted). */
  outputs(stack: string): Promise<RawOutputs>;
  /** Deletes every resource of the stack (no refresh). */
  destroy(stack: string, opts?: { onOutput?: (text: string) => void }): Promise<void>;
  /** Removes the stack and its config from the backend; it must hold no resources. */
  removeStack(stack: string): Promise<void>;
  /** Names of the project's stacks in the backend (`pulumi stack ls --json`). */
  listStacks(): Promise<string[]>;
}
