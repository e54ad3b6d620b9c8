/**
 * Every operation's arguments and results survive encode then decode
 * (fast-check), and every codec in OP_CODECS is covered.
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import type { OpCodec } from "../../lib/nfs4/compound.ts";
import {
  ChannelDirFromClient,
  ChannelDirFromServer,
  CreateMode,
  DelegationType,
  FileType,
  GddStatus,
  LimitBy,
  LockType,
  OpenClaimType,
  RpcGssService,
  SecFlavor,
  SecinfoStyle,
  StableHow,
  StateProtectHow,
  WhyNoDelegation,
} from "../../lib/nfs4/constants.ts";
import { OP_CODECS } from "../../lib/nfs4/registry.ts";
import { attrIds } from "../../lib/nfs4/attrs.ts";
import { XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import { Nfs4Status } from "../../lib/nfs4/status.ts";
import { ACCESS } from "../../lib/nfs4/ops/access.ts";
import { BACKCHANNEL_CTL } from "../../lib/nfs4/ops/backchannel_ctl.ts";
import { BIND_CONN_TO_SESSION } from "../../lib/nfs4/ops/bind_conn_to_session.ts";
import { CLOSE } from "../../lib/nfs4/ops/close.ts";
import { COMMIT } from "../../lib/nfs4/ops/commit.ts";
import { CREATE, type CreateArgs } from "../../lib/nfs4/ops/create.ts";
import { type CallbackSecParms, CREATE_SESSION } from "../../lib/nfs4/ops/create_session.ts";
import { DELEGPURGE } from "../../lib/nfs4/ops/delegpurge.ts";
import { DELEGRETURN } from "../../lib/nfs4/ops/delegreturn.ts";
import { DESTROY_CLIENTID } from "../../lib/nfs4/ops/destroy_clientid.ts";
import { DESTROY_SESSION } from "../../lib/nfs4/ops/destroy_session.ts";
import {
  EXCHANGE_ID,
  type StateProtectArgs,
  type StateProtectResult,
} from "../../lib/nfs4/ops/exchange_id.ts";
import { FREE_STATEID } from "../../lib/nfs4/ops/free_stateid.ts";
import {
  GET_DIR_DELEGATION,
  type GetDirDelegationResult,
} from "../../lib/nfs4/ops/get_dir_delegation.ts";
import { GETATTR } from "../../lib/nfs4/ops/getattr.ts";
import { GETFH } from "../../lib/nfs4/ops/getfh.ts";
import { LINK } from "../../lib/nfs4/ops/link.ts";
import { LOCK, type Locker } from "../../lib/nfs4/ops/lock.ts";
import { LOCKT } from "../../lib/nfs4/ops/lockt.ts";
import { LOCKU } from "../../lib/nfs4/ops/locku.ts";
import { LOOKUP } from "../../lib/nfs4/ops/lookup.ts";
import { LOOKUPP } from "../../lib/nfs4/ops/lookupp.ts";
import { NVERIFY } from "../../lib/nfs4/ops/nverify.ts";
import {
  type CreateHow,
  OPEN,
  type OpenClaim,
  type OpenDelegation,
} from "../../lib/nfs4/ops/open.ts";
import { OPEN_CONFIRM } from "../../lib/nfs4/ops/open_confirm.ts";
import { OPEN_DOWNGRADE } from "../../lib/nfs4/ops/open_downgrade.ts";
import { OPENATTR } from "../../lib/nfs4/ops/openattr.ts";
import { PUTFH } from "../../lib/nfs4/ops/putfh.ts";
import { PUTPUBFH } from "../../lib/nfs4/ops/putpubfh.ts";
import { PUTROOTFH } from "../../lib/nfs4/ops/putrootfh.ts";
import { READ } from "../../lib/nfs4/ops/read.ts";
import { READDIR } from "../../lib/nfs4/ops/readdir.ts";
import { READLINK } from "../../lib/nfs4/ops/readlink.ts";
import { RECLAIM_COMPLETE } from "../../lib/nfs4/ops/reclaim_complete.ts";
import { RELEASE_LOCKOWNER } from "../../lib/nfs4/ops/release_lockowner.ts";
import { REMOVE } from "../../lib/nfs4/ops/remove.ts";
import { RENAME } from "../../lib/nfs4/ops/rename.ts";
import { RENEW } from "../../lib/nfs4/ops/renew.ts";
import { RESTOREFH } from "../../lib/nfs4/ops/restorefh.ts";
import { SAVEFH } from "../../lib/nfs4/ops/savefh.ts";
import { SECINFO, type SecInfo } from "../../lib/nfs4/ops/secinfo.ts";
import { SECINFO_NO_NAME } from "../../lib/nfs4/ops/secinfo_no_name.ts";
import { SEEK } from "../../lib/nfs4/ops/seek.ts";
import { SEQUENCE } from "../../lib/nfs4/ops/sequence.ts";
import { SETATTR } from "../../lib/nfs4/ops/setattr.ts";
import { SETCLIENTID } from "../../lib/nfs4/ops/setclientid.ts";
import { SETCLIENTID_CONFIRM } from "../../lib/nfs4/ops/setclientid_confirm.ts";
import { TEST_STATEID } from "../../lib/nfs4/ops/test_stateid.ts";
import { VERIFY } from "../../lib/nfs4/ops/verify.ts";
import { type DelegClaim, WANT_DELEGATION } from "../../lib/nfs4/ops/want_delegation.ts";
import { WRITE } from "../../lib/nfs4/ops/write.ts";
import {
  ace,
  assertRoundTrip,
  bool,
  changeInfo,
  decode,
  encode,
  fh,
  fileAttributes,
  idSet,
  name,
  nfsTime,
  opaque,
  rec,
  sessionid,
  settableAttributes,
  stateid,
  stateOwner,
  str,
  u32,
  u64,
  verifier,
} from "./_helpers.ts";

const voidArb = fc.constant(undefined);
const lockType = fc.constantFrom(...Object.values(LockType));
const delegType = fc.constantFrom(...Object.values(DelegationType));
const netAddr = rec({ netid: str, addr: str });

const createHow: fc.Arbitrary<CreateHow> = fc.oneof(
  rec({
    mode: fc.constantFrom(CreateMode.UNCHECKED4, CreateMode.GUARDED4),
    attrs: settableAttributes,
  }),
  rec({ mode: fc.constant(CreateMode.EXCLUSIVE4), verifier }),
  rec({ mode: fc.constant(CreateMode.EXCLUSIVE4_1), verifier, attrs: settableAttributes }),
);

const openClaim: fc.Arbitrary<OpenClaim> = fc.oneof(
  rec({ claim: fc.constant(OpenClaimType.CLAIM_NULL), file: name }),
  rec({ claim: fc.constant(OpenClaimType.CLAIM_PREVIOUS), delegateType: delegType }),
  rec({
    claim: fc.constant(OpenClaimType.CLAIM_DELEGATE_CUR),
    delegateStateid: stateid,
    file: name,
  }),
  rec({ claim: fc.constant(OpenClaimType.CLAIM_DELEGATE_PREV), file: name }),
  rec({ claim: fc.constant(OpenClaimType.CLAIM_FH) }),
  rec({ claim: fc.constant(OpenClaimType.CLAIM_DELEG_CUR_FH), delegateStateid: stateid }),
  rec({ claim: fc.constant(OpenClaimType.CLAIM_DELEG_PREV_FH) }),
);

const spaceLimit = fc.oneof(
  rec({ limitBy: fc.constant(LimitBy.NFS_LIMIT_SIZE), filesize: u64 }),
  rec({ limitBy: fc.constant(LimitBy.NFS_LIMIT_BLOCKS), numBlocks: u32, bytesPerBlock: u32 }),
);

const openDelegation: fc.Arbitrary<OpenDelegation> = fc.oneof(
  rec({ type: fc.constant(DelegationType.OPEN_DELEGATE_NONE) }),
  rec({
    type: fc.constant(DelegationType.OPEN_DELEGATE_READ),
    stateid,
    recall: bool,
    permissions: ace,
  }),
  rec({
    type: fc.constant(DelegationType.OPEN_DELEGATE_WRITE),
    stateid,
    recall: bool,
    spaceLimit,
    permissions: ace,
  }),
  rec({
    type: fc.constant(DelegationType.OPEN_DELEGATE_NONE_EXT),
    why: fc.constantFrom(
      WhyNoDelegation.WND4_NOT_WANTED,
      WhyNoDelegation.WND4_IS_DIR,
      WhyNoDelegation.WND4_CANCELLED,
      99,
    ),
  }),
  rec({
    type: fc.constant(DelegationType.OPEN_DELEGATE_NONE_EXT),
    why: fc.constant(WhyNoDelegation.WND4_CONTENTION),
    serverWillPushDeleg: bool,
  }),
  rec({
    type: fc.constant(DelegationType.OPEN_DELEGATE_NONE_EXT),
    why: fc.constant(WhyNoDelegation.WND4_RESOURCE),
    serverWillSignalAvail: bool,
  }),
);

const createArgs: fc.Arbitrary<CreateArgs> = fc.oneof(
  rec({ type: fc.constant(FileType.NF4LNK), linkData: str, name, attrs: settableAttributes }),
  rec({
    type: fc.constantFrom(FileType.NF4BLK, FileType.NF4CHR),
    devData: rec({ specdata1: u32, specdata2: u32 }),
    name,
    attrs: settableAttributes,
  }),
  rec({
    type: fc.constantFrom(FileType.NF4DIR, FileType.NF4SOCK, FileType.NF4FIFO),
    name,
    attrs: settableAttributes,
  }),
);

const locker: fc.Arbitrary<Locker> = fc.oneof(
  rec({
    newLockOwner: fc.constant(true as const),
    openSeqid: u32,
    openStateid: stateid,
    lockSeqid: u32,
    lockOwner: stateOwner,
  }),
  rec({ newLockOwner: fc.constant(false as const), lockStateid: stateid, lockSeqid: u32 }),
);

const lockDenied = rec({ offset: u64, length: u64, locktype: lockType, owner: stateOwner });

const secinfo: fc.Arbitrary<SecInfo> = fc.oneof(
  rec({ flavor: fc.constantFrom(0, 1, 390003) }),
  rec({
    flavor: fc.constant(SecFlavor.RPCSEC_GSS as number),
    gss: rec({
      oid: opaque(16),
      qop: u32,
      service: fc.constantFrom(...Object.values(RpcGssService)),
    }),
  }),
);

const channelAttrs = fc.oneof(
  rec({
    headerPadSize: u32,
    maxRequestSize: u32,
    maxResponseSize: u32,
    maxResponseSizeCached: u32,
    maxOperations: u32,
    maxRequests: u32,
  }),
  rec({
    headerPadSize: u32,
    maxRequestSize: u32,
    maxResponseSize: u32,
    maxResponseSizeCached: u32,
    maxOperations: u32,
    maxRequests: u32,
    rdmaIrd: u32,
  }),
);

const callbackSecParms: fc.Arbitrary<CallbackSecParms> = fc.oneof(
  rec({ flavor: fc.constant(SecFlavor.AUTH_NONE) }),
  rec({
    flavor: fc.constant(SecFlavor.AUTH_SYS),
    sys: rec({
      stamp: u32,
      machineName: fc.string({ maxLength: 20 }),
      uid: u32,
      gid: u32,
      gids: fc.array(u32, { maxLength: 16 }),
    }),
  }),
  rec({
    flavor: fc.constant(SecFlavor.RPCSEC_GSS),
    service: fc.constantFrom(...Object.values(RpcGssService)),
    handleFromServer: opaque(),
    handleFromClient: opaque(),
  }),
);

const spOps = rec({ mustEnforce: idSet, mustAllow: idSet });
const stateProtectArgs: fc.Arbitrary<StateProtectArgs> = fc.oneof(
  rec({ how: fc.constant(StateProtectHow.SP4_NONE) }),
  rec({ how: fc.constant(StateProtectHow.SP4_MACH_CRED), ops: spOps }),
  rec({
    how: fc.constant(StateProtectHow.SP4_SSV),
    ops: spOps,
    hashAlgs: fc.array(opaque(12), { maxLength: 3 }),
    encrAlgs: fc.array(opaque(12), { maxLength: 3 }),
    window: u32,
    numGssHandles: u32,
  }),
);
const stateProtectResult: fc.Arbitrary<StateProtectResult> = fc.oneof(
  rec({ how: fc.constant(StateProtectHow.SP4_NONE) }),
  rec({ how: fc.constant(StateProtectHow.SP4_MACH_CRED), ops: spOps }),
  rec({
    how: fc.constant(StateProtectHow.SP4_SSV),
    ops: spOps,
    hashAlg: u32,
    encrAlg: u32,
    ssvLen: u32,
    window: u32,
    handles: fc.array(opaque(12), { maxLength: 3 }),
  }),
);
const implId = rec({ domain: str, name: str, date: nfsTime });
const clientOwner = rec({ verifier, ownerid: opaque(64) });

const exchangeIdArgs = fc.oneof(
  rec({ clientOwner, flags: u32, stateProtect: stateProtectArgs }),
  rec({ clientOwner, flags: u32, stateProtect: stateProtectArgs, implId }),
);
const exchangeIdResultBase = {
  clientid: u64,
  sequenceid: u32,
  flags: u32,
  stateProtect: stateProtectResult,
  serverOwner: rec({ minorId: u64, majorId: opaque(64) }),
  serverScope: opaque(64),
};
const exchangeIdResult = fc.oneof(
  rec(exchangeIdResultBase),
  rec({ ...exchangeIdResultBase, implId }),
);

const gddResult: fc.Arbitrary<GetDirDelegationResult> = fc.oneof(
  rec({
    status: fc.constant(GddStatus.GDD4_OK),
    cookieverf: verifier,
    stateid,
    notification: idSet,
    childAttributes: idSet,
    dirAttributes: idSet,
  }),
  rec({ status: fc.constant(GddStatus.GDD4_UNAVAIL), willSignalDelegAvail: bool }),
);

const delegClaim: fc.Arbitrary<DelegClaim> = fc.oneof(
  rec({ claim: fc.constantFrom(OpenClaimType.CLAIM_FH, OpenClaimType.CLAIM_DELEG_PREV_FH) }),
  rec({ claim: fc.constant(OpenClaimType.CLAIM_PREVIOUS), delegateType: delegType }),
);

const dirEntryArb = fc.string({ minLength: 1, maxLength: 12, unit: "grapheme" }).chain((n) =>
  rec({
    cookie: u64,
    name: fc.constant(n),
    nameBytes: fc.constant(new TextEncoder().encode(n)),
    attrs: fileAttributes,
  })
);

interface Case {
  // deno-lint-ignore no-explicit-any
  codec: OpCodec<any, any>;
  args: fc.Arbitrary<unknown>;
  result: fc.Arbitrary<unknown>;
  /** status → failure body arbitrary */
  failures?: [number, fc.Arbitrary<unknown>][];
}

