// The host's console on an isolated site: one psql session over the Unix socket as the service
// user (peer authentication), the only door an isolated lab site leaves open, as a console
// session on the host is on AWS. The session is held open across several statements because a
// non-exclusive base backup (pg_backup_start … pg_backup_stop) must start and stop in the
// same session. Each statement is followed by an \echo marker; its output is what psql printed
// before the marker (unaligned, tuples only).
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { DrError } from "../core/errors";
import { redact } from "../core/redact";
import type { Cluster } from "../postgres/cluster";
import { pgBin, serviceEnv } from "../system/exec";

export class SiteConsole {
  private buffer = "";
  private stderr = "";
  private exited?: string;
  private waiting?: { marker: string; resolve: (text: string) => void; reject: (e: Error) => void };

  private constructor(private readonly child: ChildProcessWithoutNullStreams, private readonly what: string) {
    child.stdout.on("data", (d: Buffer) => {
      this.buffer += d.toString("utf8");
      this.deliver();
    });
    child.stderr.on("data", (d: Buffer) => (this.stderr = (this.stderr + d.toString("utf8")).slice(-4000)));
    child.on("close", (code, signal) => {
      this.exited = signal ? `killed by ${signal}` : `exited with ${code}`;
      this.waiting?.reject(this.failure());
      this.waiting = undefined;
    });
    child.on("error", (e) => {
      this.exited = e.message;
      this.waiting?.reject(this.failure());
      this.waiting = undefined;
    });
  }

  /** Opens a session on the cluster's socket as the service user. */
  static open(cluster: Cluster, database = "postgres"): SiteConsole {
    const { user, runDir, port } = cluster.spec;
    const child = spawn(pgBin("psql"), ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", runDir, "-p", String(port), "-d", database], {
      cwd: user.switched ? tmpdir() : undefined,
      env: serviceEnv(user, { PGAPPNAME: "fp-dr incident console" }),
      uid: user.switched ? user.uid : undefined,
      gid: user.switched ? user.gid : undefined,
      stdio: ["pipe", "pipe", "pipe"],
    });
    return new SiteConsole(child, `${runDir}:${port}`);
  }

  private failure(): DrError {
    const err = redact(this.stderr.trim().split("\n").slice(-3).join("; ")) || this.exited || "no output";
    return new DrError("QUERY_FAILED", `console session on ${this.what} failed: ${err}`, { hint: "the server must be running and the service user must reach its socket (peer authentication)" });
  }

  private deliver(): void {
    if (!this.waiting) return;
    const at = this.buffer.indexOf(`${this.waiting.marker}\n`);
    if (at < 0) return;
    const text = this.buffer.slice(0, at);
    this.buffer = this.buffer.slice(at + this.waiting.marker.length + 1);
    const w = this.waiting;
    this.waiting = undefined;
    w.resolve(text.replace(/\n$/, ""));
  }

  /** Runs one statement; resolves with what it printed (unaligned, tuples only). */
  query(sql: string, timeoutMs = 120_000): Promise<string> {
    if (this.exited) return Promise.reject(this.failure());
    if (this.waiting) return Promise.reject(new DrError("INTERNAL", "console session: one statement at a time", { hint: "a bug in the caller" }));
    const marker = `__fp_dr_${randomBytes(6).toString("hex")}__`;
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new DrError("TIMEOUT", `console statement did not finish within ${timeoutMs / 1000}s`, { hint: "the isolated server may be overloaded; check its log" }));
      }, timeoutMs);
      this.waiting = {
        marker,
        resolve: (t) => {
          clearTimeout(timer);
          resolve(t);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.child.stdin.write(`${sql.trim().replace(/;+$/, "")};\n\\echo ${marker}\n`);
    });
  }

  /** Runs a query and returns its rows as JSON objects. */
  async rows<T>(sql: string): Promise<T[]> {
    const text = await this.query(`select coalesce(json_agg(q), '[]'::json) from (${sql.trim().replace(/;+$/, "")}) q`);
    return JSON.parse(text) as T[];
  }

  /** Runs a query returning one JSON value (one row, one column). */
  async json<T>(sql: string): Promise<T> {
    return JSON.parse(await this.query(sql)) as T;
  }

  async close(): Promise<void> {
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      this.child.once("close", () => resolve());
      this.child.stdin.end("\\q\n");
      setTimeout(() => {
        this.child.kill("SIGTERM");
        resolve();
      }, 5000).unref();
    });
  }
}

/** Opens a console, runs `fn`, closes it (also on failure). */
export async function withConsole<T>(cluster: Cluster, fn: (c: SiteConsole) => Promise<T>): Promise<T> {
  const c = SiteConsole.open(cluster);
  try {
    return await fn(c);
  } finally {
    await c.close();
  }
}
