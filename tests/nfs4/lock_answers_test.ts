/**
 * LOCK, LOCKT and LOCKU answers a broken or hostile server might send
 * (RFC 7530 §9.1.4, §16.10-§16.12; RFC 8881 §8.2, §18.10-§18.12): a lock
 * stateid that is a special stateid or the open stateid itself is no lock
 * stateid, and a LOCK4denied's owner is bounded by NFS4_OPAQUE_LIMIT.
 */

import assert from "node:assert/strict";
import { XdrError, XdrReader, XdrWriter } from "../../lib/xdr/mod.ts";
import { LockType } from "../../lib/nfs4/constants.ts";
import { Nfs4ProtocolError } from "../../lib/nfs4/errors.ts";
import { decodeLockDenied, LOCK, type LockArgs } from "../../lib/nfs4/ops/lock.ts";
import { encodeStateid, type Stateid } from "../../lib/nfs4/types.ts";

const OPEN_STATEID: Stateid = { seqid: 1, other: new Uint8Array(12).fill(0x42) };
const LOCK_STATEID: Stateid = { seqid: 1, other: new Uint8Array(12).fill(0x17) };

function lockArgs(newLockOwner: boolean): LockArgs {
  return {
    locktype: LockType.WRITE_LT,
    reclaim: false,
    offset: 0n,
    length: 10n,
    locker: newLockOwner
      ? {
        newLockOwner: true,
        openSeqid: 1,
        openStateid: OPEN_STATEID,
        lockSeqid: 0,
        lockOwner: { clientid: 1n, owner: new Uint8Array([1]) },
      }
      : { newLockOwner: false, lockStateid: LOCK_STATEID, lockSeqid: 2 },
  };
}

function decodeLockResult(stateid: Stateid, args: LockArgs): Stateid {
  const w = new XdrWriter(16);
  encodeStateid(w, stateid);
  const r = new XdrReader(w.bytes().slice());
  const result = LOCK.decodeResult(r, args);
  r.assertEnd();
  return result;
}

for (const newLockOwner of [true, false]) {
  const which = newLockOwner ? "open_to_lock_owner4" : "exist_lock_owner4";

  Deno.test(`LOCK (${which}) refuses a special stateid as the lock stateid (RFC 8881 §8.2.3, RFC 7530 §9.1.4.3)`, () => {
    for (const fill of [0x00, 0xff]) {
      for (const seqid of [0, 1, 0xffff_ffff]) {
        const special = { seqid, other: new Uint8Array(12).fill(fill) };
        assert.throws(
          () => decodeLockResult(special, lockArgs(newLockOwner)),
          (e: unknown) => e instanceof Nfs4ProtocolError && /special stateid/.test(e.message),
        );
      }
    }
  });

  Deno.test(`LOCK (${which}) takes a lock stateid of its own`, () => {
    const got = decodeLockResult({ seqid: 2, other: LOCK_STATEID.other }, lockArgs(newLockOwner));
    assert.deepEqual(got, { seqid: 2, other: LOCK_STATEID.other });
  });
}

Deno.test("LOCK with open_to_lock_owner4 refuses the open stateid as the lock stateid (RFC 7530 §9.1.4, RFC 8881 §8.2.1)", () => {
  assert.throws(
    () => decodeLockResult({ seqid: 2, other: OPEN_STATEID.other }, lockArgs(true)),
    (e: unknown) => e instanceof Nfs4ProtocolError && /open stateid/.test(e.message),
  );
});

Deno.test("decodeLockDenied() refuses an owner longer than NFS4_OPAQUE_LIMIT before allocating it (RFC 7530 §16.10.4)", () => {
  const w = new XdrWriter(64);
  w.writeUhyper(0n);
  w.writeUhyper(0xffff_ffff_ffff_ffffn);
  w.writeInt(LockType.WRITE_LT);
  w.writeUhyper(7n);
  w.writeUint(0x7fff_ffff); // owner length
  w.writeUint(0);
  assert.throws(() => decodeLockDenied(new XdrReader(w.bytes().slice())), XdrError);
});