const CASES: Case[] = [
  { codec: ACCESS, args: u32, result: rec({ supported: u32, access: u32 }) },
  { codec: CLOSE, args: rec({ seqid: u32, stateid }), result: stateid },
  { codec: COMMIT, args: rec({ offset: u64, count: u32 }), result: verifier },
  { codec: CREATE, args: createArgs, result: rec({ cinfo: changeInfo, attrset: idSet }) },
  { codec: DELEGPURGE, args: u64, result: voidArb },
  { codec: DELEGRETURN, args: stateid, result: voidArb },
  { codec: GETFH, args: voidArb, result: fh },
  { codec: LINK, args: name, result: changeInfo },
  {
    codec: LOCK,
    args: rec({ locktype: lockType, reclaim: bool, offset: u64, length: u64, locker }),
    result: stateid,
    failures: [[Nfs4Status.NFS4ERR_DENIED, lockDenied]],
  },
  {
    codec: LOCKT,
    args: rec({ locktype: lockType, offset: u64, length: u64, owner: stateOwner }),
    result: voidArb,
    failures: [[Nfs4Status.NFS4ERR_DENIED, lockDenied]],
  },
  {
    codec: LOCKU,
    args: rec({ locktype: lockType, seqid: u32, stateid, offset: u64, length: u64 }),
    result: stateid,
  },
  { codec: LOOKUP, args: name, result: voidArb },
  { codec: LOOKUPP, args: voidArb, result: voidArb },
  { codec: NVERIFY, args: fileAttributes, result: voidArb },
  {
    codec: OPEN,
    args: fc.oneof(
      rec({
        seqid: u32,
        shareAccess: u32,
        shareDeny: u32,
        owner: stateOwner,
        claim: openClaim,
      }),
      rec({
        seqid: u32,
        shareAccess: u32,
        shareDeny: u32,
        owner: stateOwner,
        create: createHow,
        claim: openClaim,
      }),
    ),
    result: rec({
      stateid,
      cinfo: changeInfo,
      rflags: u32,
      attrset: idSet,
      delegation: openDelegation,
    }),
  },
  { codec: OPENATTR, args: bool, result: voidArb },
  { codec: OPEN_CONFIRM, args: rec({ stateid, seqid: u32 }), result: stateid },
  {
    codec: OPEN_DOWNGRADE,
    args: rec({ stateid, seqid: u32, shareAccess: u32, shareDeny: u32 }),
    result: stateid,
  },
  { codec: PUTFH, args: fh, result: voidArb },
  { codec: PUTPUBFH, args: voidArb, result: voidArb },
  { codec: PUTROOTFH, args: voidArb, result: voidArb },
  {
    codec: READ,
    args: rec({ stateid, offset: u64, count: u32 }),
    result: rec({ eof: bool, data: opaque(100) }),
  },
  {
    codec: READDIR,
    args: rec({
      cookie: u64,
      cookieverf: verifier,
      dircount: u32,
      maxcount: u32,
      attrRequest: idSet,
    }),
    result: rec({
      cookieverf: verifier,
      entries: fc.array(dirEntryArb, { maxLength: 5 }),
      eof: bool,
    }),
  },
  { codec: READLINK, args: voidArb, result: str },
  { codec: REMOVE, args: name, result: changeInfo },
  {
    codec: RENAME,
    args: rec({ oldName: name, newName: name }),
    result: rec({ sourceCinfo: changeInfo, targetCinfo: changeInfo }),
  },
  { codec: RENEW, args: u64, result: voidArb },
  { codec: RESTOREFH, args: voidArb, result: voidArb },
  { codec: SAVEFH, args: voidArb, result: voidArb },
  { codec: SECINFO, args: name, result: fc.array(secinfo, { maxLength: 5 }) },
  {
    codec: SETATTR,
    args: rec({ stateid, attrs: settableAttributes }),
    result: idSet,
    failures: [
      [Nfs4Status.NFS4ERR_PERM, idSet],
      [Nfs4Status.NFS4ERR_BADOWNER, idSet],
    ],
  },
  {
    codec: SETCLIENTID,
    args: rec({
      client: rec({ verifier, id: opaque(64) }),
      callback: rec({ program: u32, location: netAddr }),
      callbackIdent: u32,
    }),
    result: rec({ clientid: u64, confirm: verifier }),
    failures: [[Nfs4Status.NFS4ERR_CLID_INUSE, netAddr]],
  },
  {
    codec: SETCLIENTID_CONFIRM,
    args: rec({ clientid: u64, confirm: verifier }),
    result: voidArb,
  },
  { codec: VERIFY, args: fileAttributes, result: voidArb },
  {
    codec: WRITE,
    args: rec({
      stateid,
      offset: u64,
      stable: fc.constantFrom(...Object.values(StableHow)),
      data: opaque(100),
    }),
    result: rec({
      count: u32,
      committed: fc.constantFrom(...Object.values(StableHow)),
      writeverf: verifier,
    }),
  },
  { codec: RELEASE_LOCKOWNER, args: stateOwner, result: voidArb },
  {
    codec: BACKCHANNEL_CTL,
    args: rec({ cbProgram: u32, secParms: fc.array(callbackSecParms, { maxLength: 3 }) }),
    result: voidArb,
  },
  {
    codec: BIND_CONN_TO_SESSION,
    args: rec({
      sessionid,
      dir: fc.constantFrom(...Object.values(ChannelDirFromClient)),
      useConnInRdmaMode: bool,
    }),
    result: rec({
      sessionid,
      dir: fc.constantFrom(...Object.values(ChannelDirFromServer)),
      useConnInRdmaMode: bool,
    }),
  },
  { codec: EXCHANGE_ID, args: exchangeIdArgs, result: exchangeIdResult },
  {
    codec: CREATE_SESSION,
    args: rec({
      clientid: u64,
      sequence: u32,
      flags: u32,
      foreChannel: channelAttrs,
      backChannel: channelAttrs,
      cbProgram: u32,
      secParms: fc.array(callbackSecParms, { maxLength: 3 }),
    }),
    result: rec({
      sessionid,
      sequence: u32,
      flags: u32,
      foreChannel: channelAttrs,
      backChannel: channelAttrs,
    }),
  },
  { codec: DESTROY_SESSION, args: sessionid, result: voidArb },
  { codec: FREE_STATEID, args: stateid, result: voidArb },
  {
    codec: GET_DIR_DELEGATION,
    args: rec({
      signalDelegAvail: bool,
      notificationTypes: idSet,
      childAttrDelay: nfsTime,
      dirAttrDelay: nfsTime,
      childAttributes: idSet,
      dirAttributes: idSet,
    }),
    result: gddResult,
  },
  {
    codec: SECINFO_NO_NAME,
    args: fc.constantFrom(...Object.values(SecinfoStyle)),
    result: fc.array(secinfo, { maxLength: 5 }),
  },
  {
    codec: SEEK,
    args: rec({ stateid, offset: u64, what: fc.constantFrom(0, 1) }),
    result: rec({ eof: bool, offset: u64 }),
  },
  {
    codec: SEQUENCE,
    args: rec({
      sessionid,
      sequenceid: u32,
      slotid: u32,
      highestSlotid: u32,
      cachethis: bool,
    }),
    result: rec({
      sessionid,
      sequenceid: u32,
      slotid: u32,
      highestSlotid: u32,
      targetHighestSlotid: u32,
      statusFlags: u32,
    }),
  },
  {
    codec: TEST_STATEID,
    args: fc.array(stateid, { maxLength: 8 }),
    result: fc.array(u32, { maxLength: 8 }),
  },
  {
    codec: WANT_DELEGATION,
    args: rec({ want: u32, claim: delegClaim }),
    result: openDelegation,
  },
  { codec: DESTROY_CLIENTID, args: u64, result: voidArb },
  { codec: RECLAIM_COMPLETE, args: bool, result: voidArb },
];

