// Where everything of the local lab lives. One directory holds it all, so `dr lab down --purge`
// is one removal and two labs (tests run their own) never share a file.
//
//   <lab>/lab.json                 state: port, addresses, daemons, sites (no secrets)
//   <lab>/secrets.json             generated passwords and cipher passphrases (0600)
//   <lab>/sites/<site>/data        PGDATA of the site's cluster
//   <lab>/sites/<site>/run         socket + server log
//   <lab>/sites/<site>/pgbackrest.conf
//   <lab>/repos/primary-region     the primary region's repository (pgBackRest repo1)
//   <lab>/pgbackrest/{log,lock,spool}
//   <lab>/objectstore              the offsite S3 store (repo2) and the shared documents' bucket: data, TLS, pid, log
//   <lab>/shared                   the shared store's lease and control state (engines/local/shared-store.ts)
//   <lab>/dns                      the lab's DNS server: zone, pid, log
//   <lab>/scratch/<id>             throwaway clusters (restore elsewhere, table recovery)
//   <lab>/journal, <lab>/reports, <lab>/incidents   runs (paths in core/state-dirs.ts)
import { join } from "node:path";

export class LabLayout {
  constructor(readonly root: string) {}
  get stateFile() {
    return join(this.root, "lab.json");
  }
  get secretsFile() {
    return join(this.root, "secrets.json");
  }
  siteDir(site: string) {
    return join(this.root, "sites", site);
  }
  dataDir(site: string) {
    return join(this.siteDir(site), "data");
  }
  runDir(site: string) {
    return join(this.siteDir(site), "run");
  }
  pgbackrestConf(site: string) {
    return join(this.siteDir(site), "pgbackrest.conf");
  }
  /** repo1: the primary region's repository (a bucket in that region on AWS). */
  get repo1Dir() {
    return join(this.root, "repos", "primary-region");
  }
  get pgbackrestDir() {
    return join(this.root, "pgbackrest");
  }
  get objectStoreDir() {
    return join(this.root, "objectstore");
  }
  get dnsDir() {
    return join(this.root, "dns");
  }
  scratchDir(id: string) {
    return join(this.root, "scratch", id);
  }
}
