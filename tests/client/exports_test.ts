/**
 * What mod.ts offers a library user: every error class a public method
 * throws, so that it can be told apart with `instanceof` (each with its
 * own `name`), and what the documentation's examples use.
 */

import assert from "node:assert/strict";
import * as nfs4 from "../../mod.ts";

/** Error classes public methods throw, by the name each gives its errors. */
const ERROR_CLASSES = [
  "AttributesNotSetError",
  "ClientClosedError",
  "CopyError",
  "CreatedFileLeftError",
  "FileClosedError",
  "IncompleteCopyError",
  "LocalFileError",
  "LockConflictError",
  "LockWaitDeadline",
  "MinorVersionError",
  "NfsError",
  "PathError",
  "RecoveryError",
  "RpcAcceptedError",
  "RpcConnectionError",
  "RpcDeniedError",
  "RpcError",
  "RpcTimeoutError",
  "ServerNotRespondingError",
  "StateNotReleasedError",
  "SymlinkInTreeError",
  "UsageError",
] as const;

Deno.test("mod.ts exports every error class a public method throws, each a subclass of Error", () => {
  const exported = nfs4 as unknown as Record<string, unknown>;
  for (const name of ERROR_CLASSES) {
    const value = exported[name];
    assert.equal(typeof value, "function", `${name} is exported`);
    assert.ok(
      (value as { prototype: unknown }).prototype instanceof Error,
      `${name} is an Error class`,
    );
  }
});

Deno.test("mod.ts exports what its examples use: parseLocation and NFS4_UINT64_MAX", () => {
  assert.equal(nfs4.NFS4_UINT64_MAX, 0xffff_ffff_ffff_ffffn);
  assert.equal(typeof nfs4.parseLocation, "function");
  const where = nfs4.parseLocation("nfs://127.0.0.1/vfs/");
  assert.equal(where.kind, "nfs");
});

Deno.test("ClientClosedError, FileClosedError and AttributesNotSetError name the path and the class", () => {
  const closed = new nfs4.ClientClosedError("127.0.0.1:2049").withPath("/vfs/a");
  assert.ok(closed instanceof nfs4.ClientClosedError);
  assert.equal(closed.name, "ClientClosedError");
  assert.equal(closed.path, "/vfs/a");
  assert.equal(closed.server, "127.0.0.1:2049");
  assert.match(closed.message, /^\/vfs\/a: client closed/);
  assert.match(new nfs4.ClientClosedError("127.0.0.1:2049").message, /^127\.0\.0\.1:2049: /);
  const file = new nfs4.FileClosedError("/vfs/b");
  assert.equal(file.name, "FileClosedError");
  assert.equal(file.path, "/vfs/b");
  const notSet = new nfs4.AttributesNotSetError("/vfs/c", [33, 54]);
  assert.equal(notSet.name, "AttributesNotSetError");
  assert.equal(notSet.path, "/vfs/c");
  assert.deepEqual(notSet.notSet, [33, 54]);
  assert.equal(
    notSet.message,
    "/vfs/c: the server did not set mode, time_modify_set (SETATTR attrsset)",
  );
});
