/**
 * How a create goes and what its answer is held to (lib/state/files.ts
 * openFile, exclusiveCreateHow; lib/state/small_create.ts), against the
 * scripted server:
 * - a persistent session (CREATE_SESSION4_FLAG_PERSIST, RFC 8881 §18.36)
 *   creates exclusively with GUARDED4, the only method such a server must
 *   support (RFC 8881 §18.16.3, "Required methods for exclusive create"),
 *   as the Linux client's nfs4_open_prepare chooses;
 * - EXCLUSIVE4_1 refused as a create mode (NFS4ERR_NOTSUPP, §18.16.4) falls
 *   back to GUARDED4 for the client's life, traced once;
 * - createattrs outside suppattr_exclcreat are refused NFS4ERR_INVAL
 *   (§18.16.3): EXCLUSIVE4_1 then goes without them and a SETATTR sets them;
 * - an OPEN whose attrset lacks a createattr (a server that ignored the
 *   mode) is followed by a SETATTR of it, as the kernel's
 *   nfs4_exclusive_attrset; one that does not set it either fails the open
 *   and removes the file;
 * - createattrs outside supported_attrs (an ACL-only volume without mode)
 *   are left out, not refused.
 */

import assert from "node:assert/strict";
import { Attr } from "../../lib/nfs4/attrs.ts";
import { AttributesNotSetError } from "../../lib/nfs4/attrs_set.ts";
import { CreateMode, ShareAccess } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import type { SettableAttributes } from "../../lib/nfs4/attrs.ts";
import type { OpenArgs } from "../../lib/nfs4/ops/open.ts";
import type { SetattrArgs } from "../../lib/nfs4/ops/setattr.ts";
import { noteCreateSupport, openFile } from "../../lib/state/files.ts";
import { createWriteSetattrClose } from "../../lib/state/small_create.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { drain, type Harness, harness } from "./_harness.ts";

const MODE_NAMES: Record<number, string> = {
  [CreateMode.UNCHECKED4]: "UNCHECKED4",
  [CreateMode.GUARDED4]: "GUARDED4",
  [CreateMode.EXCLUSIVE4]: "EXCLUSIVE4",
  [CreateMode.EXCLUSIVE4_1]: "EXCLUSIVE4_1",
};

/** Each create OPEN the server ran since the mark: `EXCLUSIVE4_1 {mode} STATUS`. */
function creates(h: Harness): string[] {
  const out: string[] = [];
  for (const e of h.entries()) {
    const at = e.ops.indexOf("OPEN");
    const how = (e.args[at] as OpenArgs | undefined)?.create;
    // Sent and not run (a SEQUENCE refused first): not a create.
    if (at < 0 || !how || at >= e.statuses.length) continue;
    const attrs = "attrs" in how ? Object.keys(how.attrs).join(",") : "-";
    const status = e.statuses[at] === 0 ? "OK" : `${e.statuses[at]}`;
    out.push(`${MODE_NAMES[how.mode]} {${attrs}} ${status}`);
  }
  return out;
}

/** The SETATTRs the server ran (or refused) since the mark, as their attributes' names. */
function setattrs(h: Harness): string[] {
  const out: string[] = [];
  for (const e of h.entries()) {
    e.ops.forEach((name, at) => {
      if (name === "SETATTR" && at < e.statuses.length) {
        out.push(Object.keys((e.args[at] as SetattrArgs).attrs).join(","));
      }
    });
  }
  return out;
}

/** An exclusive create of /vfs/`name` with mode 0600, as cp's temporary and info's write probe. */
async function createExclusive(h: Harness, name: string) {
  const dirFh = await h.vfs();
  return await h.drive(openFile(h.m, {
    dirFh,
    name,
    path: `/vfs/${name}`,
    access: ShareAccess.OPEN4_SHARE_ACCESS_WRITE,
    create: {
      mode: "exclusive",
      attrs: { mode: 0o600 },
      verifier: crypto.getRandomValues(new Uint8Array(8)),
    },
  }));
}

