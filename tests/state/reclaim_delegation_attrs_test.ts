/**
 * A write delegation got back by a reboot reclaim (OPEN CLAIM_PREVIOUS) or
 * granted by a re-open without grace is recorded by the server as of that
 * OPEN, and CB_GETATTR is compared with that record (RFC 7530 §10.4.3,
 * RFC 8881 §10.4.3): the change reported is the one the recovery's own
 * GETATTR saw, never the one from before, which would tell the server the
 * file was modified by this client.
 */

import assert from "node:assert/strict";
import { cbGetattr } from "../../lib/nfs4/callback.ts";
import { Attr, type FileAttributes } from "../../lib/nfs4/attrs.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import type { Nfs4Op } from "../../lib/nfs4/compound.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { write } from "../../lib/nfs4/ops/write.ts";
import { noteWritten } from "../../lib/state/files.ts";
import type { OpenState } from "../../lib/state/open_state.ts";
import { drain, type Harness } from "./_harness.ts";
import { bare, withCallbacks } from "./_delegations.ts";

const READ = ShareAccess.OPEN4_SHARE_ACCESS_READ;
const RW = ShareAccess.OPEN4_SHARE_ACCESS_READ | ShareAccess.OPEN4_SHARE_ACCESS_WRITE;

async function cbGetattrOf(a: Harness, fh: Uint8Array) {
  const out = await a.server.sendCallback(a.m.client.clientId!, [
    cbGetattr({ fh, attrRequest: new Set([Attr.CHANGE, Attr.SIZE]) }),
  ] as Nfs4Op<unknown>[]);
  const last = out.reply!.outcomes.at(-1)!;
  return { status: last.status, attrs: last.value as FileAttributes | undefined };
}

/** The reclaim's (or re-open's) COMPOUNDs: its OPEN, and a GETATTR refused before it. */
function reopens(a: Harness): string[] {
  return bare(a.ops()).filter((o) => /(^|,)OPEN(,|$| )/.test(o) || o.startsWith("PUTFH,GETATTR"));
}

/** A WRITE through `state` (the server's change moves on), noted as the client layer does. */
async function writeSome(a: Harness, state: OpenState): Promise<void> {
  const data = new TextEncoder().encode("written before the recovery, longer\n");
  await a.m.run(
    () =>
      [putfh(state.fh), write({ stateid: state.stateid, offset: 0n, stable: 2, data })] as const,
    { states: [state] },
  );
  noteWritten(a.m, state, BigInt(data.length));
}

for (const minor of [0, 1] as const) {
  const rfc = minor === 0 ? "RFC 7530 §10.4.3" : "RFC 8881 §10.4.3";

  Deno.test(`4.${minor}: after a reboot reclaim of a write delegation (GETATTR in the CLAIM_PREVIOUS COMPOUND) CB_GETATTR reports the change and size the server has at the reclaim, not the ones from before the reboot (${rfc})`, async () => {
    await using a = await withCallbacks(minor, { delegations: { read: true, write: true } });
    const state = await a.open("file", RW);
    assert.equal(state.delegation?.type, "write");
    await writeSome(a, state);
    a.server.reboot();
    a.mark();
    await a.drive(a.readText(state));
    await a.drive(a.m.waitForRecovery());
    await drain();
    assert.equal(state.delegation?.type, "write", "reclaimed");
    const node = a.server.file("/vfs/file")!;
    const { status, attrs } = await cbGetattrOf(a, state.fh);
    assert.equal(status, S.NFS4_OK);
    assert.deepEqual(attrs, { change: node.change, size: BigInt(node.data.length) });
    assert.ok(!state.delegation.recalled, "kept: its attributes are current");
    // The GETATTR goes before the OPEN: refused, it leaves no reclaim done.
    assert.deepEqual(reopens(a), ["PUTFH,GETATTR,OPEN"]);
  });

  Deno.test(`4.${minor}: a reclaim's GETATTR refused NFS4ERR_DELAY is sent again with the OPEN(CLAIM_PREVIOUS), which runs once (${rfc}, RFC 8881 §2.10.6)`, async () => {
    await using a = await withCallbacks(minor, { delegations: { read: true, write: true } });
    const state = await a.open("file", RW);
    await writeSome(a, state);
    a.server.reboot();
    a.mark();
    // The reclaim's GETATTR (change and size), refused once.
    let refused = 0;
    a.server.intercept("GETATTR", (args) => {
      const asked = [...(args as Set<number>)].sort((x, y) => x - y);
      if (refused > 0 || asked.join() !== [Attr.SIZE, Attr.CHANGE].sort((x, y) => x - y).join()) {
        return;
      }
      refused++;
      return S.NFS4ERR_DELAY;
    }, { times: 100 });
    let opensRun = 0;
    a.server.intercept("OPEN", () => void opensRun++, { times: 100 });
    await a.drive(a.readText(state));
    await a.drive(a.m.waitForRecovery());
    assert.equal(refused, 1);
    // The COMPOUND stopped at its GETATTR: its OPEN never ran there.
    assert.deepEqual(reopens(a), ["PUTFH,GETATTR,OPEN -> NFS4ERR_DELAY", "PUTFH,GETATTR,OPEN"]);
    assert.equal(opensRun, 1, "the reclaim OPEN ran once");
    const node = a.server.file("/vfs/file")!;
    assert.equal((await cbGetattrOf(a, state.fh)).attrs?.change, node.change);
  });

  Deno.test(`4.${minor}: a reclaim of a read delegation asks no attributes (CB_GETATTR is for write delegations) (${rfc})`, async () => {
    await using a = await withCallbacks(minor);
    const state = await a.open("file", READ);
    assert.equal(state.delegation?.type, "read");
    a.server.reboot();
    a.mark();
    await a.drive(a.readText(state));
    await a.drive(a.m.waitForRecovery());
    assert.deepEqual(reopens(a), ["PUTFH,OPEN"]);
    assert.equal(state.delegation?.type, "read");
  });
}

Deno.test("4.1: a re-open without grace for writing asks the file's change and size in its COMPOUND: the write delegation it is granted answers CB_GETATTR with the server's change (RFC 8881 §10.4.3, §8.2.4)", async () => {
  await using a = await withCallbacks(1, { delegations: { read: true, write: true } });
  const state = await a.open("file", RW);
  await writeSome(a, state);
  const before = state.delegation!.stateid;
  a.server.expireLease();
  a.mark();
  await a.drive(a.readText(state));
  await a.drive(a.m.waitForRecovery());
  assert.deepEqual(reopens(a), ["PUTFH,GETATTR,OPEN"]);
  assert.equal(state.delegation?.type, "write", "a new write delegation granted");
  assert.notDeepEqual(state.delegation.stateid, before);
  const node = a.server.file("/vfs/file")!;
  const { attrs } = await cbGetattrOf(a, state.fh);
  assert.deepEqual(attrs, { change: node.change, size: BigInt(node.data.length) });
});
