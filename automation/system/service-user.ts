// initdb, postgres and pgBackRest refuse to run as root. When `dr` runs as root (CI does, and
// so does an operator with sudo), every server-side process runs as an unprivileged OS user
// (default `postgres`) and every file those processes touch is owned by that user.
import { execFileSync } from "node:child_process";
import { chownSync, mkdirSync, readdirSync, lstatSync } from "node:fs";
import { join } from "node:path";
import { userInfo } from "node:os";
import { DrError } from "../core/errors";

export interface ServiceUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** True when we are root and switch to this user for server processes. */
  switched: boolean;
}

let cached: ServiceUser | undefined;

/** The user server processes run as: ourselves, or `preferred` when we are root. */
export function serviceUser(preferred = "postgres"): ServiceUser {
  if (cached && (cached.name === preferred || !cached.switched)) return cached;
  const me = userInfo();
  if (me.uid !== 0) {
    cached = { name: me.username, uid: me.uid, gid: me.gid, home: me.homedir, switched: false };
    return cached;
  }
  let entry: string;
  try {
    entry = execFileSync("getent", ["passwd", preferred], { encoding: "utf8" }).trim();
  } catch {
    throw new DrError("NOT_ROOT_OR_SERVICE_USER", `running as root and the service user '${preferred}' does not exist`, {
      hint: `create it (useradd --system ${preferred}), install the postgresql package which creates it, or set lab.serviceUser`,
    });
  }
  const [name, , uid, gid, , home] = entry.split(":");
  cached = { name, uid: Number(uid), gid: Number(gid), home, switched: true };
  return cached;
}

/** Creates a directory owned by the service user (mode 0700 unless told otherwise). */
export function makeServiceDir(path: string, user: ServiceUser, mode = 0o700): void {
  mkdirSync(path, { recursive: true, mode });
  if (user.switched) chownSync(path, user.uid, user.gid);
}

/** Hands a tree we created as root over to the service user. */
export function chownTree(path: string, user: ServiceUser): void {
  if (!user.switched) return;
  const st = lstatSync(path);
  chownSync(path, user.uid, user.gid);
  if (st.isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e), user);
}