Deno.test("OP_CODECS holds every op codec, and every one has a round-trip case", () => {
  assert.deepStrictEqual(
    [...OP_CODECS.keys()].sort((a, b) => a - b),
    CASES.map((c) => c.codec.opnum).concat(GETATTR.opnum).sort((a, b) => a - b),
  );
  for (const [opnum, codec] of OP_CODECS) assert.equal(codec.opnum, opnum);
});

for (const { codec, args, result, failures } of CASES) {
  Deno.test(`${codec.name} codec round-trips its arguments and results`, () => {
    fc.assert(
      fc.property(args, (a) => assertRoundTrip(codec.encodeArgs, codec.decodeArgs, a)),
      { numRuns: 60 },
    );
    fc.assert(
      fc.property(result, (r) => assertRoundTrip(codec.encodeResult, codec.decodeResult, r)),
      { numRuns: 60 },
    );
    for (const [status, body] of failures ?? []) {
      fc.assert(
        fc.property(body, (detail) =>
          assertRoundTrip(
            (w, d) => codec.encodeFailure!(w, status, d),
            (r) => codec.decodeFailure!(r, status),
            detail,
          )),
        { numRuns: 30 },
      );
    }
  });
}

Deno.test("GETATTR codec round-trips its bitmap and attributes", () => {
  fc.assert(fc.property(idSet, (ids) => {
    assertRoundTrip(GETATTR.encodeArgs, GETATTR.decodeArgs, ids);
  }));
  fc.assert(fc.property(fileAttributes, (attrs) => {
    const decoded = decode(
      GETATTR.decodeResult,
      encode(GETATTR.encodeResult, {
        attrs,
        returned: new Set(attrIds(attrs)),
        undecoded: new Set<number>(),
      }),
    );
    assert.deepStrictEqual(decoded.attrs, attrs);
    assert.deepStrictEqual(decoded.returned, new Set(attrIds(attrs)));
    assert.equal(decoded.undecoded.size, 0);
  }));
});

Deno.test("decodeFailure() of ops without failure bodies returns undefined", () => {
  const r = new XdrReader(new Uint8Array(0));
  assert.equal(LOCK.decodeFailure!(r, Nfs4Status.NFS4ERR_GRACE), undefined);
  assert.equal(LOCKT.decodeFailure!(r, Nfs4Status.NFS4ERR_EXPIRED), undefined);
  assert.equal(SETCLIENTID.decodeFailure!(r, Nfs4Status.NFS4ERR_SERVERFAULT), undefined);
  assert.equal(OPEN.decodeFailure, undefined);
});

Deno.test("encodeFailure() of LOCK DENIED without a LockDenied detail throws", () => {
  assert.throws(
    () => LOCK.encodeFailure!(new XdrWriter(), Nfs4Status.NFS4ERR_DENIED, undefined),
    TypeError,
  );
  assert.throws(
    () => SETCLIENTID.encodeFailure!(new XdrWriter(), Nfs4Status.NFS4ERR_CLID_INUSE, undefined),
    TypeError,
  );
});
