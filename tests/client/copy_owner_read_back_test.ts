/**
 * The owner and group a copy gives a file (`cp -p`, `-a`) read back in a
 * COMPOUND the file sends anyway, never in one of its own: after the
 * owner's SETATTR in a small file's one COMPOUND (lib/state/small_create.ts,
 * NFSv4.1), after the ordinary writer's SETATTR of them (NfsWriter.chown,
 * Nfs4Client.setattrState), after a SETATTR by path (Nfs4Client
 * .setattrPath with `readOwnership`). A server may answer such a SETATTR
 * NFS4_OK and keep others (a squashing export, RFC 7530 §16.32.4), which is
 * why they are read back at all. A GETATTR that fails there does not fail
 * what the SETATTR did (a COMPOUND stops at its first failure, RFC 7530
 * §15.2): the file is made whole all the same, its owner only not read
 * back. Against the scripted server in "name@domain" mode, over TCP.
 */

import assert from "node:assert/strict";
import { type Nfs4Client, SMALL_CREATE_BYTES } from "../../lib/client/client.ts";
import { NfsSide } from "../../lib/client/copy/nfs_side.ts";
import { DeferredCreateWriter } from "../../lib/client/copy/nfs_create.ts";
import { NfsWriter } from "../../lib/client/copy/nfs_writer.ts";
import { DEFAULT_TUNING } from "../../lib/client/copy/options.ts";
import { parseNfsUrl } from "../../lib/client/url.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { CopyRun } from "../../lib/client/copy/run.ts";
import { ownershipKept } from "../../lib/client/copy/preserve.ts";
import type { ScriptedServer } from "../state/_scripted.ts";
import { withScriptedClient } from "./_scripted_client.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (server: ScriptedServer, path: string) =>
  new TextDecoder().decode(server.file(path)?.data);

const DOMAIN = "example.com";
const ALICE = `alice@${DOMAIN}`;
const STAFF = `staff@${DOMAIN}`;

/** A scripted server that keeps owners as `name@example.com`, /vfs/d in it, and an NfsSide of /vfs/d. */
function withSide(
  version: "4.0" | "4.1",
  fn: (
    side: NfsSide,
    server: ScriptedServer,
    client: Nfs4Client,
    events: string[],
  ) => Promise<void>,
): Promise<void> {
  return withScriptedClient(
    { files: { "/vfs/d/x": "x" }, owners: { domain: DOMAIN, names: ["alice", "staff"] } },
    version,
    "owner-read-back",
    async (client, server, events) => {
      const side = new NfsSide(
        client,
        parseNfsUrl("nfs://127.0.0.1/vfs/d"),
        DEFAULT_TUNING,
        () => {},
      );
      await fn(side, server, client, events);
    },
  );
}

/** A new file /vfs/d/`name` written through `side`, given alice and staff first (cp -p). */
async function owned(side: NfsSide, server: ScriptedServer, name: string, data: Uint8Array) {
  const refusals: unknown[] = [];
  const before = server.log.length;
  const writer = await side.create(`/vfs/d/${name}`);
  await writer.chown(ALICE, STAFF, (error, attrs) => {
    refusals.push(error);
    return Promise.resolve(attrs);
  });
  await writer.write(data);
  await writer.finish({ mode: 0o640 }, BigInt(data.length));
  const shapes = server.log.slice(before).map((e) =>
    e.ops.filter((op) => op !== "SEQUENCE").join(" ")
  );
  return { writer, refusals, shapes };
}

/** The next GETATTR after the next SETATTR fails with `status` (the one in the SETATTR's COMPOUND). */
function failGetattrAfterSetattr(server: ScriptedServer, status: number): void {
  server.intercept("SETATTR", (_args, s) => void s.failNext("GETATTR", status));
}

/** The COMPOUNDs `fn` sends, as their op lists (SEQUENCE left out). */
async function sentBy(server: ScriptedServer, fn: () => Promise<unknown>): Promise<string[]> {
  const before = server.log.length;
  await fn();
  return server.log.slice(before).map((e) => e.ops.filter((op) => op !== "SEQUENCE").join(" "));
}

