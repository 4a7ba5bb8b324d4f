// Proves: the SQL quoting is node-postgres's (escapeIdentifier / escapeLiteral), so a quote or a
// backslash in a password or a name cannot end the literal, whatever standard_conforming_strings is.
import assert from "node:assert/strict";
import { test } from "node:test";
import { quoteIdent, quoteLiteral } from "./client";

test("identifiers and literals are quoted by node-postgres, backslashes as E'…'", () => {
  assert.equal(quoteIdent('we"ird'), '"we""ird"');
  assert.equal(quoteLiteral("it's"), "'it''s'");
  assert.equal(quoteLiteral("a\\b'c"), "E'a\\\\b''c'");
});