/** The one-COMPOUND small file of a copy (EXCLUSIVE4_1 unless said otherwise). */
async function createInOne(
  h: Harness,
  name: string,
  settable: SettableAttributes = {
    size: 5n,
    mode: 0o644,
    timeModifySet: "server",
    timeAccessSet: "server",
  },
) {
  const dirFh = await h.vfs();
  return await h.drive(createWriteSetattrClose(h.m, {
    dirFh,
    name,
    path: `/vfs/${name}`,
    mode: 0o600,
    attrs: [Attr.TYPE, Attr.SIZE, Attr.CHANGE],
    data: new TextEncoder().encode("ours\n"),
    settable,
  }));
}

Deno.test("openFile() exclusive on a persistent session (CREATE_SESSION4_FLAG_PERSIST) sends GUARDED4 with the createattrs, not EXCLUSIVE4_1 (RFC 8881 §18.16.3 Table 10)", async () => {
  await using h = await harness(1, { persistentSession: true });
  await createExclusive(h, ".t1");
  assert.deepEqual(creates(h), ["GUARDED4 {mode} OK"]);
  assert.equal(h.server.file("/vfs/.t1")?.modeSet, 0o600);
  // The small file's one COMPOUND too.
  h.mark();
  const end = await createInOne(h, ".t2");
  assert.ok(end.done);
  assert.deepEqual(creates(h), ["GUARDED4 {mode} OK"]);
});

Deno.test("a persistent session's GUARDED4 whose reply was lost is answered from the reply cache: one file, no NFS4ERR_EXIST from its own first run (RFC 8881 §2.10.6.1.3)", async () => {
  await using h = await harness(1, { persistentSession: true });
  h.channel.dropReplies("OPEN");
  const opened = await createExclusive(h, ".t1");
  assert.ok(opened.state.stateid);
  assert.deepEqual(creates(h), ["GUARDED4 {mode} OK", "GUARDED4 {mode} OK"]);
  const sent = h.entries().filter((e) => e.ops.includes("OPEN"));
  assert.equal(sent[1]!.replay, true, "the resend was answered from the reply cache");
  assert.deepEqual(h.server.opensOf("/vfs/.t1").length, 1);
});

Deno.test("a persistent session's GUARDED4 whose reply was lost and whose session was lost too: sent again on the new session, its NFS4ERR_EXIST is marked as answering a resend (its first run may have made the file), not taken as another's, not sent a third time", async () => {
  await using h = await harness(1, { persistentSession: true });
  const dirFh = await h.vfs();
  h.mark();
  h.channel.dropReplies("OPEN");
  const opening = openFile(h.m, {
    dirFh,
    name: ".t1",
    path: "/vfs/.t1",
    access: ShareAccess.OPEN4_SHARE_ACCESS_WRITE,
    create: {
      mode: "exclusive",
      attrs: { mode: 0o600 },
      verifier: crypto.getRandomValues(new Uint8Array(8)),
    },
  });
  opening.catch(() => undefined);
  await drain();
  assert.ok(h.server.file("/vfs/.t1"), "the first transmission made the file");
  h.server.reboot({ grace: false });
  await assert.rejects(
    h.drive(opening),
    (e) =>
      e instanceof NfsError && e.op === "OPEN" && e.status === S.NFS4ERR_EXIST &&
      e.answeredResend,
  );
  assert.deepEqual(creates(h), [
    "GUARDED4 {mode} OK",
    `GUARDED4 {mode} ${S.NFS4ERR_EXIST}`,
  ]);
});

Deno.test("EXCLUSIVE4_1 answered NFS4ERR_NOTSUPP (RFC 8881 §18.16.4): sent again GUARDED4 at once, and GUARDED4 from then on, traced once", async () => {
  await using h = await harness(1, { exclusive41Unsupported: true });
  await createExclusive(h, ".t1");
  assert.deepEqual(creates(h), [
    `EXCLUSIVE4_1 {mode} ${S.NFS4ERR_NOTSUPP}`, // NFS4ERR_NOTSUPP
    "GUARDED4 {mode} OK",
  ]);
  await createExclusive(h, ".t2");
  const end = await createInOne(h, ".t3");
  assert.ok(end.done);
  assert.deepEqual(creates(h).slice(2), ["GUARDED4 {mode} OK", "GUARDED4 {mode} OK"]);
  assert.equal(h.events(["open"]).filter((e) => e === "EXCLUSIVE4_1 refused").length, 1);
});

