/**
 * Byte-literal vectors for operation arguments, results and failure bodies,
 * written by hand from the XDR of RFC 7531 and RFC 5662 (not derived from
 * the encoders). Each is checked in both directions.
 */

import assert from "node:assert/strict";
import {
  CreateMode,
  DelegationType,
  LockType,
  OpenClaimType,
  SecFlavor,
  ShareAccess,
  ShareDeny,
  StableHow,
  StateProtectHow,
  WhyNoDelegation,
} from "../../lib/nfs4/constants.ts";
import { Nfs4Status } from "../../lib/nfs4/status.ts";
import { Attr } from "../../lib/nfs4/attrs.ts";
import { ANONYMOUS_STATEID } from "../../lib/nfs4/types.ts";
import { XdrReader } from "../../lib/xdr/mod.ts";
import { CREATE_SESSION, createSession } from "../../lib/nfs4/ops/create_session.ts";
import { EXCHANGE_ID, exchangeId } from "../../lib/nfs4/ops/exchange_id.ts";
import { LOCK, lock } from "../../lib/nfs4/ops/lock.ts";
import { LOCKT } from "../../lib/nfs4/ops/lockt.ts";
import { OPEN, open } from "../../lib/nfs4/ops/open.ts";
import { READ, read } from "../../lib/nfs4/ops/read.ts";
import { dirEntry, READDIR, readdir } from "../../lib/nfs4/ops/readdir.ts";
import { SEEK, seek, SeekContent } from "../../lib/nfs4/ops/seek.ts";
import { SEQUENCE, sequence } from "../../lib/nfs4/ops/sequence.ts";
import { SETATTR } from "../../lib/nfs4/ops/setattr.ts";
import { SETCLIENTID, setclientid } from "../../lib/nfs4/ops/setclientid.ts";
import { WRITE, write } from "../../lib/nfs4/ops/write.ts";
import { assertArgsVector, assertResultVector, decode, encode, hex, hexc } from "./_helpers.ts";

const ascii = (s: string) => new TextEncoder().encode(s);
const fill = (n: number, byte: number) => new Uint8Array(n).fill(byte);
const seq = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => from + i);

Deno.test("encodeOpen() writes CLAIM_NULL with UNCHECKED4 create as RFC 7531 lays it out", () => {
  const args = {
    seqid: 1,
    shareAccess: ShareAccess.OPEN4_SHARE_ACCESS_BOTH,
    shareDeny: ShareDeny.OPEN4_SHARE_DENY_NONE,
    owner: { clientid: 0x0102030405060708n, owner: ascii("ab") },
    create: { mode: CreateMode.UNCHECKED4, attrs: { mode: 0o644 } },
    claim: { claim: OpenClaimType.CLAIM_NULL, file: "foo" },
  } as const;
  assertArgsVector(
    OPEN,
    args,
    hexc(`
      00000001                    # seqid
      00000003                    # share_access BOTH
      00000000                    # share_deny NONE
      01020304 05060708           # owner.clientid
      00000002 61620000           # owner.owner "ab"
      00000001                    # OPEN4_CREATE
      00000000                    # UNCHECKED4
      00000002 00000000 00000002  # createattrs bitmap: mode (33)
      00000004 000001a4           # attr_vals: 0644
      00000000                    # CLAIM_NULL
      00000003 666f6f00           # file "foo"
    `),
  );
  assert.equal(open(args).opnum, 18);
});

Deno.test("encodeOpen() writes CLAIM_PREVIOUS without create", () => {
  const args = {
    seqid: 2,
    shareAccess: ShareAccess.OPEN4_SHARE_ACCESS_READ,
    shareDeny: ShareDeny.OPEN4_SHARE_DENY_WRITE,
    owner: { clientid: 1n, owner: ascii("o") },
    claim: { claim: OpenClaimType.CLAIM_PREVIOUS, delegateType: DelegationType.OPEN_DELEGATE_READ },
  } as const;
  assertArgsVector(
    OPEN,
    args,
    hex(
      "00000002 00000001 00000002" +
        " 00000000 00000001  00000001 6f000000" +
        " 00000000" + // OPEN4_NOCREATE
        " 00000001 00000001", // CLAIM_PREVIOUS, OPEN_DELEGATE_READ
    ),
  );
});

