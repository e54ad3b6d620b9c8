import assert from "node:assert/strict";
import fc from "fast-check";
import { XdrError, XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import {
  CB_GETATTR,
  CB_ILLEGAL,
  CB_LAYOUTRECALL,
  CB_NOTIFY,
  CB_NOTIFY_DEVICEID,
  CB_NOTIFY_LOCK,
  CB_OFFLOAD,
  CB_OP_CODECS,
  CB_PUSH_DELEG,
  CB_RECALL,
  CB_RECALL_ANY,
  CB_RECALL_SLOT,
  CB_RECALLABLE_OBJ_AVAIL,
  CB_SEQUENCE,
  CB_WANTS_CANCELLED,
  cbGetattr,
  cbRecall,
  cbSequence,
  decodeCbCompoundReply,
  decodeCbCompoundRequest,
  encodeCbCompound,
  encodeCbCompoundReply,
  illegalOutcome,
} from "../../lib/nfs4/callback.ts";
import type { OpCodec } from "../../lib/nfs4/compound.ts";
import { CbOp, DelegationType, LayoutRecallType, StableHow } from "../../lib/nfs4/constants.ts";
import { Nfs4ProtocolError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status } from "../../lib/nfs4/status.ts";
import {
  assertRoundTrip,
  bool,
  fh,
  fileAttributes,
  hex,
  i32,
  idSet,
  opaque,
  rec,
  sessionid,
  stateid,
  stateOwner,
  u32,
  u64,
  verifier,
} from "./_helpers.ts";

const voidArb = fc.constant(undefined);
const notify = rec({ mask: idSet, values: opaque() });

// deno-lint-ignore no-explicit-any
const CASES: [OpCodec<any, any>, fc.Arbitrary<unknown>, fc.Arbitrary<unknown>][] = [
  [CB_GETATTR, rec({ fh, attrRequest: idSet }), fileAttributes],
  [CB_RECALL, rec({ stateid, truncate: bool, fh }), voidArb],
  [
    CB_LAYOUTRECALL,
    rec({
      layoutType: i32,
      iomode: i32,
      changed: bool,
      recall: fc.oneof(
        rec({
          recallType: fc.constant(LayoutRecallType.LAYOUTRECALL4_FILE),
          fh,
          offset: u64,
          length: u64,
          stateid,
        }),
        rec({
          recallType: fc.constant(LayoutRecallType.LAYOUTRECALL4_FSID),
          fsid: rec({ major: u64, minor: u64 }),
        }),
        rec({ recallType: fc.constant(LayoutRecallType.LAYOUTRECALL4_ALL) }),
      ),
    }),
    voidArb,
  ],
  [CB_NOTIFY, rec({ stateid, fh, changes: fc.array(notify, { maxLength: 3 }) }), voidArb],
  [
    CB_PUSH_DELEG,
    rec({
      fh,
      delegation: rec({
        type: fc.constant(DelegationType.OPEN_DELEGATE_READ),
        stateid,
        recall: bool,
        permissions: rec({ type: u32, flag: u32, accessMask: u32, who: fc.string() }),
      }),
    }),
    voidArb,
  ],
  [CB_RECALL_ANY, rec({ objectsToKeep: u32, typeMask: idSet }), voidArb],
  [CB_RECALLABLE_OBJ_AVAIL, rec({ objectsToKeep: u32, typeMask: idSet }), voidArb],
  [CB_RECALL_SLOT, u32, voidArb],
  [
    CB_SEQUENCE,
    rec({
      sessionid,
      sequenceid: u32,
      slotid: u32,
      highestSlotid: u32,
      cachethis: bool,
      referringCallLists: fc.array(
        rec({
          sessionid,
          calls: fc.array(rec({ sequenceid: u32, slotid: u32 }), { maxLength: 3 }),
        }),
        { maxLength: 3 },
      ),
    }),
    rec({
      sessionid,
      sequenceid: u32,
      slotid: u32,
      highestSlotid: u32,
      targetHighestSlotid: u32,
    }),
  ],
  [
    CB_WANTS_CANCELLED,
    rec({ contendedWantsCancelled: bool, resourcedWantsCancelled: bool }),
    voidArb,
  ],
  [CB_NOTIFY_LOCK, rec({ fh, lockOwner: stateOwner }), voidArb],
  [CB_NOTIFY_DEVICEID, fc.array(notify, { maxLength: 3 }), voidArb],
  [
    CB_OFFLOAD,
    fc.oneof(
      rec({
        fh,
        stateid,
        status: fc.constant(0),
        response: rec({
          count: u64,
          committed: fc.constantFrom(...Object.values(StableHow)),
          writeverf: verifier,
        }),
      }),
      rec({
        fh,
        stateid,
        status: fc.constant(0),
        response: rec({
          callbackId: stateid,
          count: u64,
          committed: fc.constantFrom(...Object.values(StableHow)),
          writeverf: verifier,
        }),
      }),
      rec({ fh, stateid, status: fc.integer({ min: 1, max: 20000 }), bytesCopied: u64 }),
    ),
    voidArb,
  ],
];

Deno.test("CB_OP_CODECS holds every callback op of RFC 7530 and RFC 8881", () => {
  const expected = Object.values(CbOp).sort((a, b) => a - b);
  assert.deepStrictEqual([...CB_OP_CODECS.keys()].sort((a, b) => a - b), expected);
  assert.equal(CASES.length + 1, CB_OP_CODECS.size); // every codec but CB_ILLEGAL
});

for (const [codec, args, result] of CASES) {
  Deno.test(`${codec.name} codec round-trips its arguments and results`, () => {
    fc.assert(
      fc.property(args, (a) => assertRoundTrip(codec.encodeArgs, codec.decodeArgs, a)),
      { numRuns: 60 },
    );
    fc.assert(
      fc.property(
        result,
        (r) => assertRoundTrip(codec.encodeResult, codec.decodeResult, r),
      ),
      { numRuns: 30 },
    );
  });
}

Deno.test("encodeCbSequence() writes CB_SEQUENCE4args with referring call lists", () => {
  const w = new XdrWriter();
  CB_SEQUENCE.encodeArgs(w, {
    sessionid: new Uint8Array(16).fill(0xab),
    sequenceid: 1,
    slotid: 0,
    highestSlotid: 0,
    cachethis: false,
    referringCallLists: [{
      sessionid: new Uint8Array(16).fill(0xcd),
      calls: [{ sequenceid: 7, slotid: 2 }],
    }],
  });
  assert.deepStrictEqual(
    w.bytes(),
    hex(
      "ab".repeat(16) + " 00000001 00000000 00000000 00000000" +
        " 00000001" + "cd".repeat(16) + " 00000001 00000007 00000002",
    ),
  );
});

Deno.test("decodeCbCompoundRequest() decodes a CB_SEQUENCE, CB_RECALL request", () => {
  const sessionid = new Uint8Array(16).fill(1);
  const fhBytes = Uint8Array.of(9, 9);
  const w = new XdrWriter();
  encodeCbCompound(w, {
    tag: "cb",
    minorVersion: 1,
    callbackIdent: 0,
    ops: [
      cbSequence({
        sessionid,
        sequenceid: 1,
        slotid: 0,
        highestSlotid: 0,
        cachethis: false,
        referringCallLists: [],
      }),
      cbRecall({ stateid: { seqid: 1, other: new Uint8Array(12) }, truncate: false, fh: fhBytes }),
    ],
  });
  assert.deepStrictEqual(
    w.bytes().subarray(0, 20),
    hex("00000002 63620000 00000001 00000000 00000002"),
  );
  const req = decodeCbCompoundRequest(new XdrReader(w.bytes()));
  assert.equal(req.tag, "cb");
  assert.equal(req.minorVersion, 1);
  assert.equal(req.callbackIdent, 0);
  assert.deepStrictEqual(req.ops.map((o) => o.name), ["CB_SEQUENCE", "CB_RECALL"]);
  assert.deepStrictEqual(req.ops[1]!.args, {
    stateid: { seqid: 1, other: new Uint8Array(12) },
    truncate: false,
    fh: fhBytes,
  });
});

Deno.test("decodeCbCompoundRequest() ends the op list at an unknown op with CB_ILLEGAL", () => {
  // minorversion 1, ident 5: CB_RECALL_SLOT(3), op 99 (junk after it), CB_RECALL_SLOT.
  const bytes = hex(
    "00000000 00000001 00000005 00000003  0000000a 00000003  00000063 deadbeef  0000000a 00000001",
  );
  const req = decodeCbCompoundRequest(new XdrReader(bytes));
  assert.deepStrictEqual(req.ops.map((o) => [o.opnum, o.name, o.args]), [
    [CbOp.CB_RECALL_SLOT, "CB_RECALL_SLOT", 3],
    [CbOp.CB_ILLEGAL, "CB_ILLEGAL", 99],
  ]);
});

Deno.test("decodeCbCompoundRequest() treats NFSv4.1 ops in a minor version 0 request as illegal", () => {
  const bytes = hex("00000000 00000000 00000001 00000001 0000000a 00000003");
  const req = decodeCbCompoundRequest(new XdrReader(bytes));
  assert.deepStrictEqual(req.ops.map((o) => [o.name, o.args]), [["CB_ILLEGAL", 10]]);
  // CB_GETATTR is legal there
  const w = new XdrWriter();
  encodeCbCompound(w, {
    minorVersion: 0,
    callbackIdent: 1,
    ops: [cbGetattr({ fh: Uint8Array.of(1), attrRequest: new Set([4]) })],
  });
  assert.equal(decodeCbCompoundRequest(new XdrReader(w.bytes())).ops[0]!.name, "CB_GETATTR");
});

Deno.test("decodeCbCompoundRequest() rejects absurd op counts and trailing bytes", () => {
  assert.throws(
    () => decodeCbCompoundRequest(new XdrReader(hex("00000000 00000001 00000000 7fffffff"))),
    XdrError,
  );
  assert.throws(
    () =>
      decodeCbCompoundRequest(
        new XdrReader(hex("00000000 00000001 00000000 00000001 0000000a 00000003 00000000")),
      ),
    XdrError,
  );
});

Deno.test("encodeCbCompoundReply() answers CB_ILLEGAL with NFS4ERR_OP_ILLEGAL", () => {
  const w = new XdrWriter();
  encodeCbCompoundReply(w, {
    status: Nfs4Status.NFS4ERR_OP_ILLEGAL,
    tag: "",
    outcomes: [
      { opnum: CbOp.CB_RECALL_SLOT, name: "CB_RECALL_SLOT", status: 0 },
      illegalOutcome(),
    ],
  });
  assert.deepStrictEqual(
    w.bytes(),
    hex("0000273c 00000000 00000002 0000000a 00000000 0000273c 0000273c"),
  );
});

Deno.test("decodeCbCompoundReply() reads results by position and checks op numbers", () => {
  const sessionid = new Uint8Array(16).fill(2);
  const ops = [
    cbSequence({
      sessionid,
      sequenceid: 1,
      slotid: 0,
      highestSlotid: 0,
      cachethis: false,
      referringCallLists: [],
    }),
    cbGetattr({ fh: Uint8Array.of(1), attrRequest: new Set([3, 4]) }),
  ];
  const seqResult = {
    sessionid,
    sequenceid: 1,
    slotid: 0,
    highestSlotid: 0,
    targetHighestSlotid: 0,
  };
  const w = new XdrWriter();
  encodeCbCompoundReply(w, {
    status: 0,
    tag: "",
    outcomes: [
      { opnum: CbOp.CB_SEQUENCE, name: "CB_SEQUENCE", status: 0, value: seqResult },
      { opnum: CbOp.CB_GETATTR, name: "CB_GETATTR", status: 0, value: { change: 5n, size: 10n } },
    ],
  });
  const reply = decodeCbCompoundReply(new XdrReader(w.bytes()), ops);
  assert.deepStrictEqual(reply.outcomes.map((o) => o.value), [seqResult, {
    change: 5n,
    size: 10n,
  }]);

  const wrong = hex("00000000 00000000 00000001 00000004 00000000");
  assert.throws(
    () => decodeCbCompoundReply(new XdrReader(wrong), ops),
    (e: unknown) =>
      e instanceof Nfs4ProtocolError && /CB_RECALL, expected CB_SEQUENCE/.test(e.message),
  );
  const illegal = hex("0000273c 00000000 00000001 0000273c 0000273c");
  assert.equal(decodeCbCompoundReply(new XdrReader(illegal), ops).outcomes[0]!.name, "CB_ILLEGAL");
  assert.throws(
    () => decodeCbCompoundReply(new XdrReader(hex("00000000 00000000 00000003")), ops),
    Nfs4ProtocolError,
  );
});

Deno.test("CB_ILLEGAL codec consumes the rest of the request", () => {
  const r = new XdrReader(hex("01020304"));
  assert.equal(CB_ILLEGAL.decodeArgs(r), CbOp.CB_ILLEGAL);
  assert.equal(r.remaining, 0);
});
