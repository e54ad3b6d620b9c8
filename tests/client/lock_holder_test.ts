/**
 * plausibleHolder() and describeLockHolder() (lib/client/errors.ts): which
 * LOCK4denied can name a real holder of a conflicting lock (issue 15 item
 * 7), and how a holder the server did not name is worded.
 */

import assert from "node:assert/strict";
import type { LockHolder } from "../../lib/client/api.ts";
import { describeLockHolder, plausibleHolder } from "../../lib/client/errors.ts";

const MAX = 0xffff_ffff_ffff_ffffn;
const REAL: LockHolder = {
  type: "write",
  offset: 0n,
  length: MAX,
  clientid: 0x6b13_8a09_0000_0001n,
  owner: "lock-p42-1",
};
const WHOLE = { type: "write", offset: 0n, length: MAX } as const;

Deno.test("plausibleHolder() takes a holder whose lock conflicts with the range asked for", () => {
  assert.equal(plausibleHolder(REAL, WHOLE), true);
  assert.equal(plausibleHolder(REAL, { type: "read", offset: 10n, length: 1n }), true);
  assert.equal(plausibleHolder({ ...REAL, offset: 100n, length: 10n }, WHOLE), true);
  assert.equal(
    plausibleHolder({ ...REAL, type: "read" }, { type: "write", offset: 5n, length: 1n }),
    true,
  );
});

Deno.test("plausibleHolder() refuses what a server makes up: client ID 0, a placeholder owner, ranges that cannot conflict", () => {
  assert.equal(plausibleHolder({ ...REAL, clientid: 0n }, WHOLE), false);
  assert.equal(plausibleHolder({ ...REAL, owner: "ganesha_unknown_owner" }, WHOLE), false);
  assert.equal(plausibleHolder({ ...REAL, owner: "" }, WHOLE), false);
  // Uninitialised ranges (4.0): past the range asked for, or past 2^64.
  const garbage = { ...REAL, offset: 0x7f3a_1c2d_0000_1000n, length: 0x5599_aabb_ccdd_0000n };
  assert.equal(plausibleHolder(garbage, { type: "write", offset: 0n, length: 4096n }), false);
  assert.equal(plausibleHolder({ ...REAL, offset: MAX - 5n, length: 10n }, WHOLE), false);
  // Two shared locks never conflict.
  assert.equal(plausibleHolder({ ...REAL, type: "read" }, { ...WHOLE, type: "read" }), false);
});

Deno.test("describeLockHolder() names a real holder and never prints an unknown one's fields", () => {
  assert.equal(
    describeLockHolder(REAL),
    "exclusive lock on bytes 0- held by lock owner lock-p42-1 (client 0x6b138a0900000001)",
  );
  assert.equal(
    describeLockHolder({ ...REAL, clientid: 0n, owner: "ganesha_unknown_owner", unknown: true }),
    "a conflicting lock held by an unknown holder (the server did not say who)",
  );
});
