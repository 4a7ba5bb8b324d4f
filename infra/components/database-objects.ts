// What the application and the toolkit need inside PostgreSQL: the application database and
// its owner role, a backup role (logical exports), a read-only verifier role for drills
// (reads everything, runs amcheck, changes nothing), and the amcheck and pg_stat_statements
// extensions. Declared only on the writer, once the host is ready; a restored copy carries
// them along.
import * as pulumi from "@pulumi/pulumi";
import * as postgresql from "@pulumi/postgresql";
import { childName } from "../naming";

export interface DatabaseObjectsArgs {
  /** Where the provider connects (local end of the SSM forward, or the host). Required. */
  host: pulumi.Input<string>;
  /** Port. Required. */
  port: number;
  /** libpq sslmode, explicit. Default "require". */
  sslmode?: "require" | "verify-ca" | "verify-full";
  /** Superuser the provider logs in as. Required. */
  username: string;
  /** Its password (secret). Required. */
  password: pulumi.Input<string>;
  /** Seconds before a connection attempt fails. Default 15. */
  connectTimeout?: number;
  /** The application database. Required. */
  database: string;
  /** Role names. Required. */
  roles: { app: string; backup: string; verifier: string };
  /** Role passwords (secrets). Required. */
  passwords: { app: pulumi.Input<string>; backup: pulumi.Input<string>; verifier: pulumi.Input<string> };
  /**
   * The stream's role (REPLICATION, no other right; password: its own secret) and the physical
   * slot the standby streams through (WAL is kept for it until it has received it). Default none.
   */
  replication?: { role: string; password: pulumi.Input<string>; slot: string };
  /** Resources the provider must wait for (the readiness gate). Default none. */
  ready?: pulumi.Input<pulumi.Resource>[];
}

export class DatabaseObjects extends pulumi.ComponentResource {
  readonly databaseName: pulumi.Output<string>;

  constructor(name: string, args: DatabaseObjectsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("fp-dr:site:DatabaseObjects", name, {}, opts);
    const n = (part: string) => childName(name, part);
    const provider = new postgresql.Provider(
      n("provider"),
      {
        host: args.host,
        port: args.port,
        username: args.username,
        password: args.password,
        database: "postgres",
        sslmode: args.sslmode ?? "require",
        superuser: true,
        connectTimeout: args.connectTimeout ?? 15,
        expectedVersion: "15",
      },
      { parent: this, dependsOn: args.ready },
    );
    const o = { parent: this, provider };

    const app = new postgresql.Role(n("app"), { name: args.roles.app, login: true, password: args.passwords.app, connectionLimit: 200 }, o);
    const backup = new postgresql.Role(n("backup"), { name: args.roles.backup, login: true, password: args.passwords.backup }, o);
    // Read-only by construction: it owns nothing and is granted only read roles below.
    const verifier = new postgresql.Role(
      n("verifier"),
      { name: args.roles.verifier, login: true, password: args.passwords.verifier, searchPaths: ["public", "amcheck"], statementTimeout: 3_600_000 },
      o,
    );
    const db = new postgresql.Database(n("database"), { name: args.database, owner: app.name, encoding: "UTF8", lcCollate: "C.UTF-8", lcCtype: "C.UTF-8", template: "template0" }, o);

    new postgresql.Extension(n("pg-stat-statements"), { name: "pg_stat_statements", database: db.name }, o);
    const amcheckSchema = new postgresql.Schema(n("amcheck-schema"), { name: "amcheck", database: db.name, owner: args.username }, o);
    const amcheck = new postgresql.Extension(n("amcheck"), { name: "amcheck", database: db.name, schema: amcheckSchema.name }, o);

    // pg_read_all_data: exports and verification read every table; pg_monitor: statistics
    // (pg_stat_statements included).
    new postgresql.GrantRole(n("backup-reads"), { role: backup.name, grantRole: "pg_read_all_data" }, o);
    new postgresql.GrantRole(n("verifier-reads"), { role: verifier.name, grantRole: "pg_read_all_data" }, o);
    new postgresql.GrantRole(n("verifier-monitors"), { role: verifier.name, grantRole: "pg_monitor" }, o);
    // amcheck revokes its functions from PUBLIC; the verifier may run them, nobody else.
    new postgresql.Grant(n("verifier-amcheck-schema"), { database: db.name, role: verifier.name, schema: amcheckSchema.name, objectType: "schema", privileges: ["USAGE"] }, o);
    new postgresql.Grant(
      n("verifier-amcheck-functions"),
      { database: db.name, role: verifier.name, schema: amcheckSchema.name, objectType: "function", privileges: ["EXECUTE"] },
      { ...o, dependsOn: [amcheck] },
    );

    if (args.replication) {
      const r = args.replication;
      new postgresql.Role(n("replication"), { name: r.role, login: true, replication: true, password: r.password, connectionLimit: 5 }, o);
      new postgresql.PhysicalReplicationSlot(n("slot"), { name: r.slot }, o);
    }

    this.databaseName = db.name;
    this.registerOutputs({ databaseName: this.databaseName });
  }
}
