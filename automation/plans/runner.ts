// The runner: takes the environment's lease (core/lease.ts), walks a plan's steps in order, times and journals
// each one (the journal is saved before and after every step), retries only what is
// retryable, stops at a failed gate unless forced, always runs the clean-up steps, and can
// pick a killed run up where it stopped without redoing finished steps.
import { backOff } from "exponential-backoff";
import { newRunId } from "../core/run-id";
import type { DrConfig } from "../config/schema";
import type { Engine } from "../engines/engine";
import { DrError, isDrError } from "../core/errors";
import { checkFault, checkInjectedFailure } from "../core/faults";
import type { Journal } from "../core/journal";
import { acquireLease, type Lease } from "../core/lease";
import type { SharedStore } from "../core/shared-store";
import type { Output } from "../core/output";
import type { Plan, RunOptions, Step, StepContext } from "./plan";
import type { RunRecord, StepRecord } from "../core/run-record";
import { measure } from "../core/measure";
import { RunInterruption } from "./interruption";
import { provenance } from "../system/provenance";

export interface RunnerDeps {
  engine: Engine;
  config: DrConfig;
  out: Output;
  journal: Journal;
  /** Where the environment's lease is (one run at a time across machines): core/shared-store.ts. */
  store: SharedStore;
  /** Asks a person to confirm a destructive step (absent: not interactive, needs --yes). */
  confirm?: (question: string) => Promise<boolean>;
  /** Retry backoff start (ms); tests shorten it. */
  retryDelayMs?: number;
}

const MAX_GOTOS = 5;
const NOT_RUN = "not run: an earlier step failed";
const DECLINED = "not confirmed: nothing of it was done";

export function newRecord(plan: Plan, deps: RunnerDeps, options: RunOptions, now = new Date()): RunRecord {
  // Drills, switchovers and reprotects are measured against the datacenter objectives (the same sites).
  const objectiveScenario = plan.scenario === "drill" || plan.scenario === "switchover" || plan.scenario === "reprotect" ? "datacenter" : plan.scenario;
  const obj = deps.config.objectives[objectiveScenario];
  return {
    runId: newRunId(plan.scenario, now),
    scenario: plan.scenario,
    objectiveScenario,
    environment: deps.config.environment,
    engine: deps.engine.name,
    declaredAt: now.toISOString(),
    outageAt: options.outageAt ?? now.toISOString(),
    status: "running",
    dryRun: options.dryRun,
    forced: false,
    options: { ...options },
    steps: plan.steps.map((s) => ({ id: s.id, name: s.name, status: "pending", attempts: 0 })),
    facts: {},
    measurements: {
      // A drill never touches the service name: its RTO ends at the first write to its copy.
      rto: { objective: obj.rto, basis: plan.scenario === "drill" ? "the restore point (the outage a drill simulates) → first successful write to the restored copy (the drill site)" : `${options.outageAt ? "outage" : "declaration"} → first successful write through the service name` },
      rpo: { objective: obj.rpo, basis: "outage time → newest committed transaction present after restore" },
    },
    notes: [],
    provenance: provenance(),
  };
}

/** Starts a new run of `plan` with the facts known at declaration (sites, repository). */
export async function startRun(plan: Plan, deps: RunnerDeps, options: RunOptions, facts: Record<string, unknown> = {}, notes: string[] = []): Promise<RunRecord> {
  const record = newRecord(plan, deps, options);
  Object.assign(record.facts, facts);
  record.notes.push(...notes);
  return execute(plan, record, deps);
}

/** Whether `dr resume` would take this run up (else it answers RUN_FINISHED). */
export function resumable(record: RunRecord, plan: Plan): boolean {
  if (record.dryRun || record.status === "succeeded") return false;
  return !(record.status !== "running" && record.status !== "cancelled" && plan.notResumableAfterFailure);
}

/** Continues a run from its journal: finished steps stay finished, the rest run. */
export async function resumeRun(runId: string, planFor: (record: RunRecord) => Plan, deps: RunnerDeps): Promise<RunRecord> {
  const record = await deps.journal.loadAnywhere(runId);
  if (record.status === "succeeded") {
    throw new DrError("RUN_FINISHED", `run ${runId} already succeeded`, { hint: "`dr report show` shows what it did" });
  }
  if (record.dryRun) throw new DrError("RUN_FINISHED", `run ${runId} was a dry run`, { hint: "start a real run instead" });
  const plan = planFor(record);
  if (record.status !== "running" && record.status !== "cancelled" && plan.notResumableAfterFailure) {
    const { why, hint } = plan.notResumableAfterFailure;
    throw new DrError("RUN_FINISHED", `${record.scenario} ${runId} failed and ${why}`, { hint });
  }
  // A failed run: the failed step and those it kept from running go again; clean-up steps that
  // ran after the failure run again at the end. Steps a plan skipped on purpose stay skipped.
  for (const s of record.steps) {
    const step = plan.steps.find((x) => x.id === s.id);
    if (s.status === "failed" || (s.status === "skipped" && (s.detail === NOT_RUN || s.detail === DECLINED)) || (record.status !== "running" && step?.always && s.status === "done")) {
      s.status = "pending";
      delete s.detail;
    }
  }
  record.status = "running";
  delete record.error;
  record.notes.push(`resumed at ${new Date().toISOString()} (pid ${process.pid})`);
  return execute(plan, record, deps);
}

