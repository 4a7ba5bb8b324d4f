// Lab up, phase 3: on the primary, the roles and the application database, fp-dr's own schema
// (the heartbeat the write load commits; RPO is measured with it) and, on a new or empty lab,
// the sample financial-planning database. A primary in recovery (read-only) is left as it is.
import type { Client } from "pg";
import { quoteIdent, quoteLiteral } from "../../../postgres/client";
import type { Lab, LabStep, LabUpOptions } from "../lab";
import { createSampleDatabase } from "../sample-data/generate";
import type { LabSecrets } from "../secrets";

/** False when the primary is in recovery: nothing more is done to the lab. */
export async function prepareDatabase(lab: Lab, fresh: boolean, opts: LabUpOptions, step: LabStep): Promise<boolean> {
  const { state, secrets } = lab;
  let done: (detail?: string) => void;
  const admin = await lab.connect("primary", "postgres");
  try {
    // A primary in recovery (a standby.signal left by hand) takes no writes: set up nothing.
    if ((await admin.query("select pg_is_in_recovery() as r")).rows[0].r) {
      step("the primary site is in recovery (read-only): nothing to set up")();
      return false;
    }
    const exists = await admin.query("select 1 from pg_database where datname = $1", [state.database]);
    if (exists.rowCount === 0) {
      done = step("create roles and the application database");
      await createRolesAndDatabase(admin, state.database, secrets, (db) => lab.connect("primary", db));
      done();
    }
  } finally {
    await admin.end();
  }

  // fp-dr's own schema: the heartbeat the write load commits (RPO is measured with it).
  const own = await lab.connect("primary");
  try {
    await own.query(`create schema if not exists fp_dr;
      create table if not exists fp_dr.heartbeat (id bigint generated always as identity primary key, at timestamptz not null, writer text);
      grant usage on schema fp_dr to app, verifier;
      grant select, insert on fp_dr.heartbeat to app;
      grant select on fp_dr.heartbeat to verifier`);
  } finally {
    await own.end();
  }

  if (fresh || (await isEmptyDatabase(lab))) {
    done = step(`generate the sample financial-planning database (scale ${state.scale})`);
    const db = await lab.connect("primary");
    try {
      await createSampleDatabase(db, { scale: state.scale, onProgress: opts.onProgress });
      await db.query("grant usage on schema app to app, verifier; grant select, insert, update, delete on all tables in schema app to app; grant usage, select on all sequences in schema app to app; grant select on all tables in schema app to verifier");
    } finally {
      await db.end();
    }
    done();
  }
  return true;
}

async function isEmptyDatabase(lab: Lab): Promise<boolean> {
  const c = await lab.connect("primary");
  try {
    const r = await c.query("select count(*)::int n from information_schema.tables where table_schema = 'app'");
    return r.rows[0].n === 0;
  } finally {
    await c.end();
  }
}

/** Roles of the runbook's world: the application, a read-only verifier for drills. */
async function createRolesAndDatabase(admin: Client, database: string, secrets: LabSecrets, connectTo: (db: string) => Promise<Client>): Promise<void> {
  await admin.query(`create role app login password ${quoteLiteral(secrets.appPassword)}`);
  await admin.query(`create role verifier login password ${quoteLiteral(secrets.verifierPassword)} in role pg_read_all_data, pg_monitor`);
  await admin.query(`create database ${quoteIdent(database)}`);
  const db = await connectTo(database);
  try {
    await db.query("create extension if not exists amcheck; create extension if not exists pg_stat_statements");
    await db.query("grant execute on function bt_index_check(regclass, boolean) to verifier");
  } finally {
    await db.end();
  }
}
