// Commands on a site's host through SSM Run Command (AWS-RunShellScript), with the AWS CLI the
// port forwards already need: what the failover's post-checks use to start the new primary's
// first backup. Sends the command, then polls its invocation until it ends (bounded); returns
// its output, or fails with the host's own error text.
import { spawn } from "node:child_process";
import { DrError } from "../../core/errors";
import { shellLine } from "../../core/shell-words";
import type { HostCommandRunner } from "./access";
import { pollUntil } from "../../core/poll";

export interface SsmRunCommandOptions {
  /** The AWS CLI. Default "aws". */
  command?: string;
  env?: NodeJS.ProcessEnv;
  /** Poll interval. Default 2 s. */
  pollMs?: number;
  /** Longest wait for the command to end. Default 10 minutes. */
  timeoutMs?: number;
}

function aws(command: string, args: string[], env: NodeJS.ProcessEnv | undefined): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.once("error", (e) =>
      reject(new DrError("DEPENDENCY_MISSING", `cannot run ${command} for ssm send-command: ${e.message}`, { hint: "install the AWS CLI v2 (the SSM port forwards need it too)" })),
    );
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const running = new Set(["Pending", "InProgress", "Delayed"]);

export function ssmRunCommand(opts: SsmRunCommandOptions = {}): HostCommandRunner {
  const command = opts.command ?? "aws";
  const pollMs = opts.pollMs ?? 2000;
  const bound = opts.timeoutMs ?? 600_000;
  return async (site, outputs, argv) => {
    const line = shellLine(argv);
    const where = ["--region", outputs.region];
    const sent = await aws(command, ["ssm", "send-command", ...where, "--instance-ids", outputs.instanceId, "--document-name", "AWS-RunShellScript", "--comment", `fp-dr on ${site}`.slice(0, 100), "--parameters", JSON.stringify({ commands: [line] }), "--output", "json"], opts.env);
    if (sent.code !== 0) {
      throw new DrError("SITE_UNREACHABLE", `ssm send-command to ${site} (${outputs.instanceId}) failed: ${sent.stderr.trim().split("\n").pop() ?? ""}`, { hint: "is the instance registered with Systems Manager, and may these credentials ssm:SendCommand?" });
    }
    const commandId = (JSON.parse(sent.stdout) as { Command: { CommandId: string } }).Command.CommandId;
    // The command cannot have ended at once: the first look comes after one pause.
    return pollUntil(
      async () => {
        const r = await aws(command, ["ssm", "get-command-invocation", ...where, "--command-id", commandId, "--instance-id", outputs.instanceId, "--output", "json"], opts.env);
        // Right after sending, the invocation may not exist yet: that is "pending".
        const status = r.code === 0 ? (JSON.parse(r.stdout) as { Status: string; StandardOutputContent?: string; StandardErrorContent?: string }) : undefined;
        if (r.code !== 0 && !/InvocationDoesNotExist/.test(r.stderr)) {
          throw new DrError("SITE_UNREACHABLE", `ssm get-command-invocation for ${site} failed: ${r.stderr.trim().split("\n").pop() ?? ""}`, { hint: "check the credentials allow ssm:GetCommandInvocation" });
        }
        if (status && status.Status === "Success") return { stdout: status.StandardOutputContent ?? "" };
        if (status && !running.has(status.Status)) {
          throw new DrError("HOST_COMMAND_FAILED", `\`${argv.join(" ")}\` on ${site} ended ${status.Status}: ${(status.StandardErrorContent ?? "").trim().split("\n").pop() ?? ""}`, {
            hint: `see the command ${commandId} in Systems Manager (Run Command history) for its full output`,
          });
        }
        return undefined;
      },
      {
        what: `\`${argv.join(" ")}\` on ${site} to end`,
        timeoutMs: bound,
        intervalMs: pollMs,
        delayFirst: true,
        onTimeout: () => new DrError("TIMEOUT", `\`${argv.join(" ")}\` on ${site} did not end within ${Math.round(bound / 1000)} s (command ${commandId})`, { hint: "it may still be running: look at Run Command's history before running it again" }),
      },
    );
  };
}