Deno.test("the small file's one COMPOUND refused NFS4ERR_NOTSUPP at its EXCLUSIVE4_1 OPEN is sent again GUARDED4 (nothing after the OPEN ran)", async () => {
  await using h = await harness(1, { exclusive41Unsupported: true });
  const end = await createInOne(h, ".t1");
  assert.ok(end.done);
  assert.deepEqual(creates(h), [`EXCLUSIVE4_1 {mode} ${S.NFS4ERR_NOTSUPP}`, "GUARDED4 {mode} OK"]);
  assert.equal(new TextDecoder().decode(h.server.file("/vfs/.t1")!.data), "ours\n");
});

Deno.test("EXCLUSIVE4_1 with a mode outside suppattr_exclcreat (NFS4ERR_INVAL, RFC 8881 §18.16.3): learned, sent again without it, the mode set by SETATTR after the OPEN", async () => {
  await using h = await harness(1, { exclusiveCreateAttrs: [Attr.SIZE] });
  const opened = await createExclusive(h, ".t1");
  assert.deepEqual(creates(h), [`EXCLUSIVE4_1 {mode} ${S.NFS4ERR_INVAL}`, "EXCLUSIVE4_1 {} OK"]);
  assert.deepEqual(setattrs(h), ["mode"]);
  assert.equal(h.server.file("/vfs/.t1")?.modeSet, 0o600);
  assert.ok(!opened.state.closed);
  // Known from then on: no refusal, the mode after the OPEN.
  h.mark();
  await createExclusive(h, ".t2");
  assert.deepEqual(creates(h), ["EXCLUSIVE4_1 {} OK"]);
  assert.deepEqual(setattrs(h), ["mode"]);
});

Deno.test("suppattr_exclcreat noted beforehand (the copy asks it): EXCLUSIVE4_1 carries only what it allows, no refusal", async () => {
  await using h = await harness(1, { exclusiveCreateAttrs: [Attr.SIZE] });
  noteCreateSupport(h.m, { exclusive: new Set([Attr.SIZE]) });
  await createExclusive(h, ".t1");
  assert.deepEqual(creates(h), ["EXCLUSIVE4_1 {} OK"]);
  assert.deepEqual(setattrs(h), ["mode"]);
  assert.equal(h.server.file("/vfs/.t1")?.modeSet, 0o600);
});

for (const minor of [0, 1] as const) {
  Deno.test(`4.${minor}: an OPEN GUARDED4 whose attrset lacks the mode it was given (a server that ignored it) is followed by a SETATTR of the mode (RFC 7530 §16.16.5, RFC 8881 §18.16.3)`, async () => {
    await using h = await harness(minor, { openIgnoresCreateAttrs: true });
    const dirFh = await h.vfs();
    await h.drive(openFile(h.m, {
      dirFh,
      name: "g",
      path: "/vfs/g",
      access: ShareAccess.OPEN4_SHARE_ACCESS_WRITE,
      create: { mode: "guarded", attrs: { mode: 0o640 } },
    }));
    assert.deepEqual(creates(h), ["GUARDED4 {mode} OK"]);
    assert.deepEqual(setattrs(h), ["mode"]);
    assert.equal(h.server.file("/vfs/g")?.modeSet, 0o640);
    assert.ok(h.events(["open"]).includes("create attributes not set"));
  });
}

Deno.test("4.1: an exclusive create whose attrset lacks the mode gets a SETATTR of it before the open is handed over", async () => {
  await using h = await harness(1, { openIgnoresCreateAttrs: true });
  await createExclusive(h, ".t1");
  assert.deepEqual(creates(h), ["EXCLUSIVE4_1 {mode} OK"]);
  assert.deepEqual(setattrs(h), ["mode"]);
  assert.equal(h.server.file("/vfs/.t1")?.modeSet, 0o600);
});

Deno.test("a mode the OPEN ignored and the SETATTR after it did not set either (attrsset) fails the open: the file is closed and removed, nothing passes as set", async () => {
  await using h = await harness(1, { openIgnoresCreateAttrs: true, setattrIgnores: [Attr.MODE] });
  await assert.rejects(
    createExclusive(h, ".t1"),
    (e: Error) =>
      e instanceof AttributesNotSetError &&
      e.message === "/vfs/.t1: the server did not set mode (SETATTR attrsset)",
  );
  assert.equal(h.server.file("/vfs/.t1"), undefined, "the file made is removed");
  assert.equal(h.m.opens.size, 0);
});

