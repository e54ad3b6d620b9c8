/** RPC message headers (RFC 5531 §9): byte vectors and typed errors for each reply status. */

import assert from "node:assert/strict";
import {
  acceptStatName,
  AUTH_ERROR,
  AUTH_NONE,
  AUTH_SYS,
  AUTH_TOOWEAK,
  authNone,
  authSys,
  CALL,
  decodeAuthSys,
  GARBAGE_ARGS,
  MSG_ACCEPTED,
  MSG_DENIED,
  PROC_UNAVAIL,
  PROG_MISMATCH,
  PROG_UNAVAIL,
  readCallHeader,
  readMessageStart,
  readReplyBody,
  readReplyHeader,
  REPLY,
  replyError,
  RPC_MISMATCH,
  RpcAcceptedError,
  RpcDeniedError,
  RpcError,
  SUCCESS,
  SYSTEM_ERR,
  writeAcceptedReply,
  writeCallHeader,
  writeDeniedReply,
} from "../../lib/rpc/mod.ts";
import { XdrError, XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import { hex } from "../xdr/_hex.ts";

const target = { xid: 0x0a0b0c0d, program: 100003, version: 4, procedure: 1 };

function bytesOf(write: (w: XdrWriter) => void): Uint8Array {
  const w = new XdrWriter();
  write(w);
  return w.bytes().slice();
}

Deno.test("writeCallHeader() encodes an AUTH_NONE CALL header", () => {
  const bytes = bytesOf((w) =>
    writeCallHeader(w, { xid: 0x12345678, program: 100003, version: 4, procedure: 1 })
  );
  assert.deepEqual(
    bytes,
    hex(
      "12345678 00000000 00000002 000186a3 00000004 00000001" +
        "00000000 00000000 00000000 00000000",
    ),
  );
});

const authSysCall = hex(
  "00000001 00000000 00000002 000186a3 00000004 00000000" +
    "00000001 00000020 01020304 00000004 686f7374 000003e8 00000064 00000002 00000064 0000001b" +
    "00000000 00000000" +
    "deadbeef",
);

Deno.test("writeCallHeader() encodes an AUTH_SYS credential", () => {
  const credential = authSys({
    stamp: 0x01020304,
    machineName: "host",
    uid: 1000,
    gid: 100,
    gids: [100, 27],
  });
  const bytes = bytesOf((w) => {
    writeCallHeader(w, { xid: 1, program: 100003, version: 4, procedure: 0, credential });
    w.writeUint(0xdeadbeef);
  });
  assert.deepEqual(bytes, authSysCall);
});

Deno.test("readCallHeader() decodes an incoming CALL and leaves the reader at the arguments", () => {
  const r = new XdrReader(authSysCall);
  const header = readCallHeader(r);
  assert.equal(header.xid, 1);
  assert.equal(header.rpcVersion, 2);
  assert.equal(header.program, 100003);
  assert.equal(header.version, 4);
  assert.equal(header.procedure, 0);
  assert.equal(header.credential.flavor, AUTH_SYS);
  assert.deepEqual(decodeAuthSys(header.credential), {
    stamp: 0x01020304,
    machineName: "host",
    uid: 1000,
    gid: 100,
    gids: [100, 27],
  });
  assert.deepEqual(header.verifier, { flavor: AUTH_NONE, body: new Uint8Array(0) });
  assert.equal(r.readUint(), 0xdeadbeef);
  r.assertEnd();
});

Deno.test("readCallHeader() reports an RPC version other than 2 without failing", () => {
  const bytes = hex(
    "00000009 00000000 00000003 00000001 00000001 00000000 00000000 00000000 00000000 00000000",
  );
  assert.equal(readCallHeader(new XdrReader(bytes)).rpcVersion, 3);
});

Deno.test("readCallHeader() rejects a REPLY", () => {
  assert.throws(
    () => readCallHeader(new XdrReader(hex("00000001 00000001 00000000"))),
    (e) => e instanceof XdrError && /expected a CALL/.test(e.message),
  );
});

Deno.test("readCallHeader() rejects a credential body over 400 bytes", () => {
  const w = new XdrWriter();
  w.writeUint(1).writeUint(CALL).writeUint(2).writeUint(1).writeUint(1).writeUint(0);
  w.writeUint(AUTH_SYS).writeOpaque(new Uint8Array(401));
  assert.throws(() => readCallHeader(new XdrReader(w.bytes())), /exceeds maximum 400/);
});

Deno.test("readMessageStart() rejects a msg_type other than CALL or REPLY", () => {
  assert.throws(
    () => readMessageStart(new XdrReader(hex("00000001 00000002"))),
    (e) => e instanceof XdrError && /unknown msg_type value 2/.test(e.message),
  );
  assert.deepEqual(readMessageStart(new XdrReader(hex("00000007 00000001"))), {
    xid: 7,
    msgType: REPLY,
  });
});

interface ReplyVector {
  name: string;
  bytes: string;
  write: (w: XdrWriter) => void;
  check: (error: RpcError | undefined) => void;
}

const replyVectors: ReplyVector[] = [
  {
    name: "SUCCESS",
    bytes: "0a0b0c0d 00000001 00000000 00000000 00000000 00000000",
    write: (w) => writeAcceptedReply(w, target.xid, SUCCESS),
    check: (error) => assert.equal(error, undefined),
  },
  {
    name: "PROG_UNAVAIL",
    bytes: "0a0b0c0d 00000001 00000000 00000000 00000000 00000001",
    write: (w) => writeAcceptedReply(w, target.xid, PROG_UNAVAIL),
    check: (error) => {
      assert.ok(error instanceof RpcAcceptedError);
      assert.equal(error.acceptStat, PROG_UNAVAIL);
      assert.equal(error.acceptStatName, "PROG_UNAVAIL");
      assert.equal(error.mismatch, undefined);
      assert.equal(
        error.message,
        "server rejected program 100003 version 4 procedure 1: PROG_UNAVAIL",
      );
    },
  },
  {
    name: "PROG_MISMATCH",
    bytes: "0a0b0c0d 00000001 00000000 00000000 00000000 00000002 00000002 00000003",
    write: (w) =>
      writeAcceptedReply(w, target.xid, PROG_MISMATCH, { mismatch: { low: 2, high: 3 } }),
    check: (error) => {
      assert.ok(error instanceof RpcAcceptedError);
      assert.equal(error.acceptStatName, "PROG_MISMATCH");
      assert.deepEqual(error.mismatch, { low: 2, high: 3 });
      assert.match(error.message, /PROG_MISMATCH, server supports versions 2 to 3$/);
    },
  },
  {
    name: "PROC_UNAVAIL",
    bytes: "0a0b0c0d 00000001 00000000 00000000 00000000 00000003",
    write: (w) => writeAcceptedReply(w, target.xid, PROC_UNAVAIL),
    check: (error) => {
      assert.ok(error instanceof RpcAcceptedError);
      assert.equal(error.acceptStatName, "PROC_UNAVAIL");
    },
  },
  {
    name: "GARBAGE_ARGS",
    bytes: "0a0b0c0d 00000001 00000000 00000000 00000000 00000004",
    write: (w) => writeAcceptedReply(w, target.xid, GARBAGE_ARGS),
    check: (error) => {
      assert.ok(error instanceof RpcAcceptedError);
      assert.equal(error.acceptStatName, "GARBAGE_ARGS");
    },
  },
  {
    name: "SYSTEM_ERR",
    bytes: "0a0b0c0d 00000001 00000000 00000000 00000000 00000005",
    write: (w) => writeAcceptedReply(w, target.xid, SYSTEM_ERR),
    check: (error) => {
      assert.ok(error instanceof RpcAcceptedError);
      assert.equal(error.acceptStat, SYSTEM_ERR);
      assert.equal(error.acceptStatName, "SYSTEM_ERR");
      assert.equal(error.retriable, false);
      assert.equal(error.xid, target.xid);
      assert.equal(error.program, 100003);
      assert.equal(error.procedure, 1);
    },
  },
  {
    name: "unknown accept_stat",
    bytes: "0a0b0c0d 00000001 00000000 00000000 00000000 00000063",
    write: (w) => writeAcceptedReply(w, target.xid, 99),
    check: (error) => {
      assert.ok(error instanceof RpcAcceptedError);
      assert.equal(error.acceptStatName, "accept_stat 99");
    },
  },
  {
    name: "MSG_DENIED RPC_MISMATCH",
    bytes: "0a0b0c0d 00000001 00000001 00000000 00000002 00000002",
    write: (w) =>
      writeDeniedReply(w, target.xid, { rejectStat: RPC_MISMATCH, mismatch: { low: 2, high: 2 } }),
    check: (error) => {
      assert.ok(error instanceof RpcDeniedError);
      assert.equal(error.rejectStat, RPC_MISMATCH);
      assert.deepEqual(error.mismatch, { low: 2, high: 2 });
      assert.equal(error.authStat, undefined);
      assert.match(error.message, /RPC_MISMATCH, server supports RPC versions 2 to 2$/);
    },
  },
  {
    name: "MSG_DENIED AUTH_ERROR",
    bytes: "0a0b0c0d 00000001 00000001 00000001 00000005",
    write: (w) =>
      writeDeniedReply(w, target.xid, { rejectStat: AUTH_ERROR, authStat: AUTH_TOOWEAK }),
    check: (error) => {
      assert.ok(error instanceof RpcDeniedError);
      assert.equal(error.rejectStat, AUTH_ERROR);
      assert.equal(error.authStat, AUTH_TOOWEAK);
      assert.equal(error.authStatName, "AUTH_TOOWEAK");
      assert.equal(error.mismatch, undefined);
      assert.equal(error.retriable, false);
      assert.equal(
        error.message,
        "server denied program 100003 version 4 procedure 1: AUTH_ERROR AUTH_TOOWEAK",
      );
    },
  },
  {
    name: "MSG_DENIED AUTH_ERROR with an RPCSEC_GSS status",
    bytes: "0a0b0c0d 00000001 00000001 00000001 0000000d",
    write: (w) => writeDeniedReply(w, target.xid, { rejectStat: AUTH_ERROR, authStat: 13 }),
    check: (error) => {
      assert.ok(error instanceof RpcDeniedError);
      assert.equal(error.authStatName, "RPCSEC_GSS_CREDPROBLEM");
    },
  },
];

for (const vector of replyVectors) {
  Deno.test(`writeAcceptedReply()/writeDeniedReply() and readReplyHeader() match the ${vector.name} vector`, () => {
    assert.deepEqual(bytesOf(vector.write), hex(vector.bytes));
    const r = new XdrReader(hex(vector.bytes));
    const reply = readReplyHeader(r);
    assert.equal(reply.xid, target.xid);
    r.assertEnd();
    const error = replyError(target, reply);
    if (error) assert.ok(error instanceof RpcError);
    vector.check(error);
  });
}

Deno.test("readReplyBody() leaves the reader at the results of a SUCCESS reply", () => {
  const r = new XdrReader(
    hex("00000001 00000001 00000000 00000001 00000004 abcdef01 00000000 00000007"),
  );
  assert.deepEqual(readMessageStart(r), { xid: 1, msgType: REPLY });
  const body = readReplyBody(r);
  assert.equal(body.replyStat, MSG_ACCEPTED);
  assert.ok(body.replyStat === MSG_ACCEPTED);
  assert.deepEqual(body.verifier, { flavor: 1, body: hex("abcdef01") });
  assert.equal(body.acceptStat, SUCCESS);
  assert.equal(r.readUint(), 7);
  r.assertEnd();
});

Deno.test("readReplyBody() rejects an unknown reply_stat or reject_stat", () => {
  assert.throws(() => readReplyBody(new XdrReader(hex("00000002"))), /unknown reply_stat value 2/);
  assert.throws(
    () => readReplyBody(new XdrReader(hex("00000001 00000002 00000000"))),
    /unknown reject_stat value 2/,
  );
});

Deno.test("readReplyBody() rejects every truncation of a PROG_MISMATCH reply with XdrError", () => {
  const full = hex("00000000 00000000 00000000 00000002 00000002 00000003");
  for (let n = 0; n < full.length; n++) {
    assert.throws(() => readReplyBody(new XdrReader(full.subarray(0, n))), XdrError);
  }
});

Deno.test("readReplyHeader() rejects a CALL", () => {
  assert.throws(() => readReplyHeader(new XdrReader(hex("00000001 00000000"))), /expected a REPLY/);
});

Deno.test("writeAcceptedReply() requires a range for PROG_MISMATCH", () => {
  assert.throws(() => writeAcceptedReply(new XdrWriter(), 1, PROG_MISMATCH), TypeError);
});

Deno.test("writeAcceptedReply() encodes a non-default verifier", () => {
  const bytes = bytesOf((w) =>
    writeAcceptedReply(w, 5, SUCCESS, { verifier: { flavor: 6, body: hex("0102") } })
  );
  assert.deepEqual(bytes, hex("00000005 00000001 00000000 00000006 00000002 01020000 00000000"));
});

Deno.test("acceptStatName() names every accept_stat and falls back for unknown ones", () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6].map(acceptStatName),
    [
      "SUCCESS",
      "PROG_UNAVAIL",
      "PROG_MISMATCH",
      "PROC_UNAVAIL",
      "GARBAGE_ARGS",
      "SYSTEM_ERR",
      "accept_stat 6",
    ],
  );
});

Deno.test("authNone() is flavor 0 with an empty body", () => {
  assert.deepEqual(authNone(), { flavor: AUTH_NONE, body: new Uint8Array(0) });
});

Deno.test("message constants have their RFC 5531 values", () => {
  assert.deepEqual([CALL, REPLY, MSG_ACCEPTED, MSG_DENIED, RPC_MISMATCH, AUTH_ERROR], [
    0,
    1,
    0,
    1,
    0,
    1,
  ]);
});
