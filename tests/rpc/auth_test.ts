/** Credentials (RFC 5531 §8.2, §9 auth_stat, §10.1, appendix A AUTH_SYS). */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  AUTH_NONE,
  AUTH_SYS,
  AUTH_SYS_MAX_GIDS,
  AUTH_SYS_MAX_MACHINE_NAME,
  authStatName,
  authSys,
  decodeAuthSys,
  MAX_AUTH_BYTES,
  readOpaqueAuth,
  writeOpaqueAuth,
} from "../../lib/rpc/mod.ts";
import { XdrError, XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import { hex } from "../xdr/_hex.ts";

Deno.test("authSys() encodes authsys_parms as in RFC 5531 appendix A", () => {
  const auth = authSys({ stamp: 7, machineName: "ab", uid: 0, gid: 1, gids: [2] });
  assert.equal(auth.flavor, AUTH_SYS);
  assert.deepEqual(
    auth.body,
    hex("00000007 00000002 61620000 00000000 00000001 00000001 00000002"),
  );
});

Deno.test("authSys() defaults to no groups and a current stamp", () => {
  const now = Math.floor(Date.now() / 1000);
  const params = decodeAuthSys(authSys({ machineName: "", uid: 1, gid: 2 }));
  assert.deepEqual(params.gids, []);
  assert.ok(Math.abs(params.stamp - now) < 5);
});

Deno.test("authSys() accepts a 255-byte machine name and 16 groups", () => {
  const machineName = "é".repeat(127) + "x"; // 255 bytes of UTF-8
  const gids = Array.from({ length: AUTH_SYS_MAX_GIDS }, (_, i) => i);
  const auth = authSys({ stamp: 1, machineName, uid: 0xffffffff, gid: 0, gids });
  assert.deepEqual(decodeAuthSys(auth), { stamp: 1, machineName, uid: 0xffffffff, gid: 0, gids });
  assert.ok(auth.body.length <= MAX_AUTH_BYTES);
});

Deno.test("authSys() rejects a 256-byte machine name", () => {
  assert.equal(AUTH_SYS_MAX_MACHINE_NAME, 255);
  assert.throws(
    () => authSys({ machineName: "é".repeat(128), uid: 0, gid: 0 }),
    { name: "RangeError", message: "AUTH_SYS machine name is 256 bytes, more than 255" },
  );
});

Deno.test("authSys() rejects 17 groups", () => {
  assert.throws(
    () => authSys({ machineName: "h", uid: 0, gid: 0, gids: new Array(17).fill(0) }),
    { name: "RangeError", message: "AUTH_SYS carries at most 16 groups, got 17" },
  );
});

Deno.test("authSys() rejects ids that are not unsigned 32-bit integers", () => {
  for (const bad of [-1, 0x100000000, 1.5]) {
    assert.throws(() => authSys({ machineName: "h", uid: bad, gid: 0 }), RangeError);
    assert.throws(() => authSys({ machineName: "h", uid: 0, gid: bad }), RangeError);
    assert.throws(() => authSys({ machineName: "h", uid: 0, gid: 0, gids: [bad] }), RangeError);
  }
});

Deno.test("decodeAuthSys() inverts authSys() for any valid parameters", () => {
  fc.assert(
    fc.property(
      fc.record({
        stamp: fc.integer({ min: 0, max: 0xffffffff }),
        machineName: fc.string({ unit: "binary", maxLength: 60 }),
        uid: fc.integer({ min: 0, max: 0xffffffff }),
        gid: fc.integer({ min: 0, max: 0xffffffff }),
        gids: fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 16 }),
      }, { noNullPrototype: true }),
      (params) => {
        assert.deepEqual(decodeAuthSys(authSys(params)), params);
      },
    ),
  );
});

Deno.test("decodeAuthSys() rejects trailing bytes, too many groups and other flavors", () => {
  const good = authSys({ stamp: 1, machineName: "h", uid: 0, gid: 0 });
  const trailing = new Uint8Array(good.body.length + 4);
  trailing.set(good.body);
  assert.throws(() => decodeAuthSys({ flavor: AUTH_SYS, body: trailing }), XdrError);
  const seventeen = hex("00000001 00000000 00000000 00000000 00000011");
  assert.throws(() => decodeAuthSys({ flavor: AUTH_SYS, body: seventeen }), /exceeds maximum 16/);
  assert.throws(() => decodeAuthSys({ flavor: AUTH_NONE, body: new Uint8Array(0) }), TypeError);
});

Deno.test("writeOpaqueAuth() and readOpaqueAuth() round-trip and cap the body at 400 bytes", () => {
  const w = new XdrWriter();
  writeOpaqueAuth(w, { flavor: 6, body: new Uint8Array(400) });
  const r = new XdrReader(w.bytes());
  assert.deepEqual(readOpaqueAuth(r), { flavor: 6, body: new Uint8Array(400) });
  r.assertEnd();
  assert.throws(
    () => writeOpaqueAuth(new XdrWriter(), { flavor: 6, body: new Uint8Array(401) }),
    XdrError,
  );
});

Deno.test("authStatName() names every auth_stat and falls back for unknown ones", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7, 13, 14, 99].map(authStatName),
    [
      "AUTH_OK",
      "AUTH_BADCRED",
      "AUTH_REJECTEDCRED",
      "AUTH_BADVERF",
      "AUTH_REJECTEDVERF",
      "AUTH_TOOWEAK",
      "AUTH_INVALIDRESP",
      "AUTH_FAILED",
      "RPCSEC_GSS_CREDPROBLEM",
      "RPCSEC_GSS_CTXPROBLEM",
      "auth_stat 99",
    ],
  );
});
