/**
 * RFC 7530 §9.5: on NFSv4.0 the lease is renewed implicitly only by
 * operations that carry a valid clientid or a valid stateid, and "this does
 * not include the special stateids" (anonymous, READ bypass). A client
 * holding state whose only traffic is SETATTRs with the anonymous stateid
 * (chmod, touch, chown in a long-lived client: `nfs4 shell`, a library user,
 * `cp -r -p`'s SETATTRs beside an open) must still send RENEW within the
 * lease (lib/state/manager.ts #renewsLease, procs.ts SPECIAL_STATEID_OPS).
 *
 * The first test is the audit's (/tmp/hE/tests/anon_setattr_renew_test.ts,
 * finding F2); against Ganesha 4.3 the lease expired that way
 * (/tmp/hE/repro/anon_setattr_renew.ts: the held open's READ answered
 * NFS4ERR_EXPIRED).
 */
import assert from "node:assert/strict";
import { harness } from "./_harness.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { setattr } from "../../lib/nfs4/ops/setattr.ts";
import { read } from "../../lib/nfs4/ops/read.ts";
import { write } from "../../lib/nfs4/ops/write.ts";
import { ShareAccess, StableHow } from "../../lib/nfs4/constants.ts";
import { ANONYMOUS_STATEID, isSpecialStateid, READ_BYPASS_STATEID } from "../../lib/nfs4/types.ts";

Deno.test("4.0: SETATTRs with the anonymous stateid do not stand in for RENEW while state is held (RFC 7530 §9.5)", async () => {
  await using h = await harness(0, { leaseTime: 30 });
  const file = await h.open("file");
  h.mark();
  // Every 5 s a SETATTR(mode) with the anonymous stateid, for 100 s (3+ leases).
  for (let t = 0; t < 100_000; t += 5_000) {
    await h.drive(
      h.m.run(() =>
        [putfh(file.fh), setattr({ stateid: ANONYMOUS_STATEID, attrs: { mode: 0o644 } })] as const
      ),
    );
    await h.tick(5_000);
  }
  const renews = h.ops().filter((o) => o.startsWith("RENEW")).length;
  assert.ok(
    renews >= 3,
    `RENEW sent ${renews} times in 100 s with a 30 s lease; ops: ${
      h.ops().slice(0, 6).join(" | ")
    }`,
  );
});

Deno.test("4.0: a READ with the READ-bypass stateid and a WRITE with the anonymous stateid do not postpone RENEW; a READ with the open's stateid does (RFC 7530 §9.5)", async () => {
  await using h = await harness(0);
  const file = await h.open("file", ShareAccess.OPEN4_SHARE_ACCESS_BOTH);
  await h.tick(15_000);
  h.mark();
  await h.m.run(() =>
    [putfh(file.fh), read({ stateid: READ_BYPASS_STATEID, offset: 0n, count: 5 })] as const
  );
  await h.m.run(() =>
    [
      putfh(file.fh),
      write({
        stateid: ANONYMOUS_STATEID,
        offset: 0n,
        stable: StableHow.FILE_SYNC4,
        data: new TextEncoder().encode("h"),
      }),
    ] as const
  );
  await h.tick(10_000);
  // Renewed on time (20 s after the open), not pushed back by those two.
  assert.deepEqual(h.timeline().filter(([, ops]) => ops === "RENEW"), [[20_000, "RENEW"]]);
  // A READ with the open's own stateid renews: the next RENEW waits 20 s from it.
  await h.tick(2_000);
  await h.read(file);
  h.mark();
  await h.tick(19_000);
  assert.deepEqual(h.timeline(), []);
  await h.tick(2_000);
  assert.deepEqual(h.timeline().map(([, ops]) => ops), ["RENEW"]);
});

Deno.test("isSpecialStateid() knows the anonymous, READ-bypass and 4.1 current stateids, not a server's (RFC 7530 §9.1.4.3, RFC 8881 §8.2.3)", () => {
  assert.equal(isSpecialStateid(ANONYMOUS_STATEID), true);
  assert.equal(isSpecialStateid(READ_BYPASS_STATEID), true);
  assert.equal(isSpecialStateid({ seqid: 1, other: new Uint8Array(12) }), true);
  const other = new Uint8Array(12);
  other[11] = 1;
  assert.equal(isSpecialStateid({ seqid: 0, other }), false);
  assert.equal(
    isSpecialStateid({ seqid: 0, other: new Uint8Array(12).fill(0xff).fill(0, 6) }),
    false,
  );
});
