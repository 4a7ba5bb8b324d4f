// Pure parts of table-level recovery: table names as operators type them, the order in which
// dependent tables are written back (parents first, whatever the foreign keys' order), keys as
// people read them, and the command's option checks.
import assert from "node:assert/strict";
import { test } from "node:test";
import { deletionRequest } from "../commands/recover-table";
import { isDrError } from "../core/errors";
import { dependentTables, parseTableName, showKey, type ForeignKey } from "./table";

const fk = (name: string, child: string, parent: string): ForeignKey => ({ name, child, childColumns: ["x"], parent, parentColumns: ["id"] });

// The sample database's foreign keys, deliberately listed children first.
const sample: ForeignKey[] = [
  fk("goals_plan_fk", "app.goals", "app.plans"),
  fk("ledger_account_fk", "app.ledger", "app.accounts"),
  fk("holdings_account_fk", "app.holdings", "app.accounts"),
  fk("accounts_client_fk", "app.accounts", "app.clients"),
  fk("accounts_household_fk", "app.accounts", "app.households"),
  fk("plans_household_fk", "app.plans", "app.households"),
  fk("clients_household_fk", "app.clients", "app.households"),
  fk("other_fk", "app.unrelated", "app.elsewhere"),
  fk("self_fk", "app.households", "app.households"),
];

test("dependent tables come parents first, only those reachable, self-references ignored", () => {
  const order = dependentTables(sample, "app.households");
  assert.deepEqual(new Set(order), new Set(["app.clients", "app.accounts", "app.holdings", "app.ledger", "app.plans", "app.goals"]));
  const at = (t: string) => order.indexOf(t);
  for (const f of sample.filter((x) => order.includes(x.child) && order.includes(x.parent))) {
    assert.ok(at(f.parent) < at(f.child), `${f.parent} before ${f.child}`);
  }
  assert.deepEqual(dependentTables(sample, "app.accounts"), ["app.holdings", "app.ledger"]);
  assert.deepEqual(dependentTables(sample, "app.goals"), []);
});

test("table names: schema.table, folded like unquoted SQL; anything else is refused", () => {
  assert.deepEqual(parseTableName("App.Households"), { schema: "app", name: "households" });
  assert.deepEqual(parseTableName("households"), { schema: "public", name: "households" });
  for (const bad of ["app.households; drop table x", "a.b.c", "", "app.", '"app".x']) {
    assert.throws(() => parseTableName(bad), (e: unknown) => isDrError(e, "USAGE"));
  }
});

test("keys read as people write them", () => {
  assert.equal(showKey("[1234]"), "1234");
  assert.equal(showKey('[1, "a"]'), '(1, "a")');
});

test("options: --before and --audit exclude each other; times need a zone; audit narrowing needs the audit log", () => {
  const ok = deletionRequest({ table: "app.households", keys: "1, 2", apply: true });
  assert.deepEqual(ok.keys, ["1", "2"]);
  assert.equal(ok.apply, true);
  assert.equal(ok.includeDependents, false);
  const cases: [Parameters<typeof deletionRequest>[0], string][] = [
    [{ table: "app.households", before: "2026-11-26T03:14:00Z", audit: true }, "USAGE"],
    [{ table: "app.households", before: "2026-11-26T03:14:00" }, "TARGET_INVALID"],
    [{ table: "app.households", before: "2026-11-26T03:14:00Z", keys: "1" }, "USAGE"],
    [{ table: "" }, "USAGE"],
  ];
  for (const [o, code] of cases) assert.throws(() => deletionRequest(o), (e: unknown) => isDrError(e) && e.code === code, JSON.stringify(o));
});