Deno.test("encodeOpen() writes EXCLUSIVE4_1 and CLAIM_DELEG_CUR_FH", () => {
  const args = {
    seqid: 0,
    shareAccess: ShareAccess.OPEN4_SHARE_ACCESS_WRITE |
      ShareAccess.OPEN4_SHARE_ACCESS_WANT_NO_DELEG,
    shareDeny: 0,
    owner: { clientid: 2n, owner: new Uint8Array(0) },
    create: { mode: CreateMode.EXCLUSIVE4_1, verifier: seq(8, 1), attrs: {} },
    claim: {
      claim: OpenClaimType.CLAIM_DELEG_CUR_FH,
      delegateStateid: { seqid: 3, other: fill(12, 0x44) },
    },
  } as const;
  assertArgsVector(
    OPEN,
    args,
    hex(
      "00000000 00000402 00000000" +
        " 00000000 00000002 00000000" +
        " 00000001 00000003 01020304 05060708 00000000 00000000" +
        " 00000005 00000003" + "44".repeat(12),
    ),
  );
});

Deno.test("decodeOpen() reads a result with a write delegation and a space limit", () => {
  const result = {
    stateid: { seqid: 1, other: fill(12, 0x11) },
    cinfo: { atomic: true, before: 5n, after: 6n },
    rflags: 0x4,
    attrset: new Set([Attr.MODE]),
    delegation: {
      type: DelegationType.OPEN_DELEGATE_WRITE,
      stateid: { seqid: 2, other: fill(12, 0x22) },
      recall: false,
      spaceLimit: { limitBy: 1, filesize: 0x10000n },
      permissions: { type: 0, flag: 0, accessMask: 0x2, who: "EVERYONE@" },
    },
  } as const;
  assertResultVector(
    OPEN,
    result,
    hex(
      "00000001" + "11".repeat(12) +
        " 00000001 00000000 00000005 00000000 00000006" +
        " 00000004" +
        " 00000002 00000000 00000002" +
        " 00000002 00000002" + "22".repeat(12) + " 00000000" +
        " 00000001 00000000 00010000" +
        " 00000000 00000000 00000002 00000009 45564552 594f4e45 40000000",
    ),
  );
});

Deno.test("decodeOpen() reads OPEN_DELEGATE_NONE_EXT with its why-not", () => {
  const bytes = hex(
    "00000000" + "00".repeat(12) + " 00000000 00000000 00000000 00000000 00000000" +
      " 00000000 00000000 00000003 00000001 00000001",
  );
  const result = decode(OPEN.decodeResult, bytes);
  assert.deepStrictEqual(result.delegation, {
    type: DelegationType.OPEN_DELEGATE_NONE_EXT,
    why: WhyNoDelegation.WND4_CONTENTION,
    serverWillPushDeleg: true,
  });
});

Deno.test("encodeLock() writes both locker4 arms", () => {
  const newOwner = {
    locktype: LockType.WRITE_LT,
    reclaim: false,
    offset: 0n,
    length: 0xffffffffffffffffn,
    locker: {
      newLockOwner: true,
      openSeqid: 3,
      openStateid: { seqid: 1, other: fill(12, 0x11) },
      lockSeqid: 0,
      lockOwner: { clientid: 5n, owner: ascii("lk") },
    },
  } as const;
  assertArgsVector(
    LOCK,
    newOwner,
    hex(
      "00000002 00000000 00000000 00000000 ffffffff ffffffff" +
        " 00000001 00000003 00000001" + "11".repeat(12) +
        " 00000000 00000000 00000005 00000002 6c6b0000",
    ),
  );
  const existing = {
    locktype: LockType.READ_LT,
    reclaim: true,
    offset: 100n,
    length: 10n,
    locker: { newLockOwner: false, lockStateid: { seqid: 2, other: fill(12, 0x22) }, lockSeqid: 7 },
  } as const;
  assertArgsVector(
    LOCK,
    existing,
    hex(
      "00000001 00000001 00000000 00000064 00000000 0000000a" +
        " 00000000 00000002" + "22".repeat(12) + " 00000007",
    ),
  );
  assert.equal(lock(existing).name, "LOCK");
});