Deno.test("a small file's one COMPOUND on 4.1 reads back the owner it gives (GETATTR right after its SETATTR): heldOwnership() says what the server holds, and neither the LINK that places it nor NfsSide.ownership() asks again", async () => {
  await withSide("4.1", async (side, server) => {
    await owned(side, server, "first", bytes("learn\n"));
    const { writer, refusals, shapes } = await owned(side, server, ".a.tmp", bytes("a\n"));
    assert.ok(writer instanceof DeferredCreateWriter);
    assert.deepEqual(shapes, ["PUTFH OPEN GETFH GETATTR SETATTR GETATTR WRITE SETATTR CLOSE"]);
    assert.deepEqual(refusals, []);
    assert.deepEqual(writer.heldOwnership(), { owner: ALICE, group: STAFF });
    assert.deepEqual(server.ownerStringsOf("/vfs/d/.a.tmp"), [ALICE, STAFF]);
    // Placed by its own LINK (asked to read the owner back): no GETATTR in it.
    const linked = await sentBy(server, async () => {
      assert.equal(await side.renameNoReplace("/vfs/d/.a.tmp", "/vfs/d/a", writer, true), true);
    });
    assert.deepEqual(linked, ["PUTFH SAVEFH PUTFH LINK REMOVE"]);
    // What the copy compares: from the writer, nothing sent.
    let held: unknown;
    assert.deepEqual(
      await sentBy(server, async () => held = await side.ownership("/vfs/d/a", false, writer)),
      [],
    );
    assert.deepEqual(held, { owner: ALICE, group: STAFF });
    assert.equal(text(server, "/vfs/d/a"), "a\n");
  });
});

Deno.test("a small file's one COMPOUND on 4.1 with a group alone to give reads back the group alone", async () => {
  await withSide("4.1", async (side, server) => {
    await owned(side, server, "first", bytes("learn\n"));
    const before = server.log.length;
    const writer = await side.create("/vfs/d/g");
    await writer.chown(undefined, STAFF, () => Promise.reject(new Error("no refusal expected")));
    await writer.write(bytes("g\n"));
    await writer.finish({ mode: 0o640 }, 2n);
    const entry = server.log.slice(before).find((e) => e.ops.includes("OPEN"))!;
    const reads = entry.ops.flatMap((op, i) => op === "GETATTR" ? [entry.args[i]] : []);
    // The OPEN's GETATTR, then the read-back of owner_group (37) alone.
    assert.equal(reads.length, 2);
    assert.deepEqual([...reads[1] as Set<number>], [37]);
    assert.deepEqual(writer.heldOwnership!(), { group: STAFF });
  });
});

Deno.test("a small file's one COMPOUND on 4.1 whose GETATTR after the owner's SETATTR fails (NFS4ERR_NOTSUPP) is no failure: the owner stands, no refusal, the data go on the open; not read back (NfsSide.ownership asks by handle); the next file's COMPOUND asks no GETATTR there, and the trace says so once", async () => {
  await withSide("4.1", async (side, server, _client, events) => {
    await owned(side, server, "first", bytes("learn\n"));
    // The OPEN's GETATTR passes; the one after the owner's SETATTR fails.
    server.failNext("GETATTR", S.NFS4ERR_NOTSUPP, { after: 1 });
    const { writer, refusals, shapes } = await owned(side, server, "n", bytes("n\n"));
    assert.deepEqual(refusals, []);
    assert.deepEqual(shapes, [
      "PUTFH OPEN GETFH GETATTR SETATTR GETATTR WRITE SETATTR CLOSE",
      "PUTFH WRITE SETATTR CLOSE",
    ]);
    assert.equal(text(server, "/vfs/d/n"), "n\n");
    assert.deepEqual(server.ownerStringsOf("/vfs/d/n"), [ALICE, STAFF]);
    assert.deepEqual(server.opensOf("/vfs/d/n"), []);
    assert.equal(writer.heldOwnership!(), undefined);
    let held: unknown;
    assert.deepEqual(
      await sentBy(server, async () => held = await side.ownership("/vfs/d/n", false, writer)),
      ["PUTFH GETATTR"],
    );
    assert.deepEqual(held, { owner: ALICE, group: STAFF });
    assert.equal(events.filter((e) => e.startsWith("owner read-back refused")).length, 1);
    // Given up for this client: the owner's SETATTR without its GETATTR.
    const next = await owned(side, server, "m", bytes("m\n"));
    assert.deepEqual(next.shapes, ["PUTFH OPEN GETFH GETATTR SETATTR WRITE SETATTR CLOSE"]);
    assert.equal(next.writer.heldOwnership!(), undefined);
    assert.equal(text(server, "/vfs/d/m"), "m\n");
  });
});