Deno.test("an UNCHECKED4 create of a file that existed (its attrset empty, as RFC 8881 §18.16.3 has it) gets no SETATTR: an existing file's mode is not a create's", async () => {
  await using h = await harness(1, { openIgnoresCreateAttrs: true });
  const dirFh = await h.vfs();
  await h.drive(openFile(h.m, {
    dirFh,
    name: "file",
    path: "/vfs/file",
    access: ShareAccess.OPEN4_SHARE_ACCESS_WRITE,
    create: { mode: "unchecked", attrs: { mode: 0o600 } },
  }));
  assert.deepEqual(setattrs(h), []);
});

Deno.test("the small file's one COMPOUND stopped after its OPEN (an owner refused) on a server that ignored the mode: the mode is set before the open is handed back", async () => {
  await using h = await harness(1, {
    openIgnoresCreateAttrs: true,
    owners: { domain: "example.com", names: ["alice"] },
  });
  const dirFh = await h.vfs();
  const end = await h.drive(createWriteSetattrClose(h.m, {
    dirFh,
    name: ".t1",
    path: "/vfs/.t1",
    mode: 0o600,
    attrs: [Attr.TYPE, Attr.SIZE, Attr.CHANGE],
    data: new TextEncoder().encode("ours\n"),
    settable: { size: 5n, mode: 0o644 },
    owner: { owner: "4242", ownerGroup: "4242" },
  }));
  assert.equal(end.done, false);
  assert.ok(!end.done && end.ownerError !== undefined);
  assert.deepEqual(setattrs(h), ["owner,ownerGroup", "mode"]);
  assert.equal(h.server.file("/vfs/.t1")?.modeSet, 0o600);
});

Deno.test("a server without mode in its supported_attrs (an ACL-only volume): a create with a mode, refused NFS4ERR_ATTRNOTSUPP, is sent again without it, and creates leave it out from then on", async () => {
  const supportedAttrs = [
    Attr.SUPPORTED_ATTRS,
    Attr.TYPE,
    Attr.CHANGE,
    Attr.SIZE,
    Attr.FILEID,
    Attr.LEASE_TIME,
    Attr.TIME_ACCESS_SET,
    Attr.TIME_MODIFY_SET,
  ];
  await using h = await harness(1, { supportedAttrs });
  await createExclusive(h, ".t1");
  assert.deepEqual(creates(h), [
    `EXCLUSIVE4_1 {mode} ${S.NFS4ERR_ATTRNOTSUPP}`,
    "EXCLUSIVE4_1 {} OK",
  ]);
  assert.deepEqual(setattrs(h), []);
  h.mark();
  // The small file's one COMPOUND (its settable without a mode, as the copy
  // leaves it on such a server): no mode in its createattrs either.
  const end = await createInOne(h, ".t2", { size: 5n, timeModifySet: "server" });
  assert.ok(end.done);
  assert.deepEqual(creates(h), ["EXCLUSIVE4_1 {} OK"]);
  assert.deepEqual(setattrs(h), ["size,timeModifySet"]);
});

Deno.test("the small file's one COMPOUND as the first create on a server without mode in its supported_attrs: refused NFS4ERR_ATTRNOTSUPP at its OPEN, learned, sent again without the mode", async () => {
  const supportedAttrs = [
    Attr.SUPPORTED_ATTRS,
    Attr.TYPE,
    Attr.CHANGE,
    Attr.SIZE,
    Attr.FILEID,
    Attr.LEASE_TIME,
    Attr.TIME_ACCESS_SET,
    Attr.TIME_MODIFY_SET,
  ];
  await using h = await harness(1, { supportedAttrs });
  const end = await createInOne(h, ".t1", { size: 5n, timeModifySet: "server" });
  assert.ok(end.done);
  assert.deepEqual(creates(h), [
    `EXCLUSIVE4_1 {mode} ${S.NFS4ERR_ATTRNOTSUPP}`,
    "EXCLUSIVE4_1 {} OK",
  ]);
  assert.deepEqual(setattrs(h), ["size,timeModifySet"]);
  assert.equal(new TextDecoder().decode(h.server.file("/vfs/.t1")!.data), "ours\n");
});
