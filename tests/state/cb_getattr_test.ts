/**
 * CB_GETATTR on a file this client holds a write delegation on (RFC 7530
 * §10.4.3, §18.1; RFC 8881 §10.4.3, §20.1): the client answers change and
 * size, those asked for. It caches no data, so it never holds modified
 * data: the change attribute is the one the OPEN that got the delegation
 * saw ("c"), the size the client's current view, which follows its own
 * WRITEs and SETATTRs (files.ts noteWritten, noteSizeSet).
 */

import assert from "node:assert/strict";
import { cbGetattr } from "../../lib/nfs4/callback.ts";
import { Attr, type FileAttributes } from "../../lib/nfs4/attrs.ts";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import type { Nfs4Op } from "../../lib/nfs4/compound.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { putfh } from "../../lib/nfs4/ops/putfh.ts";
import { setattr } from "../../lib/nfs4/ops/setattr.ts";
import { write } from "../../lib/nfs4/ops/write.ts";
import { noteSizeSet, noteWritten, openFile } from "../../lib/state/files.ts";
import type { Harness } from "./_harness.ts";
import { bare, withCallbacks } from "./_delegations.ts";

const READ = ShareAccess.OPEN4_SHARE_ACCESS_READ;
const RW = ShareAccess.OPEN4_SHARE_ACCESS_READ | ShareAccess.OPEN4_SHARE_ACCESS_WRITE;

async function getattr(a: Harness, fh: Uint8Array, asked: number[]) {
  const out = await a.server.sendCallback(a.m.client.clientId!, [
    cbGetattr({ fh, attrRequest: new Set(asked) }),
  ] as Nfs4Op<unknown>[]);
  const last = out.reply!.outcomes.at(-1)!;
  return { status: last.status, attrs: last.value as FileAttributes | undefined };
}

function writeDelegations(minor: 0 | 1) {
  return withCallbacks(minor, { delegations: { read: true, write: true } });
}

for (const minor of [0, 1] as const) {
  const v = `4.${minor}`;
  const rfc = minor === 0 ? "RFC 7530 §10.4.3, §18.1" : "RFC 8881 §10.4.3, §20.1";

  Deno.test(`${v}: CB_GETATTR on a write-delegated file answers the change attribute and size the OPEN saw (${rfc})`, async () => {
    await using a = await writeDelegations(minor);
    const dirFh = await a.vfs();
    const opened = await openFile(a.m, { dirFh, name: "file", path: "/vfs/file", access: RW });
    assert.equal(opened.state.delegation?.type, "write");
    const node = a.server.file("/vfs/file")!;
    assert.equal(opened.attrs.attrs.change, node.change);
    const { status, attrs } = await getattr(a, opened.state.fh, [Attr.CHANGE, Attr.SIZE]);
    assert.equal(status, S.NFS4_OK);
    assert.deepEqual(attrs, { change: node.change, size: BigInt(node.data.length) });
    // Only what was asked for.
    assert.deepEqual((await getattr(a, opened.state.fh, [Attr.SIZE])).attrs, {
      size: BigInt(node.data.length),
    });
    assert.deepEqual((await getattr(a, opened.state.fh, [Attr.CHANGE, Attr.MODE])).attrs, {
      change: node.change,
    });
    assert.ok(opened.state.delegation, "kept: nothing asked for it back");
  });

  Deno.test(`${v}: after this client's WRITE and SETATTR, CB_GETATTR reports the size the server has, and still the change attribute of the grant: no modified data is held (${rfc})`, async () => {
    await using a = await writeDelegations(minor);
    const state = await a.open("file", RW);
    const node = a.server.file("/vfs/file")!;
    const granted = node.change;
    const data = new TextEncoder().encode("a longer text than the one the file had\n");
    await a.m.run(
      () =>
        [putfh(state.fh), write({ stateid: state.stateid, offset: 0n, stable: 2, data })] as const,
      { states: [state] },
    );
    noteWritten(a.m, state, BigInt(data.length));
    assert.equal(BigInt(node.data.length), BigInt(data.length));
    assert.notEqual(node.change, granted, "the server's change attribute moved on");
    assert.deepEqual((await getattr(a, state.fh, [Attr.CHANGE, Attr.SIZE])).attrs, {
      change: granted,
      size: BigInt(data.length),
    });
    // A WRITE inside the file does not shrink it.
    noteWritten(a.m, state, 3n);
    assert.equal((await getattr(a, state.fh, [Attr.SIZE])).attrs?.size, BigInt(data.length));
    await a.m.run(
      () => [putfh(state.fh), setattr({ stateid: state.stateid, attrs: { size: 5n } })] as const,
      { states: [state] },
    );
    noteSizeSet(a.m, state, 5n);
    assert.deepEqual((await getattr(a, state.fh, [Attr.CHANGE, Attr.SIZE])).attrs, {
      change: granted,
      size: 5n,
    });
  });

  Deno.test(`${v}: CB_GETATTR on a file held with a read delegation only is answered NFS4ERR_BADHANDLE (${rfc})`, async () => {
    await using a = await writeDelegations(minor);
    const state = await a.open("file", READ);
    assert.equal(state.delegation?.type, "read");
    assert.equal(
      (await getattr(a, state.fh, [Attr.CHANGE, Attr.SIZE])).status,
      S.NFS4ERR_BADHANDLE,
    );
  });

  Deno.test(`${v}: a write delegation whose OPEN fetched no change attribute goes back at the first CB_GETATTR: the server's attributes are the file's (${rfc})`, async () => {
    await using a = await writeDelegations(minor);
    const dirFh = await a.vfs();
    const opened = await openFile(a.m, {
      dirFh,
      name: "file",
      path: "/vfs/file",
      access: RW,
      attrs: [Attr.TYPE],
    });
    assert.equal(opened.state.delegation?.change, undefined);
    a.mark();
    const { status, attrs } = await getattr(a, opened.state.fh, [Attr.CHANGE, Attr.SIZE]);
    assert.equal(status, S.NFS4_OK);
    assert.deepEqual(attrs, {});
    await a.drive(a.m.waitForRecovery());
    assert.equal(opened.state.delegation, undefined);
    assert.deepEqual(bare(a.ops()), ["PUTFH,DELEGRETURN"]);
  });
}
