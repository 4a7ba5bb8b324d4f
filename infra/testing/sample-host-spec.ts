// A realistic HostSpec for the renderer tests: the primary of the example stack files.
import { alertThresholds, objectives, pgbackrestTuning, retention, schedules } from "../../automation/config/common";
import type { HostSpec } from "../cloud-init/host-spec";

export function sampleHostSpec(overrides: Partial<HostSpec> = {}): HostSpec {
  return {
    role: "primary",
    environment: "production",
    site: "primary",
    region: "eu-central-1",
    stanza: "fp",
    database: "financial_planning",
    serviceName: "db.fp.internal",
    repo1: { bucket: "fp-dr-production-pgbackrest-eu-central-1-123456789012", region: "eu-central-1", path: "/pgbackrest", retention: retention.parse({}) },
    repo2: { bucket: "fp-dr-production-pgbackrest-eu-west-1-123456789012", region: "eu-west-1", path: "/pgbackrest", retention: retention.parse({}) },
    cipherPassSecret: { name: "fp-dr/production/repository-cipher-pass", region: "eu-central-1" },
    writer: true,
    objectives: objectives.parse({}),
    schedules: schedules.parse({}),
    maintenanceSchedule: "*-*-* 02:30:00",
    alerts: alertThresholds.parse({}),
    pgbackrest: pgbackrestTuning.parse({}),
    clientCidrs: ["10.10.0.0/16", "10.20.0.0/16"],
    roles: { app: "fp_app", backup: "fp_backup", verifier: "fp_verifier", admin: "fp_admin" },
    architecture: "x86_64",
    dataVolumeId: "vol-0123456789abcdef0",
    toolkitUrl: "s3://fp-dr-artifacts-eu-central-1/releases/fp-dr-0.1.0.tgz",
    sshPublicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExampleExampleExampleExample ops@fp-dr",
    ...overrides,
  };
}
