/**
 * A create whose mode SETATTR is refused closes the open it made
 * (lib/state/files.ts setAfterCreate), while another OPEN of the same new
 * name by the same open owner is on its way: the server gives both OPENs
 * one open state (an upgrade, RFC 7530 §9.1.1, RFC 8881 §9.7), so the
 * CLOSE must not cross that OPEN. Either the other OPEN joined the state
 * before the CLOSE was decided (the close is then one user's, an
 * OPEN_DOWNGRADE at most), or it waits for the CLOSE and opens afresh;
 * never a CLOSE of the state it just joined, whose stateid is then gone
 * (NFS4ERR_BAD_STATEID at its first READ). Against the scripted server,
 * on 4.0 and 4.1.
 */

import assert from "node:assert/strict";
import { ShareAccess } from "../../lib/nfs4/constants.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { openFile, type OpenRequest } from "../../lib/state/files.ts";
import { drain, type Harness, harness } from "./_harness.ts";

/** Lets replies and continuations run until `ready()` holds. */
async function until(ready: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !ready(); i++) await drain();
  assert.ok(ready(), `never: ${what}`);
}

/**
 * An OPEN of /vfs/new; by default the create of it, for writing, with a
 * mode (which the server ignores: its SETATTR follows); `null`: no create.
 */
async function newFile(
  h: Harness,
  access: number = ShareAccess.OPEN4_SHARE_ACCESS_WRITE,
  create: OpenRequest["create"] | null = { mode: "guarded", attrs: { mode: 0o600 } },
): Promise<OpenRequest> {
  const request = { dirFh: await h.vfs(), name: "new", path: "/vfs/new", access };
  return create === null ? request : { ...request, create };
}

/**
 * Starts `request`, a create whose mode SETATTR the server refuses, with
 * the replies of COMPOUNDs holding `op` held back; returns once one is.
 */
async function failingCreate(
  h: Harness,
  request: OpenRequest,
  op: string,
): Promise<{ creating: Promise<unknown> }> {
  h.server.failNext("SETATTR", S.NFS4ERR_PERM);
  h.channel.holdReplies(op);
  const creating = openFile(h.m, request);
  creating.catch(() => {});
  await until(() => h.channel.heldReplies(op) === 1, `${op} ran`);
  return { creating };
}

function refused(e: unknown): boolean {
  return e instanceof NfsError && e.status === S.NFS4ERR_PERM && e.op === "SETATTR";
}

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: openFile(): a create whose mode SETATTR is refused never CLOSEs the open state another OPEN of the same name by the same owner joined meanwhile`, async () => {
    await using h = await harness(minor, { openIgnoresCreateAttrs: true });
    // The create's OPEN ran; its SETATTR is refused, the refusal on its way.
    const { creating } = await failingCreate(h, await newFile(h), "SETATTR");
    // The other OPEN runs on the server (it joins the create's open), its
    // reply on its way while the create's failure closes what it made.
    h.channel.holdReplies("OPEN");
    const opening = openFile(
      h.m,
      await newFile(h, ShareAccess.OPEN4_SHARE_ACCESS_READ, null),
    );
    opening.catch(() => {});
    await until(() => h.channel.heldReplies("OPEN") === 1, "the second OPEN ran");
    // Each request from here on takes a turn of the event loop, as one on
    // a network takes a round trip.
    h.channel.latency = drain;
    h.channel.releaseReplies("SETATTR");
    // The OPEN's reply goes through once a CLOSE was sent (its retry after
    // NFS4ERR_OLD_STATEID then takes the stateid the OPEN brought), or
    // after a while when none is.
    for (let i = 0; i < 20 && !h.ops().some((op) => op.includes("CLOSE")); i++) await drain();
    h.channel.releaseReplies("OPEN");
    await assert.rejects(h.drive(creating), refused);
    const { state } = await h.drive(opening);
    // The second open's state is the server's still: its READ goes through.
    assert.equal(state.closed, false);
    const read = await h.drive(h.read(state));
    assert.equal(read.eof, true);
    assert.deepEqual(
      h.ops().filter((op) => op.includes("READ")),
      [minor === 0 ? "PUTFH,READ" : "SEQUENCE,PUTFH,READ"],
      h.ops().join("\n"),
    );
    assert.ok(!h.ops().some((op) => op.includes("CLOSE")), h.ops().join("\n"));
    // The create's close is one user's: its write access given back.
    const opens = h.details(["open"]);
    assert.ok(
      opens.some((e) =>
        e.startsWith("OPEN_DOWNGRADE") && e.endsWith("read+write -> read users 1)")
      ),
      opens.join("\n"),
    );
    assert.deepEqual([...h.m.opens], [state]);
  });

  Deno.test(`4.${minor}: openFile(): an OPEN of the same name by the same owner asked for while a failed create's CLOSE is on its way waits for it and opens afresh`, async () => {
    await using h = await harness(minor, { openIgnoresCreateAttrs: true });
    // The failed create's CLOSE reaches the server; its answer is held.
    const { creating } = await failingCreate(h, await newFile(h), "CLOSE");
    const opening = openFile(
      h.m,
      await newFile(h, ShareAccess.OPEN4_SHARE_ACCESS_READ, { mode: "unchecked" }),
    );
    opening.catch(() => {});
    for (let i = 0; i < 20; i++) await drain();
    const opensBefore = h.ops().filter((op) => op.includes("OPEN,")).length;
    h.channel.releaseReplies("CLOSE");
    await assert.rejects(h.drive(creating), refused);
    const { state } = await h.drive(opening);
    // The OPEN went after the CLOSE: a state of its own, usable.
    const ops = h.ops();
    const close = ops.findIndex((op) => op.includes("CLOSE"));
    const last = ops.findLastIndex((op) => op.includes("OPEN,"));
    const removed = ops.findIndex((op) => op.includes("REMOVE"));
    assert.ok(close >= 0 && close < last && removed < last, ops.join("\n"));
    assert.equal(opensBefore, 1, ops.join("\n"));
    assert.equal(state.closed, false);
    assert.equal((await h.drive(h.read(state))).eof, true);
    assert.deepEqual([...h.m.opens], [state]);
    assert.ok(h.server.file("/vfs/new"), "made anew by the second OPEN");
  });

  Deno.test(`4.${minor}: openFile(): creates failing at once, each closing what it made, do not wait for each other for ever`, async () => {
    await using h = await harness(minor, { openIgnoresCreateAttrs: true });
    const base = await newFile(h);
    const names = ["a", "b", "c"];
    h.server.failNext("SETATTR", S.NFS4ERR_PERM, { times: names.length });
    const creates = names.map((name) =>
      openFile(h.m, { ...base, name, path: `/vfs/${name}` }).then(
        () => assert.fail(`${name} was made`),
        (e: unknown) => assert.ok(refused(e), String(e)),
      )
    );
    await h.drive(Promise.all(creates));
    assert.equal(h.m.opens.size, 0);
    for (const name of names) assert.equal(h.server.file(`/vfs/${name}`), undefined, name);
  });
}