Deno.test("a small file's one COMPOUND on 4.1 whose GETATTR after the owner's SETATTR meets NFS4ERR_DELAY goes on on the open, and the next file's COMPOUND asks it again", async () => {
  await withSide("4.1", async (side, server, _client, events) => {
    await owned(side, server, "first", bytes("learn\n"));
    server.failNext("GETATTR", S.NFS4ERR_DELAY, { after: 1 });
    const { refusals, shapes } = await owned(side, server, "d", bytes("d\n"));
    assert.deepEqual(refusals, []);
    assert.deepEqual(shapes, [
      "PUTFH OPEN GETFH GETATTR SETATTR GETATTR WRITE SETATTR CLOSE",
      "PUTFH WRITE SETATTR CLOSE",
    ]);
    assert.equal(text(server, "/vfs/d/d"), "d\n");
    assert.ok(!events.some((e) => e.startsWith("owner read-back refused")), events.join("\n"));
    const next = await owned(side, server, "e", bytes("e\n"));
    assert.deepEqual(next.shapes, ["PUTFH OPEN GETFH GETATTR SETATTR GETATTR WRITE SETATTR CLOSE"]);
    assert.deepEqual(next.writer.heldOwnership!(), { owner: ALICE, group: STAFF });
  });
});

Deno.test("an empty small file on 4.1 whose GETATTR after the owner's SETATTR fails is made and closed all the same, its owner given", async () => {
  await withSide("4.1", async (side, server) => {
    await owned(side, server, "first", bytes("learn\n"));
    server.failNext("GETATTR", S.NFS4ERR_SERVERFAULT, { after: 1 });
    const { refusals, shapes } = await owned(side, server, "empty", new Uint8Array(0));
    assert.deepEqual(refusals, []);
    assert.equal(shapes[0], "PUTFH OPEN GETFH GETATTR SETATTR GETATTR SETATTR CLOSE");
    assert.ok(shapes.length === 2 && /SETATTR CLOSE$/.test(shapes[1]!), shapes.join(" | "));
    assert.equal(server.file("/vfs/d/empty")!.data.length, 0);
    assert.deepEqual(server.ownerStringsOf("/vfs/d/empty"), [ALICE, STAFF]);
    assert.deepEqual(server.opensOf("/vfs/d/empty"), []);
  });
});

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`the ordinary writer on ${version} (a large file) gives the owner with PUTFH SETATTR GETATTR and keeps what the server answered (heldOwnership); a GETATTR that fails there leaves the owner given, the copy going on`, async () => {
    await withSide(version, async (side, server) => {
      const large = new Uint8Array(SMALL_CREATE_BYTES + 10).fill(7);
      const { writer, refusals, shapes } = await owned(side, server, "big", large);
      assert.deepEqual(refusals, []);
      const owner = shapes.filter((s) => s.includes("SETATTR") && s.includes("GETATTR"));
      assert.deepEqual(owner, ["PUTFH SETATTR GETATTR"], shapes.join(" | "));
      assert.deepEqual(writer.heldOwnership!(), { owner: ALICE, group: STAFF });
      assert.deepEqual([...server.file("/vfs/d/big")!.data], [...large]);
      // The ordinary writer itself: a GETATTR failed after its SETATTR.
      const file = await side.create("/vfs/d/big2", { atOnce: true });
      assert.ok(file instanceof NfsWriter);
      failGetattrAfterSetattr(server, S.NFS4ERR_NOTSUPP);
      const sent = await sentBy(server, () => file.chown(ALICE, STAFF));
      assert.deepEqual(sent, ["PUTFH SETATTR GETATTR"]);
      assert.equal(file.heldOwnership(), undefined);
      assert.deepEqual(server.ownerStringsOf("/vfs/d/big2"), [ALICE, STAFF]);
      await file.write(bytes("more\n"));
      await file.finish({ mode: 0o600 }, 5n);
      assert.equal(text(server, "/vfs/d/big2"), "more\n");
    });
  });
}

