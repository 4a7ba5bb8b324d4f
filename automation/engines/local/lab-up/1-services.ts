// Lab up, phase 1: what every site needs before any cluster: the dependencies, the directories
// (the root traversable by the service user, secrets ours alone), the secrets, the offsite
// object store, the DNS server and lab.json. A restarted lab keeps its state and its DNS answer.
import { existsSync } from "node:fs";
import { parseDuration } from "../../../config/common";
import type { DrConfig } from "../../../config/schema";
import { DrError } from "../../../core/errors";
import { labDir } from "../../../core/state-dirs";
import { freePort } from "../../../system/ports";
import { makeServiceDir, serviceUser } from "../../../system/service-user";
import { checkDependencies } from "../dependencies";
import { startDns } from "../dns";
import type { LabStep, LabUpOptions } from "../lab";
import { LabLayout } from "../layout";
import { startObjectStore } from "../object-store";
import { generateSecrets, loadSecrets, saveSecrets, type LabSecrets } from "../secrets";
import { readLabState, writeLabState } from "../state";

/** Starts the lab's services and writes lab.json; says whether the lab is new. */
export async function startServices(config: DrConfig, opts: LabUpOptions, step: LabStep): Promise<{ fresh: boolean }> {
  const layout = new LabLayout(labDir(config));
  const user = serviceUser(config.lab.serviceUser);
  let done = step("check dependencies (PostgreSQL 15, pgBackRest, openssl)");
  await checkDependencies();
  done();

  // Directories: the root is traversable by the service user; secrets are ours alone.
  makeServiceDir(layout.root, user, 0o755);
  makeServiceDir(`${layout.root}/repos`, user, 0o750);
  makeServiceDir(layout.repo1Dir, user, 0o750);
  for (const d of [layout.pgbackrestDir, `${layout.pgbackrestDir}/log`, `${layout.pgbackrestDir}/lock`, layout.objectStoreDir, layout.dnsDir, `${layout.root}/repos`, `${layout.root}/sites`, `${layout.root}/scratch`]) {
    makeServiceDir(d, user, 0o750);
  }
  let secrets: LabSecrets;
  if (existsSync(layout.secretsFile)) secrets = loadSecrets(layout.secretsFile);
  else {
    secrets = generateSecrets();
    saveSecrets(layout.secretsFile, secrets);
  }

  let state = readLabState(layout.stateFile);
  done = step("start the offsite object store (S3 over TLS)");
  const store = await startObjectStore({
    dir: layout.objectStoreDir,
    bucket: config.repositories.offsite.bucket,
    accessKey: secrets.s3AccessKey,
    secretKey: secrets.s3SecretKey,
    caReader: user,
  });
  done(store.endpoint);

  const addresses = config.lab.addresses;
  if (!addresses.primary || !addresses.secondary) {
    throw new DrError("CONFIG_INVALID", "lab.addresses must name a primary and a secondary address", { hint: "see README.md" });
  }
  done = step("start the lab DNS server");
  // A new lab answers with the primary; a restarted one keeps whatever answer it had (a swap).
  const dns = await startDns({ dir: layout.dnsDir, records: state ? undefined : { [config.serviceName]: addresses.primary } });
  done(`${config.serviceName} → ${addresses.primary}`);

  const fresh = state === undefined;
  if (!state) {
    const port = config.lab.port || (await freePort(Object.values(addresses)));
    state = {
      version: 1,
      createdAt: new Date().toISOString(),
      stanza: config.stanza,
      database: config.database,
      serviceName: config.serviceName,
      port,
      scale: opts.scale ?? config.lab.scale,
      archiveTimeoutSeconds: parseDuration("10s")!,
      sites: { primary: { role: "primary", address: addresses.primary }, secondary: { role: "secondary", address: addresses.secondary } },
      dns: { port: dns.port },
      objectStore: { endpoint: store.endpoint, host: store.host, port: store.port, bucket: store.bucket, region: store.region, caFile: store.caFile, uriStyle: store.uriStyle },
    };
  } else {
    state = { ...state, dns: { port: dns.port }, objectStore: { ...state.objectStore, port: store.port, host: store.host, caFile: store.caFile } };
  }
  writeLabState(layout.stateFile, state);
  return { fresh };
}
