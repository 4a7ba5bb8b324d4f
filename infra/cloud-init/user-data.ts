// The host's user data: a #cloud-config document that writes every rendered file and runs the
// bootstrap once. Pure: the PostgresHost component feeds it resolved values (inside an apply,
// so that the passphrase stays a Pulumi secret) and tests call it directly.
import { gzipSync } from "node:zlib";
import { stringify } from "yaml";
import { hostPaths, type HostSpec } from "./host-spec";
import { renderPgbackrestConf } from "./pgbackrest-conf";
import { renderCreateclusterConf, renderPgHba, renderPostgresqlConf } from "./postgresql-conf";
import { renderBootstrap, renderEventScript, renderInstallPgbackrestConfScript, renderIsWriterScript } from "./scripts";
import { renderUnits } from "./systemd";

export interface RenderedFile {
  path: string;
  content: string;
  /** Octal mode string as cloud-init takes it. */
  permissions: string;
}

/** The `dr` configuration on the host: what `dr health --publish` reads (shared thresholds). */
export function renderDrConfig(spec: HostSpec): string {
  const sites: Record<string, { role: string; region?: string }> = { [spec.site]: { role: spec.role, region: spec.region } };
  if (spec.role !== "primary") sites.primary = { role: "primary", ...(spec.repo2 ? { region: spec.repo2.region } : {}) };
  const doc = {
    environment: spec.environment,
    engine: "pulumi",
    stanza: spec.stanza,
    database: spec.database,
    serviceName: spec.serviceName,
    sites,
    repositories: {
      local: { type: "s3", bucket: spec.repo1.bucket, region: spec.repo1.region, retention: spec.repo1.retention, cipher: spec.cipherPassSecret !== undefined },
      ...(spec.repo2
        ? {
            offsite: {
              bucket: spec.repo2.bucket,
              region: spec.repo2.region,
              uriStyle: "host",
              path: spec.repo2.path,
              retention: spec.repo2.retention,
              cipher: spec.cipherPassSecret !== undefined,
            },
          }
        : {}),
    },
    objectives: spec.objectives,
    alerts: spec.alerts,
    schedules: spec.schedules,
    // This machine is the site's host: health and the backup manifest act on its own cluster.
    host: { site: spec.site, socketDir: hostPaths.socketDir, port: 5432, user: "postgres", pgbackrestConfig: hostPaths.pgbackrestConf, logFile: hostPaths.serverLog },
  };
  return `# fp-dr: managed by Pulumi (infra/cloud-init/user-data.ts).\n${stringify(doc)}`;
}

/** Every file the host gets, in the order cloud-init writes them. */
export function renderFiles(spec: HostSpec): RenderedFile[] {
  const p = hostPaths;
  return [
    { path: p.createclusterConf, content: renderCreateclusterConf(), permissions: "0644" },
    { path: p.postgresqlConf, content: renderPostgresqlConf(spec), permissions: "0644" },
    { path: p.pgHba, content: renderPgHba(spec), permissions: "0644" },
    { path: p.pgbackrestConfStaged, content: renderPgbackrestConf(spec), permissions: "0600" },
    { path: p.installPgbackrestConf, content: renderInstallPgbackrestConfScript(), permissions: "0700" },
    { path: p.drConfig, content: renderDrConfig(spec), permissions: "0644" },
    { path: p.event, content: renderEventScript(spec), permissions: "0755" },
    { path: p.isWriter, content: renderIsWriterScript(), permissions: "0755" },
    ...renderUnits(spec).map((u) => ({ path: `${p.systemdDir}/${u.name}`, content: u.content, permissions: "0644" })),
    { path: p.bootstrap, content: renderBootstrap(spec), permissions: "0700" },
  ];
}

/** The #cloud-config document. */
export function renderCloudConfig(spec: HostSpec): string {
  const doc: Record<string, unknown> = {
    // Packages are installed by the bootstrap, after the data volume is mounted.
    package_update: false,
    write_files: renderFiles(spec).map((f) => ({ path: f.path, permissions: f.permissions, owner: "root:root", content: f.content })),
    runcmd: [[hostPaths.bootstrap]],
  };
  if (spec.sshPublicKey) doc.ssh_authorized_keys = [spec.sshPublicKey];
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}

/** EC2 accepts 16 KiB of user data; cloud-init reads gzip, so we always compress. */
export const userDataLimitBytes = 16384;

/** The user data as EC2's userDataBase64: gzip of the cloud-config, base64-encoded. */
export function renderUserDataBase64(spec: HostSpec): string {
  const gz = gzipSync(Buffer.from(renderCloudConfig(spec), "utf8"), { level: 9 });
  if (gz.length > userDataLimitBytes) throw new Error(`user data is ${gz.length} bytes compressed; EC2 accepts ${userDataLimitBytes}`);
  return gz.toString("base64");
}
