// Proves the server-log reader: times of %m / %t prefixes in UTC, numeric offsets and zone
// names; only "authentication failed" lines inside the window count; user names, not passwords.
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { countFailedLogins, logLineTime } from "./server-log";

describe("server log", () => {
  const dir = mkdtempSync(join(tmpdir(), "fp-dr-log-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the time at the start of a line", () => {
    assert.equal(logLineTime("2025-03-01 10:00:00.123 UTC [12] app@fp FATAL:  x")?.toISOString(), "2025-03-01T10:00:00.123Z");
    assert.equal(logLineTime("2025-03-01 10:00:00 GMT [12] LOG:  x")?.toISOString(), "2025-03-01T10:00:00.000Z");
    assert.equal(logLineTime("2025-03-01 12:00:00.5 +02 [12] LOG:  x")?.toISOString(), "2025-03-01T10:00:00.500Z");
    assert.equal(logLineTime("2025-03-01 05:30:00 -0430 [12] LOG:  x")?.toISOString(), "2025-03-01T10:00:00.000Z");
    assert.equal(logLineTime("\tConnection matched pg_hba.conf line 3"), undefined);
  });

  it("counts failed logins in the window, per user", () => {
    const path = join(dir, "postgresql.log");
    writeFileSync(
      path,
      [
        `2025-03-01 08:00:00.000 UTC [1] alice@fp FATAL:  password authentication failed for user "alice"`,
        `2025-03-01 09:30:00.000 UTC [2] alice@fp FATAL:  password authentication failed for user "alice"`,
        `2025-03-01 09:31:00.000 UTC [3] [unknown]@fp DETAIL:  Connection matched pg_hba.conf line 3: "host all all 127.0.0.0/8 scram-sha-256"`,
        `2025-03-01 09:45:00.000 UTC [4] bob@fp FATAL:  password authentication failed for user "bob"`,
        `2025-03-01 09:50:00.000 UTC [5] carol@fp FATAL:  Peer authentication failed for user "carol"`,
        `FATAL:  password authentication failed for user "nodate"`,
        `2025-03-01 09:55:00.000 UTC [6] app@fp LOG:  connection authorized: user=app database=fp`,
        "",
      ].join("\n"),
    );
    const r = countFailedLogins(path, new Date("2025-03-01T09:00:00Z"));
    assert.equal(r.count, 3);
    assert.deepEqual(r.byUser, { alice: 1, bob: 1, carol: 1 });
    assert.equal(r.undated, 1);
    // only the tail is read when asked: the first (cut) line is dropped
    const tail = countFailedLogins(path, new Date("2025-03-01T00:00:00Z"), 250);
    assert.ok(tail.bytesRead <= 250 && tail.count < 4);
  });
});