async function execute(plan: Plan, record: RunRecord, deps: RunnerDeps): Promise<RunRecord> {
  const { out, journal } = deps;
  const options = record.options as unknown as RunOptions;
  refuseUnconfirmable(plan, record, deps);
  // Named in what the run leaves behind (a restore's target lock), so a leftover points to its run.
  process.env.FP_DR_RUN_ID = record.runId;
  const lease = options.dryRun ? undefined : await takeLease(record, deps);
  const ctx: StepContext = {
    engine: deps.engine,
    config: deps.config,
    out,
    record,
    options,
    facts: record.facts,
    note: (text) => {
      record.notes.push(text);
      out.warn(text);
    },
  };
  const save = () => {
    if (!options.dryRun) journal.save(record);
  };
  // The shared copy of the journal: a store that stops answering is said, not fatal (the local
  // journal is whole, and the lease check before the next step decides whether to go on).
  // After a copy fails, the next ones wait for nothing: only the final flush tries once more.
  const flushed = (final = false) =>
    journal.flush({ final }).catch((e: unknown) => {
      if (!record.notes.includes(`journal not copied to the shared store: ${(e as Error).message}`)) ctx.note(`journal not copied to the shared store: ${(e as Error).message}`);
    });
  save();
  await flushed();
  let failure: DrError | undefined;
  const problems: { step: Step; err: DrError }[] = [];
  let gotos = 0;
  /** The step under way, and the one a signal interrupted. */
  let current: string | undefined;
  let interruptedAt: string | undefined;
  // A stop signal (Ctrl-C, SIGTERM, SIGHUP): said in the journal at once, then the step under
  // way is cut short and the clean-up steps run, as after a failure (./interruption.ts).
  const stop = options.dryRun
    ? undefined
    : new RunInterruption((signal) => {
        out.stopProgress();
        // A signal during the clean-up after a failure: that clean-up finishes, the failure stands.
        if (failure) return ctx.note(`${signal} received during the clean-up after the failure: finishing it`);
        interruptedAt = current ?? record.steps.find((s) => s.status !== "done" && s.status !== "skipped")?.id ?? "its end";
        record.status = "interrupted";
        const hint = resumable(record, plan) ? `dr resume ${record.runId}` : plan.notResumableAfterFailure?.hint;
        record.error = { code: "INTERRUPTED", message: `interrupted by ${signal} at step ${interruptedAt}`, hint };
        save();
      });
  try {
    for (let i = 0; i < plan.steps.length; i++) {
      const step = plan.steps[i];
      const rec = record.steps.find((s) => s.id === step.id)!;
      if (rec.status === "done" || rec.status === "skipped") {
        if (!options.dryRun) out.info(`= ${step.name}: ${rec.status === "skipped" ? `skipped (${rec.detail ?? "not on this path"})` : "already done"}`);
        continue;
      }
      if (stop?.signal && !failure) failure = interruptionError(record);
      if (failure && !step.always) {
        rec.status = "skipped";
        rec.detail = NOT_RUN;
        continue;
      }
      checkFault("before", step.id);
      current = step.id;
      // Raced against a stop signal, except the clean-up after a failure, which always finishes;
      // a signal taken while the lease was checked: the step is not begun at all.
      const raced = stop && !failure ? stop : undefined;
      const attempt = (lease ? lease.check() : Promise.resolve()).then(() => (raced?.signal ? undefined : runStep(step, rec, ctx, deps, save)));
      let outcome = await (raced ? Promise.race([attempt, raced.arrived]) : attempt).catch((e: unknown) => {
        if (stop?.signal && !failure) return undefined;
        const err = e instanceof DrError ? e : new DrError("INTERNAL", `${step.name}: ${(e as Error).message}`, { cause: e, hint: "rerun with --verbose; `dr resume` continues" });
        // A dry run goes on checking: the operator gets every problem at once, not one per try.
        if (options.dryRun) problems.push({ step, err });
        else failure = err;
        return undefined;
      });
      if (stop?.signal && !failure) {
        record.notes.push(...(await stop.cutShort(attempt)));
        markCutShort(rec, stop.signal);
        failure = interruptionError(record);
        outcome = undefined;
      }
      current = undefined;
      // Already said as it happened (info); kept here so the report says it too.
      record.notes.push(...(deps.engine.takeNotes?.() ?? []));
      save();
      await flushed();
      checkFault("after", step.id);
      if (outcome && typeof outcome === "object" && outcome.goto) {
        const to = plan.steps.findIndex((s) => s.id === outcome.goto);
        if (to < 0 || ++gotos > MAX_GOTOS) throw new DrError("INTERNAL", `step ${step.id} asked to go back to ${outcome.goto} too often`, { hint: "a bug in the plan" });
        for (const s of plan.steps.slice(to, i + 1)) {
          const r = record.steps.find((x) => x.id === s.id)!;
          r.status = "pending";
        }
        i = to - 1;
        save();
      }
    }
  } finally {
    if (problems.length > 0) failure = dryRunFailure(problems);
    record.finishedAt = new Date().toISOString();
    stop?.dispose();
    if (failure && stop?.signal && failure.code === "INTERRUPTED") {
      // Stopped by a signal: not a failure of the plan; `dr resume` takes it up where plans allow.
      record.status = "interrupted";
      record.error = { code: failure.code, message: failure.message, hint: failure.hint };
    } else if (failure?.code === "NOT_CONFIRMED") {
      // A person said no: nothing went wrong, and `dr resume` asks again.
      record.status = "cancelled";
      record.error = { code: failure.code, message: failure.message, hint: failure.hint };
    } else if (failure) {
      record.status = "failed";
      record.error = { code: failure.code, message: failure.message, hint: failure.hint };
    } else {
      // (a signal after the last step: the run was over)
      record.status = "succeeded";
      delete record.error;
    }
    if (!options.dryRun) measure(record);
    save();
    await flushed(true);
    await lease?.release().catch(() => undefined);
    if (record.status === "interrupted") out.interrupted(`${record.scenario} run ${record.runId} at step ${interruptedAt}`, record.error?.hint);
  }
  return record;
}

