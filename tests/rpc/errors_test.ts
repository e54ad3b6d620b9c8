/** The RPC error classes: hierarchy, retriability, messages and causes. */

import assert from "node:assert/strict";
import {
  formatEndpoint,
  NFS4_CALLBACK_PROGRAM_DEFAULT,
  NFS_PROGRAM,
  NFS_V4,
  replyError,
  RpcAcceptedError,
  RpcConnectionError,
  RpcDeniedError,
  RpcError,
  RpcProtocolError,
  RpcRecordTooLargeError,
  RpcTimeoutError,
} from "../../lib/rpc/mod.ts";
import { XdrError } from "../../lib/xdr/mod.ts";

const call = { xid: 1, program: 100003, version: 4, procedure: 1 };

Deno.test("RpcError subclasses extend Error and RpcError and name themselves", () => {
  const errors: [RpcError, string, boolean][] = [
    [new RpcAcceptedError(call, 5), "RpcAcceptedError", false],
    [new RpcDeniedError(call, { rejectStat: 1, authStat: 1 }), "RpcDeniedError", false],
    [new RpcTimeoutError("call timed out", 10), "RpcTimeoutError", true],
    [
      new RpcConnectionError("connection closed by h:1", { host: "h", port: 1 }),
      "RpcConnectionError",
      true,
    ],
    [new RpcRecordTooLargeError(10, 5), "RpcRecordTooLargeError", false],
    [new RpcProtocolError("malformed reply", 1), "RpcProtocolError", false],
  ];
  for (const [error, name, retriable] of errors) {
    assert.ok(error instanceof Error);
    assert.ok(error instanceof RpcError);
    assert.equal(error.name, name);
    assert.equal(error.retriable, retriable, name);
    assert.doesNotMatch(error.message, /\.$/, "no trailing period");
  }
});

Deno.test("RpcConnectionError.fromSocketError() says what happened and where", () => {
  const cases: [string | undefined, string][] = [
    ["ECONNREFUSED", "connection refused by 127.0.0.1:2049"],
    ["ECONNRESET", "connection reset by 127.0.0.1:2049"],
    ["EPIPE", "connection to 127.0.0.1:2049 broken (EPIPE)"],
    ["ETIMEDOUT", "connection to 127.0.0.1:2049 timed out"],
    ["EHOSTUNREACH", "cannot reach 127.0.0.1:2049 (EHOSTUNREACH)"],
    ["ENOTFOUND", "cannot resolve host 127.0.0.1 (ENOTFOUND)"],
    [undefined, "connection to 127.0.0.1:2049 failed: something odd"],
  ];
  for (const [code, message] of cases) {
    const cause = Object.assign(new Error("something odd"), code ? { code } : {});
    const error = RpcConnectionError.fromSocketError("127.0.0.1", 2049, cause);
    assert.equal(error.message, message);
    assert.equal(error.code, code);
    assert.equal(error.cause, cause);
    assert.equal(error.retriable, true);
    assert.equal(error.host, "127.0.0.1");
    assert.equal(error.port, 2049);
  }
});

Deno.test("RpcConnectionError can be made non-retriable", () => {
  const error = new RpcConnectionError("transport closed", { host: "h", port: 1 }, {
    retriable: false,
  });
  assert.equal(error.retriable, false);
});

Deno.test("formatEndpoint() brackets IPv6 addresses", () => {
  assert.equal(formatEndpoint("127.0.0.1", 2049), "127.0.0.1:2049");
  assert.equal(formatEndpoint("::1", 2049), "[::1]:2049");
  assert.equal(formatEndpoint("nfs.example", 2049), "nfs.example:2049");
});

Deno.test("RpcProtocolError chains the XdrError as its cause", () => {
  const cause = new XdrError("truncated int", 4);
  const error = new RpcProtocolError("malformed reply", 7, { cause });
  assert.equal(error.cause, cause);
  assert.equal(error.xid, 7);
});

Deno.test("replyError() maps each reply status to its error class", () => {
  assert.equal(
    replyError(call, {
      replyStat: 0,
      verifier: { flavor: 0, body: new Uint8Array(0) },
      acceptStat: 0,
    }),
    undefined,
  );
  assert.ok(
    replyError(call, {
      replyStat: 0,
      verifier: { flavor: 0, body: new Uint8Array(0) },
      acceptStat: 1,
    }) instanceof
      RpcAcceptedError,
  );
  assert.ok(
    replyError(call, { replyStat: 1, rejectStat: 0, mismatch: { low: 2, high: 2 } }) instanceof
      RpcDeniedError,
  );
  assert.ok(
    replyError(call, { replyStat: 1, rejectStat: 1, authStat: 2 }) instanceof RpcDeniedError,
  );
});

Deno.test("NFS_PROGRAM, NFS_V4 and NFS4_CALLBACK_PROGRAM_DEFAULT have their assigned values", () => {
  assert.equal(NFS_PROGRAM, 100003);
  assert.equal(NFS_V4, 4);
  assert.equal(NFS4_CALLBACK_PROGRAM_DEFAULT, 0x40000000);
});