Deno.test("Nfs4Client.setattrPath with readOwnership: PUTFH SETATTR GETATTR, the owner and group the server holds returned; a GETATTR that fails after the SETATTR returns nothing and fails nothing; without it, the SETATTR alone", async () => {
  await withSide("4.1", async (_side, server, client) => {
    let held: unknown;
    const given = await sentBy(server, async () => {
      held = await client.setattrPath("/vfs/d/x", { owner: ALICE, ownerGroup: STAFF }, {
        readOwnership: true,
      });
    });
    // (After the walk of the path.)
    assert.equal(given.at(-1), "PUTFH SETATTR GETATTR");
    assert.deepEqual(held, { owner: ALICE, group: STAFF });
    assert.deepEqual(server.ownerStringsOf("/vfs/d/x"), [ALICE, STAFF]);
    failGetattrAfterSetattr(server, S.NFS4ERR_NOTSUPP);
    held = "unset";
    const sent = await sentBy(server, async () => {
      held = await client.setattrPath("/vfs/d/x", { ownerGroup: STAFF }, { readOwnership: true });
    });
    assert.equal(sent.at(-1), "PUTFH SETATTR GETATTR");
    assert.equal(held, undefined);
    // Without readOwnership (mode, times; or an owner not to be read back).
    const plain = await sentBy(server, () => client.setattrPath("/vfs/d/x", { mode: 0o600 }));
    assert.equal(plain.at(-1), "PUTFH SETATTR");
  });
});

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`NfsSide.renameNoReplace() ${version}: the owner's GETATTR before the LINK refused (NFS4ERR_SERVERFAULT) sends the COMPOUND again without it, and the file is placed (RFC 7530 §15.2: nothing after the failed op ran)`, async () => {
    await withSide(version, async (side, server) => {
      const large = new Uint8Array(SMALL_CREATE_BYTES + 10).fill(7);
      const writer = await side.create("/vfs/d/.t.nfs4-abc");
      // The writer's own read-back refused too: the placing's COMPOUND asks.
      server.intercept("SETATTR", (_a, s) => void s.failNext("GETATTR", S.NFS4ERR_SERVERFAULT));
      await writer.chown(ALICE, STAFF, (_e, a) => Promise.resolve(a));
      await writer.write(large);
      await writer.finish({ mode: 0o640 }, BigInt(large.length));
      assert.equal(writer.heldOwnership?.(), undefined);
      server.failNext("GETATTR", S.NFS4ERR_SERVERFAULT);
      const before = server.log.length;
      assert.equal(
        await side.renameNoReplace("/vfs/d/.t.nfs4-abc", "/vfs/d/final", writer, true),
        true,
      );
      const sent = server.log.slice(before).map((e) =>
        e.ops.filter((op) => op !== "SEQUENCE").join(" ")
      );
      assert.deepEqual(sent, [
        "PUTFH GETATTR SAVEFH PUTFH LINK REMOVE",
        "PUTFH SAVEFH PUTFH LINK REMOVE",
      ]);
      assert.ok(server.file("/vfs/d/final"));
      assert.equal(server.file("/vfs/d/.t.nfs4-abc"), undefined);
    });
  });
}

Deno.test("ownershipKept(): a read-back that fails is one warning ('ownership not verified'), not a failure of the file, and the copy gets no set-id bits (false)", async () => {
  const warnings: string[] = [];
  const run = new CopyRun({
    connect: () => Promise.reject(new Error("not used")),
    onError: () => {},
    onWarning: (message) => warnings.push(message),
  });
  const side = {
    url: undefined,
    ownership: () =>
      Promise.reject(
        new NfsError(S.NFS4ERR_SERVERFAULT, "GETATTR", { path: "nfs://srv/vfs/d/f" }),
      ),
  } as unknown as Parameters<typeof ownershipKept>[1];
  const kept = await ownershipKept(run, side, "/vfs/d/f", { owner: ALICE, group: STAFF }, {
    shownAs: "nfs://srv/vfs/d/f",
    follow: false,
  });
  assert.equal(kept, false);
  assert.equal(warnings.length, 1);
  assert.match(
    warnings[0]!,
    /^nfs:\/\/srv\/vfs\/d\/f: ownership not verified: .*NFS4ERR_SERVERFAULT/,
  );
  assert.equal(run.summary.warnings, 1);
});