/** The run's interruption as an error, as the signal handler recorded it. */
function interruptionError(record: RunRecord): DrError {
  const e = record.error!;
  return new DrError("INTERRUPTED", e.message, { hint: e.hint });
}

/** The step a signal cut short: failed (a resume runs it again), saying why. */
function markCutShort(rec: StepRecord, signal: NodeJS.Signals): void {
  if (rec.status === "running") {
    rec.status = "failed";
    rec.detail = `interrupted by ${signal}`;
    rec.finishedAt = new Date().toISOString();
  } else if (rec.status === "failed" && !rec.detail?.startsWith("interrupted")) rec.detail = `interrupted by ${signal}: ${rec.detail ?? ""}`;
}

/** The environment's lease; a holder that died (or whose lease expired) is taken over, and said. */
async function takeLease(record: RunRecord, deps: RunnerDeps): Promise<Lease> {
  const lease = await acquireLease(deps.store, { environment: deps.config.environment, runId: record.runId, scenario: record.scenario, ttlMs: deps.config.shared.leaseTtl * 1000 });
  // Recorded on what the run changes (the lab's fence marker, the stacks' decisions).
  process.env.FP_DR_EPOCH = String(lease.epoch);
  record.facts.leaseEpoch = lease.epoch;
  const h = lease.tookOverFrom;
  if (h) {
    // Never silent: a dead holder may have left work half done (its own run: this resume).
    const text = `took over the lease (epoch ${lease.epoch}) from ${h.runId === record.runId ? "this run's earlier process" : `run ${h.runId}`} (pid ${h.holder.pid} on ${h.holder.host}: gone or expired)`;
    if (h.runId !== record.runId) record.notes.push(text);
    deps.out.warn(text);
  }
  return lease;
}

/** Every problem a dry run found, as one error: the first one's code (its exit class), each one named. */
function dryRunFailure(problems: { step: Step; err: DrError }[]): DrError {
  const [first] = problems;
  if (problems.length === 1) return first.err;
  const list = problems.map((p, i) => `(${i + 1}) ${p.step.name}: ${p.err.code} ${p.err.message.split("\n")[0]}`).join("; ");
  return new DrError(first.err.code, `the dry run found ${problems.length} problems: ${list}`, {
    hint: problems.map((p) => p.err.hint).filter((h, i, all) => h && all.indexOf(h) === i).join("; ") || undefined,
    details: { problems: problems.map((p) => ({ step: p.step.id, code: p.err.code, message: p.err.message, hint: p.err.hint })) },
  });
}