Deno.test("decodeFailure() of LOCK and LOCKT reads LOCK4denied with NFS4ERR_DENIED", () => {
  const bytes = hex(
    "00000000 00000000 00000000 00000064 00000002 00000000 00000009 00000001 6f000000",
  );
  const denied = {
    offset: 0n,
    length: 100n,
    locktype: LockType.WRITE_LT,
    owner: { clientid: 9n, owner: ascii("o") },
  };
  for (const codec of [LOCK, LOCKT]) {
    assert.deepStrictEqual(
      decode((r) => codec.decodeFailure!(r, Nfs4Status.NFS4ERR_DENIED), bytes),
      denied,
    );
    assert.deepStrictEqual(
      encode((w, d) => codec.encodeFailure!(w, Nfs4Status.NFS4ERR_DENIED, d), denied),
      bytes,
    );
  }
});

Deno.test("encodeSequence() writes SEQUENCE4args and decodes SEQUENCE4resok", () => {
  const args = {
    sessionid: seq(16),
    sequenceid: 5,
    slotid: 0,
    highestSlotid: 3,
    cachethis: true,
  };
  assertArgsVector(
    SEQUENCE,
    args,
    hex("00010203 04050607 08090a0b 0c0d0e0f 00000005 00000000 00000003 00000001"),
  );
  assertResultVector(
    SEQUENCE,
    {
      sessionid: seq(16),
      sequenceid: 5,
      slotid: 0,
      highestSlotid: 15,
      targetHighestSlotid: 7,
      statusFlags: 0x40,
    },
    hex(
      "00010203 04050607 08090a0b 0c0d0e0f 00000005 00000000 0000000f 00000007 00000040",
    ),
  );
  assert.equal(sequence(args).opnum, 53);
});

Deno.test("encodeExchangeId() writes client_owner4, flags, SP4_NONE and impl_id<1>", () => {
  const args = {
    clientOwner: { verifier: seq(8, 1), ownerid: ascii("c1") },
    flags: 0x3,
    stateProtect: { how: StateProtectHow.SP4_NONE },
  } as const;
  assertArgsVector(
    EXCHANGE_ID,
    args,
    hex("01020304 05060708 00000002 63310000 00000003 00000000 00000000"),
  );
  assertArgsVector(
    EXCHANGE_ID,
    { ...args, implId: { domain: "d", name: "n", date: { seconds: 1n, nseconds: 2 } } },
    hex(
      "01020304 05060708 00000002 63310000 00000003 00000000" +
        " 00000001 00000001 64000000 00000001 6e000000 00000000 00000001 00000002",
    ),
  );
  assert.equal(exchangeId(args).opnum, 42);
});

Deno.test("decodeExchangeId() reads EXCHANGE_ID4resok, SP4_MACH_CRED included", () => {
  assertResultVector(
    EXCHANGE_ID,
    {
      clientid: 0xaabbccdd00000001n,
      sequenceid: 1,
      flags: 0x80010000,
      stateProtect: {
        how: StateProtectHow.SP4_MACH_CRED,
        ops: { mustEnforce: new Set([44]), mustAllow: new Set<number>() },
      },
      serverOwner: { minorId: 0n, majorId: ascii("srv") },
      serverScope: ascii("scope"),
    },
    hex(
      "aabbccdd 00000001 00000001 80010000" +
        " 00000001 00000002 00000000 00001000 00000000" +
        " 00000000 00000000 00000003 73727600" +
        " 00000005 73636f70 65000000" +
        " 00000000",
    ),
  );
});

