import assert from "node:assert/strict";
import { XdrError, XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import {
  type CompoundReply,
  compoundResults,
  decodeCompoundReply,
  decodeCompoundRequest,
  encodeCompound,
  encodeCompoundReply,
  type OpList,
} from "../../lib/nfs4/compound.ts";
import { Attr } from "../../lib/nfs4/attrs.ts";
import { DelegationType, Op, OpenClaimType } from "../../lib/nfs4/constants.ts";
import { Nfs4ProtocolError, NfsError } from "../../lib/nfs4/errors.ts";
import { OP_CODECS } from "../../lib/nfs4/registry.ts";
import { Nfs4Status } from "../../lib/nfs4/status.ts";
import { ANONYMOUS_STATEID } from "../../lib/nfs4/types.ts";
import { getattr } from "../../lib/nfs4/ops/getattr.ts";
import { getfh } from "../../lib/nfs4/ops/getfh.ts";
import { lock } from "../../lib/nfs4/ops/lock.ts";
import { lookup } from "../../lib/nfs4/ops/lookup.ts";
import { open } from "../../lib/nfs4/ops/open.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { putrootfh } from "../../lib/nfs4/ops/putrootfh.ts";
import { read } from "../../lib/nfs4/ops/read.ts";
import { remove } from "../../lib/nfs4/ops/remove.ts";
import { rename } from "../../lib/nfs4/ops/rename.ts";
import { dirEntry, readdir } from "../../lib/nfs4/ops/readdir.ts";
import { setattr } from "../../lib/nfs4/ops/setattr.ts";
import { hex } from "./_helpers.ts";

function replyBytes(reply: CompoundReply): Uint8Array {
  const w = new XdrWriter();
  encodeCompoundReply(w, reply, OP_CODECS);
  return w.bytes().slice();
}

function decodeReply(bytes: Uint8Array, ops: OpList): CompoundReply {
  return decodeCompoundReply(new XdrReader(bytes), ops);
}

const OK = Nfs4Status.NFS4_OK;
const fh = Uint8Array.of(1, 2, 3, 4, 5);

Deno.test("encodeCompound() writes tag, minorversion and the ops", () => {
  const w = new XdrWriter();
  encodeCompound(w, { tag: "t", minorVersion: 1, ops: [putrootfh(), lookup("a"), getfh()] });
  assert.deepStrictEqual(
    w.bytes(),
    hex("00000001 74000000 00000001 00000003 00000018 0000000f 00000001 61000000 0000000a"),
  );
});

Deno.test("encodeCompound() refuses a name over the limit as NFS4ERR_NAMETOOLONG, not an XDR error", () => {
  const long = "a".repeat(5000);
  for (const op of [lookup(long), remove(long), rename({ oldName: "a", newName: long })]) {
    assert.throws(
      () => encodeCompound(new XdrWriter(), { minorVersion: 0, ops: [putrootfh(), op] }),
      (e: unknown) =>
        e instanceof NfsError && e.statusName === "NFS4ERR_NAMETOOLONG" && e.op === op.name &&
        e.message === `${op.name}: File name too long (NFS4ERR_NAMETOOLONG)`,
      op.name,
    );
  }
  // 4096 bytes is still sent (the server judges it).
  encodeCompound(new XdrWriter(), { minorVersion: 0, ops: [lookup("a".repeat(4096))] });
});

Deno.test("decodeCompoundReply() types results by position", () => {
  const ops = [putrootfh(), lookup("vfs"), getfh(), getattr([Attr.TYPE, Attr.SIZE])] as const;
  const bytes = replyBytes({
    status: OK,
    tag: "",
    outcomes: [
      { opnum: Op.PUTROOTFH, name: "PUTROOTFH", status: OK },
      { opnum: Op.LOOKUP, name: "LOOKUP", status: OK },
      { opnum: Op.GETFH, name: "GETFH", status: OK, value: fh },
      {
        opnum: Op.GETATTR,
        name: "GETATTR",
        status: OK,
        value: { attrs: { type: 1, size: 10n }, returned: new Set(), undecoded: new Set() },
      },
    ],
  });
  const [, , handle, fattr] = compoundResults(decodeReply(bytes, ops), ops);
  assert.deepStrictEqual(handle, fh);
  assert.deepStrictEqual(fattr.attrs, { type: 1, size: 10n });
});

Deno.test("decodeCompoundReply() rejects a result for another op", () => {
  const bytes = hex("00000000 00000000 00000001 0000000f 00000000");
  assert.throws(
    () => decodeReply(bytes, [putrootfh()]),
    (e: unknown) =>
      e instanceof Nfs4ProtocolError &&
      /result 0 is for LOOKUP, expected PUTROOTFH/.test(e.message),
  );
});

Deno.test("decodeCompoundReply() rejects more results than ops sent", () => {
  const bytes = hex("00000000 00000000 00000002 00000018 00000000 00000018 00000000");
  assert.throws(() => decodeReply(bytes, [putrootfh()]), Nfs4ProtocolError);
});

Deno.test("decodeCompoundReply() accepts OP_ILLEGAL in place of the op sent", () => {
  const bytes = hex("0000273c 00000000 00000001 0000273c 0000273c");
  const ops = [putrootfh()] as const;
  const reply = decodeReply(bytes, ops);
  assert.equal(reply.outcomes[0]!.status, Nfs4Status.NFS4ERR_OP_ILLEGAL);
  assert.equal(reply.outcomes[0]!.opnum, Op.ILLEGAL);
  assert.throws(
    () => compoundResults(reply, ops),
    (e: unknown) => e instanceof NfsError && e.statusName === "NFS4ERR_OP_ILLEGAL",
  );
});

// RFC 7530 §15.2 / RFC 8881 §16.2.3: a COMPOUND stops at the first op that
// fails, and its status is the last result's. A reply that says otherwise is
// not taken as any op done.
Deno.test("decodeCompoundReply() rejects OP_ILLEGAL with any status but NFS4ERR_OP_ILLEGAL", () => {
  // status NFS4_OK, one result: ILLEGAL, NFS4_OK, no body (it would pass a REMOVE as done).
  const bytes = hex("00000000 00000000 00000001 0000273c 00000000");
  assert.throws(
    () => decodeReply(bytes, [remove("f")]),
    (e: unknown) =>
      e instanceof Nfs4ProtocolError && /result 0 is ILLEGAL with status 0/.test(e.message),
  );
});

Deno.test("decodeCompoundReply() rejects NFS4_OK with fewer results than ops sent", () => {
  for (
    const [bytes, count] of [
      [hex("00000000 00000000 00000000"), 0],
      [hex("00000000 00000000 00000001 00000016 00000000"), 1], // PUTFH only
    ] as const
  ) {
    assert.throws(
      () => decodeReply(bytes, [putfh(fh), remove("f")]),
      (e: unknown) =>
        e instanceof Nfs4ProtocolError &&
        e.message.includes(`NFS4_OK with ${count} results for 2 ops`),
    );
  }
  // A failure may end the results early (the COMPOUND stopped there).
  const stopped = decodeReply(
    hex("00000002 00000000 00000001 00000016 00000002"),
    [putfh(fh), remove("f")],
  );
  assert.equal(stopped.outcomes.length, 1);
});

Deno.test("decodeCompoundReply() rejects results after one that failed", () => {
  // PUTFH NFS4ERR_STALE (70), then REMOVE NFS4_OK, COMPOUND NFS4_OK.
  for (const status of ["00000000", "00000046"]) {
    const bytes = hex(
      `${status} 00000000 00000002 00000016 00000046 0000001c 00000000 00000000 00000000 00000000 00000000 00000000`,
    );
    assert.throws(
      () => decodeReply(bytes, [putfh(fh), remove("f")]),
      (e: unknown) =>
        e instanceof Nfs4ProtocolError && /goes on after result 0 failed/.test(e.message),
    );
  }
});

Deno.test("decodeCompoundReply() rejects NFS4_OK whose last result failed", () => {
  const bytes = hex("00000000 00000000 00000001 00000018 00000046");
  assert.throws(
    () => decodeReply(bytes, [putrootfh()]),
    (e: unknown) => e instanceof Nfs4ProtocolError && /NFS4_OK differs/.test(e.message),
  );
});

Deno.test("decodeCompoundReply() rejects trailing bytes", () => {
  const bytes = hex("00000000 00000000 00000001 00000018 00000000 00000000");
  assert.throws(() => decodeReply(bytes, [putrootfh()]), XdrError);
});

Deno.test("decodeCompoundReply() rejects a status that differs from the last result's", () => {
  const bytes = hex("00000002 00000000 00000001 00000018 00000046");
  assert.throws(() => decodeReply(bytes, [putrootfh()]), Nfs4ProtocolError);
});

Deno.test("compoundResults() throws NfsError naming the op and the status", () => {
  const ops = [putrootfh(), lookup("missing"), getfh()] as const;
  const reply = decodeReply(
    hex("00000002 00000000 00000002 00000018 00000000 0000000f 00000002"),
    ops,
  );
  assert.throws(
    () => compoundResults(reply, ops),
    (e: unknown) =>
      e instanceof NfsError && e.op === "LOOKUP" && e.status === 2 &&
      e.statusName === "NFS4ERR_NOENT" && e.message.includes("NFS4ERR_NOENT"),
  );
});

Deno.test("compoundResults() carries LOCK4denied as the error detail", () => {
  const owner = { clientid: 1n, owner: Uint8Array.of(9) };
  const ops = [
    putfh(fh),
    lock({
      locktype: 2,
      reclaim: false,
      offset: 0n,
      length: 1n,
      locker: { newLockOwner: false, lockStateid: ANONYMOUS_STATEID, lockSeqid: 0 },
    }),
  ] as const;
  const denied = { offset: 0n, length: 5n, locktype: 2, owner };
  const bytes = replyBytes({
    status: Nfs4Status.NFS4ERR_DENIED,
    tag: "",
    outcomes: [
      { opnum: Op.PUTFH, name: "PUTFH", status: OK },
      { opnum: Op.LOCK, name: "LOCK", status: Nfs4Status.NFS4ERR_DENIED, detail: denied },
    ],
  });
  const error = (() => {
    try {
      compoundResults(decodeReply(bytes, ops), ops);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(error instanceof NfsError);
  assert.equal(error.op, "LOCK");
  assert.equal(error.statusName, "NFS4ERR_DENIED");
  assert.deepStrictEqual(error.detail, denied);
});

Deno.test("encodeCompoundReply() writes SETATTR's attrsset even without a detail", () => {
  const ops = [putfh(fh), setattr({ stateid: ANONYMOUS_STATEID, attrs: { mode: 0 } })] as const;
  const bytes = replyBytes({
    status: Nfs4Status.NFS4ERR_PERM,
    tag: "",
    outcomes: [
      { opnum: Op.PUTFH, name: "PUTFH", status: OK },
      { opnum: Op.SETATTR, name: "SETATTR", status: Nfs4Status.NFS4ERR_PERM },
    ],
  });
  assert.deepStrictEqual(
    bytes,
    hex("00000001 00000000 00000002 00000016 00000000 00000022 00000001 00000000"),
  );
  const reply = decodeReply(bytes, ops);
  assert.deepStrictEqual(reply.outcomes[1]!.detail, new Set());
});

Deno.test("decodeCompoundRequest() decodes ops with OP_CODECS and stops at an unknown op", () => {
  const w = new XdrWriter();
  encodeCompound(w, { minorVersion: 0, ops: [putrootfh(), lookup("x")] });
  const req = decodeCompoundRequest(new XdrReader(w.bytes()), OP_CODECS);
  assert.deepStrictEqual(req.ops.map((o) => [o.name, o.args]), [["PUTROOTFH", undefined], [
    "LOOKUP",
    "x",
  ]]);

  // PUTROOTFH, an op 99 with 8 bytes of arguments, then GETFH: decoding stops at 99.
  const bytes = hex("00000000 00000000 00000003 00000018 00000063 01020304 05060708 0000000a");
  const illegal = decodeCompoundRequest(new XdrReader(bytes), OP_CODECS);
  assert.deepStrictEqual(illegal.ops.map((o) => [o.opnum, o.name]), [[24, "PUTROOTFH"], [
    Op.ILLEGAL,
    "ILLEGAL",
  ]]);
  assert.equal(illegal.ops[1]!.args, 99);
});

Deno.test("decodeCompoundRequest() rejects trailing bytes and absurd op counts", () => {
  assert.throws(
    () =>
      decodeCompoundRequest(
        new XdrReader(hex("00000000 00000000 00000001 00000018 00000000")),
        OP_CODECS,
      ),
    XdrError,
  );
  assert.throws(
    () => decodeCompoundRequest(new XdrReader(hex("00000000 00000000 7fffffff")), OP_CODECS),
    XdrError,
  );
});

Deno.test("decodeCompoundReply() of a reply truncated anywhere throws only XdrError or Nfs4ProtocolError", () => {
  const owner = { clientid: 7n, owner: Uint8Array.of(1, 2, 3) };
  const ops = [
    putrootfh(),
    lookup("dir"),
    getfh(),
    getattr([Attr.TYPE, Attr.SIZE, Attr.OWNER, Attr.TIME_MODIFY]),
    readdir({
      cookie: 0n,
      cookieverf: new Uint8Array(8),
      dircount: 1,
      maxcount: 2,
      attrRequest: [],
    }),
    open({
      seqid: 0,
      shareAccess: 1,
      shareDeny: 0,
      owner,
      claim: { claim: OpenClaimType.CLAIM_NULL, file: "f" },
    }),
    read({ stateid: ANONYMOUS_STATEID, offset: 0n, count: 10 }),
  ] as const;
  const full = replyBytes({
    status: OK,
    tag: "tag",
    outcomes: [
      { opnum: Op.PUTROOTFH, name: "PUTROOTFH", status: OK },
      { opnum: Op.LOOKUP, name: "LOOKUP", status: OK },
      { opnum: Op.GETFH, name: "GETFH", status: OK, value: fh },
      {
        opnum: Op.GETATTR,
        name: "GETATTR",
        status: OK,
        value: {
          attrs: { type: 2, size: 4096n, owner: "alice", timeModify: { seconds: 9n, nseconds: 1 } },
          returned: new Set(),
          undecoded: new Set(),
        },
      },
      {
        opnum: Op.READDIR,
        name: "READDIR",
        status: OK,
        value: {
          cookieverf: new Uint8Array(8),
          entries: [dirEntry(1n, "a", { type: 1 }), dirEntry(2n, "bb", { size: 3n })],
          eof: true,
        },
      },
      {
        opnum: Op.OPEN,
        name: "OPEN",
        status: OK,
        value: {
          stateid: ANONYMOUS_STATEID,
          cinfo: { atomic: true, before: 1n, after: 2n },
          rflags: 4,
          attrset: new Set([Attr.MODE]),
          delegation: {
            type: DelegationType.OPEN_DELEGATE_READ,
            stateid: ANONYMOUS_STATEID,
            recall: false,
            permissions: { type: 0, flag: 0, accessMask: 1, who: "OWNER@" },
          },
        },
      },
      { opnum: Op.READ, name: "READ", status: OK, value: { eof: true, data: Uint8Array.of(1, 2) } },
    ],
  });
  // The full reply decodes.
  compoundResults(decodeReply(full, ops), ops);
  for (let length = 0; length < full.length; length++) {
    try {
      decodeReply(full.subarray(0, length), ops);
      assert.fail(`a reply truncated to ${length} bytes decoded`);
    } catch (e) {
      assert.ok(
        e instanceof XdrError || e instanceof Nfs4ProtocolError,
        `truncated to ${length}: ${e}`,
      );
    }
  }
});
