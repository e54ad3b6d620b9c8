/**
 * CB_RECALL_ANY (RFC 8881 §20.6): the server asks the client to keep at
 * most craa_objects_to_keep of the kinds its type mask names. This client
 * holds file delegations only: read ones count under
 * RCA4_TYPE_MASK_RDATA_DLG, write ones under RCA4_TYPE_MASK_WDATA_DLG;
 * nothing else is given back.
 */

import assert from "node:assert/strict";
import { cbRecallAny } from "../../lib/nfs4/callback.ts";
import type { Nfs4Op } from "../../lib/nfs4/compound.ts";
import { RecallAnyType, ShareAccess } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { Harness } from "./_harness.ts";
import { bare, withCallbacks } from "./_delegations.ts";

const READ = ShareAccess.OPEN4_SHARE_ACCESS_READ;
const RW = ShareAccess.OPEN4_SHARE_ACCESS_READ | ShareAccess.OPEN4_SHARE_ACCESS_WRITE;
const { RCA4_TYPE_MASK_RDATA_DLG: RDATA, RCA4_TYPE_MASK_WDATA_DLG: WDATA } = RecallAnyType;

async function recallAny(a: Harness, objectsToKeep: number, mask: number[]): Promise<number> {
  a.mark();
  const out = await a.server.sendCallback(a.m.client.clientId!, [
    cbRecallAny({ objectsToKeep, typeMask: new Set(mask) }),
  ] as Nfs4Op<unknown>[]);
  await a.drive(a.m.waitForRecovery());
  return out.reply!.outcomes.at(-1)!.status;
}

function returned(a: Harness): number {
  return bare(a.ops()).filter((o) => o === "PUTFH,DELEGRETURN").length;
}

for (
  const [label, mask, keep] of [
    ["write delegations only (WDATA_DLG)", [WDATA], 0],
    [
      "layouts only (FILE_LAYOUT, OBJ_LAYOUT_MIN)",
      [RecallAnyType.RCA4_TYPE_MASK_FILE_LAYOUT, 8],
      0,
    ],
    ["read delegations, keeping 5", [RDATA], 5],
    ["read delegations, keeping 1", [RDATA], 1],
  ] as const
) {
  Deno.test(`4.1: CB_RECALL_ANY for ${label} leaves the one read delegation held (RFC 8881 §20.6.3)`, async () => {
    await using a = await withCallbacks(1);
    const state = await a.open("file", READ);
    assert.equal(await recallAny(a, keep, [...mask]), S.NFS4_OK);
    assert.equal(state.delegation?.recalled, false);
    assert.equal(returned(a), 0);
  });
}

Deno.test("4.1: CB_RECALL_ANY gives back the delegations of the types asked for beyond those to keep, and no other (RFC 8881 §20.6.3)", async () => {
  await using a = await withCallbacks(1, { delegations: { read: true, write: true } });
  const reads = [await a.open("file", READ), await a.open("other", READ)];
  a.server.addFile("/vfs/third", "third\n");
  const writing = await a.open("third", RW);
  assert.deepEqual(
    [...reads, writing].map((s) => s.delegation?.type),
    ["read", "read", "write"],
  );
  // Read delegations, keep 1: one of the two reads goes back.
  assert.equal(await recallAny(a, 1, [RDATA]), S.NFS4_OK);
  assert.equal(returned(a), 1);
  assert.equal(reads.filter((s) => s.delegation).length, 1);
  assert.ok(writing.delegation);
  // Both kinds, keep 1: of the two left, one goes back.
  assert.equal(await recallAny(a, 1, [RDATA, WDATA]), S.NFS4_OK);
  assert.equal(returned(a), 1);
  assert.equal([...reads, writing].filter((s) => s.delegation).length, 1);
  // Both kinds, keep 0: the last goes back.
  assert.equal(await recallAny(a, 0, [RDATA, WDATA]), S.NFS4_OK);
  assert.equal(returned(a), 1);
  assert.equal([...reads, writing].filter((s) => s.delegation).length, 0);
  assert.equal(a.server.delegations.size, 0);
});