Deno.test("encodeCreateSession() writes channel_attrs4 and callback_sec_parms4", () => {
  const args = {
    clientid: 0x1122334455667788n,
    sequence: 1,
    flags: 0x2,
    foreChannel: {
      headerPadSize: 0,
      maxRequestSize: 0x100000,
      maxResponseSize: 0x100000,
      maxResponseSizeCached: 0x2000,
      maxOperations: 16,
      maxRequests: 8,
    },
    backChannel: {
      headerPadSize: 0,
      maxRequestSize: 4096,
      maxResponseSize: 4096,
      maxResponseSizeCached: 0,
      maxOperations: 2,
      maxRequests: 1,
    },
    cbProgram: 0x40000000,
    secParms: [
      {
        flavor: SecFlavor.AUTH_SYS,
        sys: { stamp: 7, machineName: "m", uid: 1000, gid: 100, gids: [100] },
      },
      { flavor: SecFlavor.AUTH_NONE },
    ],
  } as const;
  assertArgsVector(
    CREATE_SESSION,
    args,
    hex(
      "11223344 55667788 00000001 00000002" +
        " 00000000 00100000 00100000 00002000 00000010 00000008 00000000" +
        " 00000000 00001000 00001000 00000000 00000002 00000001 00000000" +
        " 40000000" +
        " 00000002" +
        " 00000001 00000007 00000001 6d000000 000003e8 00000064 00000001 00000064" +
        " 00000000",
    ),
  );
  assert.equal(createSession(args).opnum, 43);
});

Deno.test("decodeCreateSession() reads a result with ca_rdma_ird present", () => {
  const attrs = {
    headerPadSize: 0,
    maxRequestSize: 1,
    maxResponseSize: 2,
    maxResponseSizeCached: 3,
    maxOperations: 4,
    maxRequests: 5,
  };
  assertResultVector(
    CREATE_SESSION,
    {
      sessionid: fill(16, 0xee),
      sequence: 1,
      flags: 0,
      foreChannel: { ...attrs, rdmaIrd: 9 },
      backChannel: attrs,
    },
    hex(
      "ee".repeat(16) + " 00000001 00000000" +
        " 00000000 00000001 00000002 00000003 00000004 00000005 00000001 00000009" +
        " 00000000 00000001 00000002 00000003 00000004 00000005 00000000",
    ),
  );
});

Deno.test("encodeSetclientid() writes nfs_client_id4, cb_client4 and callback_ident", () => {
  const args = {
    client: { verifier: seq(8, 1), id: ascii("id") },
    callback: { program: 0x40000000, location: { netid: "tcp", addr: "127.0.0.1.3.232" } },
    callbackIdent: 9,
  };
  assertArgsVector(
    SETCLIENTID,
    args,
    hex(
      "01020304 05060708 00000002 69640000" +
        " 40000000 00000003 74637000 0000000f 3132372e 302e302e 312e332e 32333200" +
        " 00000009",
    ),
  );
  assertResultVector(
    SETCLIENTID,
    { clientid: 0x5000000000000001n, confirm: seq(8, 0xa0) },
    hex("50000000 00000001 a0a1a2a3 a4a5a6a7"),
  );
  assert.equal(setclientid(args).opnum, 35);
});

Deno.test("decodeFailure() of SETCLIENTID reads the clientaddr4 of NFS4ERR_CLID_INUSE", () => {
  const bytes = hex("00000003 74637000 0000000c 31302e30 2e302e31 2e382e31");
  const addr = { netid: "tcp", addr: "10.0.0.1.8.1" };
  assert.deepStrictEqual(
    decode((r) => SETCLIENTID.decodeFailure!(r, Nfs4Status.NFS4ERR_CLID_INUSE), bytes),
    addr,
  );
  assert.deepStrictEqual(
    encode((w, a) => SETCLIENTID.encodeFailure!(w, Nfs4Status.NFS4ERR_CLID_INUSE, a), addr),
    bytes,
  );
});

Deno.test("decodeFailure() of SETATTR reads attrsset with any status", () => {
  const bytes = hex("00000002 00000010 00000002");
  assert.deepStrictEqual(
    decode((r) => SETATTR.decodeFailure!(r, Nfs4Status.NFS4ERR_PERM), bytes),
    new Set([Attr.SIZE, Attr.MODE]),
  );
  assert.deepStrictEqual(
    encode((w) => SETATTR.encodeFailure!(w, Nfs4Status.NFS4ERR_PERM, undefined), undefined),
    hex("00000000"),
  );
});