async function runStep(step: Step, rec: StepRecord, ctx: StepContext, deps: RunnerDeps, save: () => void) {
  const { out, options } = ctx;
  if (options.dryRun) {
    const started = Date.now();
    try {
      rec.detail = step.explain ? await step.explain(ctx) : step.name;
      rec.status = "skipped";
      out.info(`would ${step.name}: ${rec.detail}`);
    } catch (e) {
      rec.status = "failed";
      rec.detail = (e as Error).message.split("\n")[0];
      out.warn(`would fail: ${step.name}: ${rec.detail}`);
      throw e;
    } finally {
      rec.durationMs = Date.now() - started;
    }
    return undefined;
  }
  rec.status = "running";
  rec.startedAt = new Date().toISOString();
  rec.attempts += 1;
  save();
  const finish = out.step(step.name);
  const started = Date.now();
  try {
    if (rec.attempts > 1 && step.done && (await step.done(ctx))) {
      rec.detail = "already done (found on resume)";
    } else {
      if (step.destructive && !options.yes) await confirm(step, deps);
      checkInjectedFailure(step.id);
      const outcome = await backOff(() => step.run(ctx), {
        numOfAttempts: 3,
        startingDelay: deps.retryDelayMs ?? 2000,
        retry: (e: unknown) => {
          const again = isDrError(e) && e.retryable;
          if (again) out.warn(`${step.name}: ${(e as DrError).message} — retrying`);
          return again;
        },
      });
      if (outcome && outcome.detail) rec.detail = outcome.detail;
      if (outcome && outcome.warning) rec.warning = true;
      rec.status = "done";
      rec.durationMs = Date.now() - started;
      rec.finishedAt = new Date().toISOString();
      finish(rec.detail, rec.warning ? "warning" : true);
      return outcome;
    }
    rec.status = "done";
    rec.durationMs = Date.now() - started;
    rec.finishedAt = new Date().toISOString();
    finish(rec.detail);
    return undefined;
  } catch (e) {
    rec.durationMs = Date.now() - started;
    rec.finishedAt = new Date().toISOString();
    const err = e instanceof DrError ? e : new DrError("INTERNAL", (e as Error).message, { cause: e, hint: "rerun with --verbose" });
    if (step.gate && options.force && err.code === "GATE_FAILED") {
      rec.status = "done";
      rec.forced = true;
      rec.detail = `FORCED past a failed gate: ${err.message}`;
      ctx.record.forced = true;
      ctx.note(`--force: continued although "${step.name}" failed: ${err.message}`);
      finish(rec.detail, false);
      return undefined;
    }
    if (err.code === "NOT_CONFIRMED") {
      // Declined before it began: left to do, for a resume to ask again.
      rec.status = "skipped";
      rec.detail = DECLINED;
      finish(rec.detail, "warning");
      throw err;
    }
    rec.status = "failed";
    rec.detail = err.message.split("\n")[0];
    finish(rec.detail, false);
    throw err;
  }
}

/**
 * Without --yes and with nobody at a terminal to answer, a plan with destructive steps would
 * stop at the first of them, half way: refuse before anything runs (before the journal and lock).
 */
function refuseUnconfirmable(plan: Plan, record: RunRecord, deps: RunnerDeps): void {
  const options = record.options as unknown as RunOptions;
  if (options.dryRun || options.yes || deps.confirm) return;
  const pending = new Set(record.steps.filter((s) => s.status !== "done" && s.status !== "skipped").map((s) => s.id));
  const first = plan.steps.find((s) => s.destructive && pending.has(s.id));
  if (!first) return;
  throw new DrError("NOT_CONFIRMED", `"${first.name}" changes things that cannot be taken back and needs confirmation; nothing was started`, {
    hint: "run it from a terminal to confirm, or pass --yes",
  });
}

async function confirm(step: Step, deps: RunnerDeps): Promise<void> {
  const question = `about to ${step.name}. continue?`;
  const ask = deps.confirm;
  if (!ask) {
    throw new DrError("NOT_CONFIRMED", `"${step.name}" changes things that cannot be taken back and needs confirmation`, {
      hint: "run it from a terminal to confirm, or pass --yes",
    });
  }
  if (!(await deps.out.paused(() => ask(question)))) {
    throw new DrError("NOT_CONFIRMED", `"${step.name}" was not confirmed`, { hint: "nothing after the previous step was changed; `dr resume` continues" });
  }
}