Deno.test("encodeReaddir() writes READDIR4args; decodeReaddir() walks the entry list", () => {
  const args = {
    cookie: 0n,
    cookieverf: new Uint8Array(8),
    dircount: 8192,
    maxcount: 32768,
    attrRequest: new Set([Attr.TYPE, Attr.FILEID]),
  };
  assertArgsVector(
    READDIR,
    args,
    hex("00000000 00000000 00000000 00000000 00002000 00008000 00000001 00100002"),
  );
  assertResultVector(
    READDIR,
    {
      cookieverf: seq(8, 1),
      entries: [dirEntry(3n, "a", { type: 1 }), dirEntry(4n, "bc")],
      eof: true,
    },
    hex(
      "01020304 05060708" +
        " 00000001 00000000 00000003 00000001 61000000 00000001 00000002 00000004 00000001" +
        " 00000001 00000000 00000004 00000002 62630000 00000000 00000000" +
        " 00000000 00000001",
    ),
  );
  assert.equal(readdir(args).opnum, 26);
});

Deno.test("decodeReaddir() keeps a name that is not UTF-8 as exact bytes", () => {
  const bytes = hex(
    "00000000 00000000 00000001 00000000 00000001 00000002 ff410000 00000000 00000000" +
      " 00000000 00000000",
  );
  const { entries } = decode(READDIR.decodeResult, bytes);
  assert.equal(entries.length, 1);
  assert.deepStrictEqual(entries[0]!.nameBytes, hex("ff41"));
  assert.equal(entries[0]!.name, "\udcffA");
});

Deno.test("encodeWrite() writes WRITE4args; decodeWrite() reads WRITE4resok", () => {
  const args = {
    stateid: { seqid: 1, other: fill(12, 0x33) },
    offset: 4096n,
    stable: StableHow.FILE_SYNC4,
    data: ascii("hello"),
  };
  assertArgsVector(
    WRITE,
    args,
    hex(
      "00000001" + "33".repeat(12) + " 00000000 00001000 00000002 00000005 68656c6c 6f000000",
    ),
  );
  assertResultVector(
    WRITE,
    { count: 5, committed: StableHow.UNSTABLE4, writeverf: seq(8, 1) },
    hex("00000005 00000000 01020304 05060708"),
  );
  assert.equal(write(args).opnum, 38);
});

Deno.test("encodeRead() writes READ4args; decodeRead() returns the data as a view", () => {
  const args = { stateid: ANONYMOUS_STATEID, offset: 0x100000000n, count: 65536 };
  assertArgsVector(
    READ,
    args,
    hex("00000000" + "00".repeat(12) + " 00000001 00000000 00010000"),
  );
  const bytes = hex("00000001 00000003 78797a00");
  const result = decode(READ.decodeResult, bytes);
  assert.deepStrictEqual(result, { eof: true, data: ascii("xyz") });
  assert.equal(result.data.buffer, bytes.buffer, "READ data is not copied");
  assert.equal(result.data.byteOffset, 8);
  assert.equal(read(args).opnum, 25);
});

Deno.test("decodeOpen() copies the stateid out of the reply buffer", () => {
  const bytes = encode(OPEN.encodeResult, {
    stateid: { seqid: 1, other: fill(12, 7) },
    cinfo: { atomic: false, before: 0n, after: 0n },
    rflags: 0,
    attrset: new Set<number>(),
    delegation: { type: DelegationType.OPEN_DELEGATE_NONE },
  });
  const result = OPEN.decodeResult(new XdrReader(bytes));
  bytes.fill(0);
  assert.deepStrictEqual(result.stateid.other, fill(12, 7));
});

Deno.test("encodeSeek() writes SEEK4args; decodeSeek() reads seek_res4 (RFC 7862 §15.11, RFC 7863)", () => {
  const args = {
    stateid: { seqid: 2, other: fill(12, 0xab) },
    offset: 0x1_0000_2000n,
    what: SeekContent.NFS4_CONTENT_HOLE,
  };
  assertArgsVector(
    SEEK,
    args,
    hex("00000002" + "ab".repeat(12) + " 00000001 00002000 00000001"),
  );
  assertResultVector(SEEK, { eof: false, offset: 0x3000n }, hex("00000000 00000000 00003000"));
  assert.deepStrictEqual(
    decode(SEEK.decodeResult, hex("00000001 00000000 00010000")),
    { eof: true, offset: 0x10000n },
  );
  assert.equal(seek(args).opnum, 69);
});
